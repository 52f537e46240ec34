"""smartinstall: an open-source implementation of Cisco Smart Install."""

__version__ = "0.1.0"
