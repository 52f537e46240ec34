"""The emulated Smart Install client switch."""
