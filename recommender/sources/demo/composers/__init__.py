"""Composers: one per sub-style; it sets the harmony and returns the song's parts."""
