"""The IOS-style command engine and the command sets of director and switch."""
