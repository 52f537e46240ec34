"""Persistence: the director database and the file repository ("flash:")."""
