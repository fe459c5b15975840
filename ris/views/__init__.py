"""The web door: each view decodes the request, calls one service or selector, renders."""
