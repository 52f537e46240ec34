"""Pure codecs: bytes to dataclasses and back, strict bounds, no sockets."""
