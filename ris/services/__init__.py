"""Every state change of the domain. Doors call these; nothing else writes models."""
