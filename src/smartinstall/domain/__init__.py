"""Pure rules of the Smart Install guide: no I/O, no asyncio."""
