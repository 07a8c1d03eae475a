"""Animesion Desktop: index, recognize, tag and curate a local anime art collection."""
