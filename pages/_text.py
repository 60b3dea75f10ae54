"""Text in the app: user text escaped for Markdown, errors a user can cause as messages, one-time notes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st

from recommender.errors import RecommenderError

T = TypeVar("T")


# ---- user text -------------------------------------------------------------------------------------
_MARKDOWN_SPECIAL = re.compile(r"""([!-/:-@\[-`{-~])""")  # every ASCII punctuation character


def md(text: object) -> str:
    """User text (a title, an artist, a genre, a profile or file name) made inert for Markdown.

    Streamlit renders Markdown in titles, captions, messages and widget labels: links,
    images, emphasis, LaTeX and colour directives. Every ASCII punctuation character is
    backslash-escaped, which CommonMark shows as the character itself, so user text is
    always shown exactly as typed (whitespace runs folded) and never becomes markup. No
    page passes user text with ``unsafe_allow_html``.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


# ---- errors and messages ------------------------------------------------------------------------
@contextmanager
def user_errors() -> Iterator[None]:
    """Show any error a user can cause as a message in the page, never as a traceback."""
    try:
        yield
    except RecommenderError as error:
        st.error(md(error), icon=":material/error:")


def read_or_stop(read: Callable[[], T]) -> T:
    """``read()`` (a store read the rest of the page needs); if it fails, e.g. while another program
    holds the database, show why and stop the page there."""
    try:
        return read()
    except RecommenderError as error:
        st.error(md(error), icon=":material/error:")
        st.stop()


def flash(message: str) -> None:
    """Show ``message`` (Markdown: pass user text through ``md``) once, on the next run.

    It survives st.rerun and page switches."""
    st.session_state.flash = message


def show_flash() -> None:
    message = st.session_state.get("flash")
    if message:
        st.session_state.flash = None
        st.success(message, icon=":material/check_circle:")
