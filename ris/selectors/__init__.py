"""Reads: plain rows for the doors, each one query."""
