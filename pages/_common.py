"""What several pages show the same way: the tagline and the audio formats of the uploaders."""

from __future__ import annotations

from recommender.formats import AUDIO_SUFFIXES

TAGLINE = "A music recommender that listens: it hears songs, not their tags."
AUDIO_TYPES = tuple(s.lstrip(".") for s in AUDIO_SUFFIXES)  # as st.file_uploader takes them
