"""Plumbing the listeners share, with no domain in it: TLS server contexts,
the database connection of a listener thread, the metrics endpoint."""
