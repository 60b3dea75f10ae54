"""The audio formats musicrec reads: one list for the whole project (builds, uploads, the app).

``audio.decode`` reads a file with libsndfile first and falls back on audioread, which
hands what libsndfile does not know to ffmpeg. So the formats are libsndfile's own
(``SNDFILE_SUFFIXES``) plus those only ffmpeg decodes (``NEEDS_FFMPEG``: compressed
formats in MP4/ASF/Matroska containers, and tracker modules). A file with any other
suffix is skipped by a folder build, and listed with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

from recommender.errors import AudioError

SNDFILE_SUFFIXES = (
    ".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".aiff", ".aif", ".aifc", ".caf", ".au", ".snd",
    ".w64", ".rf64",
)  # fmt: skip
"""Formats libsndfile reads (ffmpeg not needed)."""

NEEDS_FFMPEG = (".m4a", ".aac", ".mp4", ".wma", ".webm", ".mka", ".wv", ".ape", ".xm", ".mod", ".it", ".s3m")
"""Formats libsndfile does not read: decoded through audioread, which needs ffmpeg for them."""

AUDIO_SUFFIXES = SNDFILE_SUFFIXES + NEEDS_FFMPEG
"""Every suffix (lower case, with the dot) of a file musicrec decodes."""

MIME = {
    ".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".oga": "audio/ogg",
    ".opus": "audio/ogg", ".aiff": "audio/aiff", ".aif": "audio/aiff", ".aifc": "audio/aiff", ".m4a": "audio/mp4",
    ".mp4": "audio/mp4", ".aac": "audio/aac", ".webm": "audio/webm", ".caf": "audio/x-caf", ".au": "audio/basic",
    ".snd": "audio/basic",
}  # fmt: skip
"""What a browser is told a file is, for the formats browsers can play."""


def is_audio(name: str) -> bool:
    """Whether a file name has a suffix musicrec decodes (case does not matter)."""
    dot = str(name).rfind(".")
    return dot >= 0 and str(name)[dot:].lower() in AUDIO_SUFFIXES


def safe_filename(filename: str) -> str:
    """A plain file name for an uploaded file: no folders, only letters, digits, ``._-``; audio suffix kept.

    Raises ``AudioError`` when the suffix is not an audio format the catalog reads.
    """
    name = Path(str(filename).replace("\\", "/")).name
    stem, suffix = Path(name).stem, Path(name).suffix.lower()
    allowed = AUDIO_SUFFIXES + (".keras", ".json")
    if suffix not in allowed:
        formats = ", ".join(s.lstrip(".") for s in AUDIO_SUFFIXES)
        raise AudioError(f"{name or 'the file'}: not a supported audio file; use one of {formats}")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:60] or "clip"
    return stem + suffix
