"""Reads the pages and APIs need; state changes live in ris/services/."""
