"""Timbres: context presets, the GM bank that maps programs to them, and preset extraction from recordings."""
