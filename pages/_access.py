"""Who is at the browser: the server's owner, or a visitor.

The owner may change the catalog and the server (build, cancel, models, server paths, any
upload); everyone else is a visitor.
"""

from __future__ import annotations

import streamlit as st

OWNER_KEY = "owner"


def is_owner() -> bool:
    """Whether this browser session acts as the server's owner."""
    return bool(st.session_state.get(OWNER_KEY))
