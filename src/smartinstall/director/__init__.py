"""The application core of the director."""
