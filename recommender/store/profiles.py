"""Profiles that belong to someone: a PIN, stored only as its hash, opens a profile.

A profile made with ``create_profile`` has a PIN from the start. One made before PINs
existed, or by a command-line command's first use of a name (``create_user``), has none
until ``claim_profile`` sets the first. ``unlock_profile`` checks a PIN, and wrong guesses
are limited per profile (``recommender.passwords.GUESSES``; look-alike names are one
profile, so they share one count). ``set_pin`` replaces a PIN: the owner's reset of a
forgotten one (in the app, or ``python -m recommender profile pin`` on the server).

The store does not know who asks: the app asks for the PIN before it reads or changes a
profile's data (``pages/_common.current_user``); the command line runs as the server's owner.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from typing import NamedTuple

import duckdb

from recommender.errors import AccessError, UserInputError
from recommender.passwords import GUESSES, Guesses, check_secret, hash_secret
from recommender.store.values import MAX_USER_NAME, _clean_name, _user_key, _utcnow


class Profile(NamedTuple):
    """A profile as the app's picker needs it."""

    name: str  # as stored (the spelling it was made with)
    key: str  # what names are matched by: look-alikes share it
    has_pin: bool  # False: made before PINs, open to the first PIN set (``claim_profile``)
    stamp: str  # changes whenever its PIN changes ("" without a PIN): an unlock ends with a new PIN


def _stamp(pin_hash: str | None) -> str:
    return hashlib.sha256(pin_hash.encode("ascii")).hexdigest()[:16] if pin_hash else ""


def _profile(row: tuple) -> Profile:
    name, key, pin_hash = row
    return Profile(str(name), str(key), pin_hash is not None, _stamp(pin_hash))


_MAKING_LOCK = threading.Lock()
_MAKING: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()


def _making(key: str) -> threading.Lock:
    """The lock of making profile ``key`` in this process.

    Streamlit starts the next run of a session in a new thread while the run it cuts short is
    still in a slow call: both may make the same profile at once.
    """
    with _MAKING_LOCK:
        lock = _MAKING.get(key)
        if lock is None:
            lock = _MAKING[key] = threading.Lock()
        return lock


