"""The pages, one module per workplace; each view decodes, calls one service, renders."""
