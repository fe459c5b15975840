"""The radiologists' reporting pages (web door): /reporting/."""