class ProfileStore:
    """The PIN methods of ``Store`` (which provides ``_run``, ``_read``, ``_db`` and ``_find_user``)."""

    def profiles(self) -> tuple[Profile, ...]:
        """Every profile, by key; cached until this or another process writes."""
        return self._db.cached("profiles", self._read_profiles)

    def _read_profiles(self) -> tuple[Profile, ...]:
        sql = "SELECT name, name_key, pin_hash FROM users ORDER BY name_key"
        return tuple(_profile(r) for r in self._read(lambda con: con.execute(sql).fetchall()))

    def profile(self, name: str) -> Profile | None:
        """Profile ``name`` (or the one whose name looks like it), or None if there is none."""
        key = _user_key(_clean_name(name, what="profile", max_len=MAX_USER_NAME))
        return next((p for p in self.profiles() if p.key == key), None)

    def create_profile(self, name: str, pin: str) -> str:
        """Make profile ``name`` protected by ``pin``; returns its name.

        A name that is taken, or looks like one that is (``аlice`` for ``alice``), is a
        ``UserInputError`` naming the existing profile.
        """
        clean = _clean_name(name, what="profile", max_len=MAX_USER_NAME)
        pin_hash = hash_secret(check_secret(pin))  # outside the transaction, which may run twice

        def work(con: duckdb.DuckDBPyConnection) -> str:
            row = con.execute("SELECT name FROM users WHERE name_key = ?", [_user_key(clean)]).fetchone()
            if row is not None:
                raise UserInputError(_taken(clean, row[0]))
            con.execute(
                "INSERT INTO users (name, name_key, created_at, pin_hash) VALUES (?, ?, ?, ?)",
                [clean, _user_key(clean), _utcnow(), pin_hash],
            )
            return clean

        return self._run(work)

    def make_or_open_profile(self, name: str, pin: str, *, guesses: Guesses = GUESSES) -> tuple[Profile, str]:
        """Profile ``name`` made with ``pin``, or opened by it: ``(profile, "made" | "claimed" | "opened")``.

        Making a profile may be asked twice: a form sent twice, or a first request cut short after
        the profile was written. So a name spelled exactly as an existing profile's opens it when
        ``pin`` is its PIN (a guess counted like ``unlock_profile``'s), and a profile made before
        PINs is claimed. Any other taken name, a look-alike one included, is the ``UserInputError``
        of ``create_profile``, which names the existing profile.
        """
        clean = _clean_name(name, what="profile", max_len=MAX_USER_NAME)
        check_secret(pin)
        with _making(_user_key(clean)):  # a run cut short may still be making it, in another thread
            return self._make_or_open(clean, pin, guesses)

    def _make_or_open(self, clean: str, pin: str, guesses: Guesses) -> tuple[Profile, str]:
        found = self._fresh_profile(clean)
        if found is None:
            made = self.create_profile(clean, pin)  # another may make it first: then it is taken
            return self._fresh_profile(made) or _removed_meanwhile(made), "made"
        if not found.has_pin:
            claimed = self.claim_profile(found.name, pin)
            return self._fresh_profile(claimed) or _removed_meanwhile(claimed), "claimed"
        if found.name == clean:
            try:
                return self.unlock_profile(found.name, pin, guesses=guesses), "opened"
            except (AccessError, UserInputError):
                pass  # a wrong PIN, or too many: to whoever makes a profile, a taken name
        raise UserInputError(_taken(clean, found.name))

    def _fresh_profile(self, clean: str) -> Profile | None:
        """Profile ``clean`` read now, not from the cache of ``profiles``."""
        row = self._read(
            lambda con: con.execute(
                "SELECT name, name_key, pin_hash FROM users WHERE name_key = ?", [_user_key(clean)]
            ).fetchone()
        )
        return None if row is None else _profile(row)

    def claim_profile(self, name: str, pin: str) -> str:
        """Set the first PIN of profile ``name``, made before PINs; returns its name.

        ``AccessError`` if it has a PIN already (it may have been claimed a moment ago).
        """
        clean = _clean_name(name, what="profile", max_len=MAX_USER_NAME)
        pin_hash = hash_secret(check_secret(pin))

        def work(con: duckdb.DuckDBPyConnection) -> str:
            stored, old = self._require_profile(con, clean)
            if old is not None:
                raise AccessError(f"the profile {stored!r} has a PIN already: enter it to open the profile")
            con.execute("UPDATE users SET pin_hash = ? WHERE name_key = ?", [pin_hash, _user_key(clean)])
            return stored

        return self._run(work)

    def set_pin(self, name: str, pin: str) -> str:
        """Give profile ``name`` the PIN ``pin``, whatever it had (the owner's reset); returns its name."""
        clean = _clean_name(name, what="profile", max_len=MAX_USER_NAME)
        pin_hash = hash_secret(check_secret(pin))

        def work(con: duckdb.DuckDBPyConnection) -> str:
            stored, _ = self._require_profile(con, clean)
            con.execute("UPDATE users SET pin_hash = ? WHERE name_key = ?", [pin_hash, _user_key(clean)])
            return stored

        return self._run(work)

    def unlock_profile(self, name: str, pin: str, *, guesses: Guesses = GUESSES) -> Profile:
        """Profile ``name`` if ``pin`` is its PIN.

        ``AccessError`` for a wrong PIN or a profile without one (set one with ``claim_profile``);
        ``TooManyGuesses`` (a ``UserInputError`` saying how long to wait) after a few wrong ones.
        """
        clean = _clean_name(name, what="profile", max_len=MAX_USER_NAME)
        row = self._read(
            lambda con: con.execute(
                "SELECT name, name_key, pin_hash FROM users WHERE name_key = ?", [_user_key(clean)]
            ).fetchone()
        )
        if row is None:
            raise UserInputError(f"no profile named {clean!r}")
        found = _profile(row)
        if not found.has_pin:
            raise AccessError(f"the profile {found.name!r} has no PIN yet: set one to open it")
        if not guesses.check(f"profile {found.key}", pin if isinstance(pin, str) else "", row[2]):
            raise AccessError(f"wrong PIN for the profile {found.name!r}")
        return found

    def share_profile(self, name: str, other: ProfileStore) -> Profile | None:
        """Profile ``name`` of this store, with its PIN, made in ``other`` (another catalog of the home).

        Made only where ``other`` has no profile of that name, or has it without a PIN; a profile
        of that name with a PIN of its own there stays as it is. Returns ``other``'s profile
        (None when this store has no profile ``name``); only its name and PIN's hash travel.
        """
        clean = _clean_name(name, what="profile", max_len=MAX_USER_NAME)
        key = _user_key(clean)
        row = self._read(
            lambda con: con.execute("SELECT name, pin_hash FROM users WHERE name_key = ?", [key]).fetchone()
        )
        if row is None:
            return None
        return other.adopt_profile(str(row[0]), row[1])

    def adopt_profile(self, name: str, pin_hash: str | None) -> Profile | None:
        """Make profile ``name`` with the PIN whose hash is ``pin_hash`` (``share_profile``'s other half).

        Only where there is no profile of that name, or one without a PIN; returns the profile here.
        """
        clean = _clean_name(name, what="profile", max_len=MAX_USER_NAME)
        key = _user_key(clean)

        def work(con: duckdb.DuckDBPyConnection) -> None:
            there = con.execute("SELECT pin_hash FROM users WHERE name_key = ?", [key]).fetchone()
            if there is None:
                con.execute(
                    "INSERT INTO users (name, name_key, created_at, pin_hash) VALUES (?, ?, ?, ?)",
                    [clean, key, _utcnow(), pin_hash],
                )
            elif there[0] is None and pin_hash is not None:
                con.execute("UPDATE users SET pin_hash = ? WHERE name_key = ?", [pin_hash, key])

        self._run(work)
        return self.profile(clean)

    @staticmethod
    def _require_profile(con: duckdb.DuckDBPyConnection, clean: str) -> tuple[str, str | None]:
        row = con.execute(
            "SELECT name, pin_hash FROM users WHERE name_key = ?", [_user_key(clean)]
        ).fetchone()
        if row is None:
            raise UserInputError(f"no profile named {clean!r}")
        return str(row[0]), row[1]


def _removed_meanwhile(name: str) -> Profile:
    raise UserInputError(f"the profile {name!r} was removed while it was being made: make it again")


def _taken(clean: str, stored: str) -> str:
    if clean == stored:
        return f"the name {clean!r} is taken: pick it in the list and enter its PIN"
    return (
        f"the name {clean!r} is taken: it looks like the profile {stored!r}; pick that one and enter its PIN"
    )
