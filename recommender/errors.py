"""Errors a user can cause. Each carries a message the user can act on.

The CLI prints ``str(error)`` on one line and exits non-zero; the app shows it in
the page. Anything that is not a ``RecommenderError`` is a bug.
"""


class RecommenderError(Exception):
    """Base class of every error a user can cause."""


class AudioError(RecommenderError):
    """An audio file cannot be used: unreadable, not audio, too short or silent."""


class SourceError(RecommenderError):
    """A catalog source is misconfigured: missing folder, broken metadata CSV."""


class NoUsableAudioError(SourceError):
    """Every track of a source was skipped; ``skipped`` maps each file (or id) to the reason."""

    def __init__(self, message: str, skipped: dict[str, str]):
        super().__init__(message)
        self.skipped = dict(skipped)

    def __reduce__(self):  # picklable with both arguments
        return type(self), (str(self), self.skipped)


class ModelError(RecommenderError):
    """A model cannot be used: missing, or built for another config or genre list."""


class NotBuiltError(RecommenderError):
    """The catalog (or one of its artifacts) has not been built yet."""


class UserInputError(RecommenderError):
    """A bad name, id or option given by the user."""


class WriteError(RecommenderError):
    """A file of the home cannot be written: a folder not writable, a read-only disk, a full disk."""


class AccessError(RecommenderError):
    """What was asked needs the owner, or the profile's PIN, and this visitor has neither."""
