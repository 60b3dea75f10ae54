"""Secrets people choose (the owner's password, a profile's PIN): stored only as a scrypt hash.

``hash_secret`` makes a self-describing string (``scrypt$n$r$p$salt$hash``, base64 parts)
that ``verify_secret`` checks in constant time. ``Guesses`` limits how fast anyone may guess:
after a few wrong answers for one key (a profile, or the owner's password) each further try
must wait, doubling up to a cap, so a PIN cannot be found by trying them all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable

from recommender.errors import UserInputError

# scrypt's cost: 16 MiB and ~50 ms per check on one core; small enough for a busy class server.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_SECRET = 4
MAX_SECRET = 128


def check_secret(secret: str, *, what: str = "PIN") -> str:
    """``secret`` if it is acceptable (4 to 128 characters, not only spaces), else ``UserInputError``."""
    if not isinstance(secret, str) or not secret.strip():
        raise UserInputError(f"the {what} cannot be empty")
    if len(secret) < MIN_SECRET:
        raise UserInputError(f"the {what} needs at least {MIN_SECRET} characters")
    if len(secret) > MAX_SECRET:
        raise UserInputError(f"the {what} can have at most {MAX_SECRET} characters")
    return secret


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_secret(secret: str) -> str:
    """A salted scrypt hash of ``secret`` as one ASCII string; the secret itself is never stored."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str | None) -> bool:
    """Whether ``secret`` matches ``stored`` (from ``hash_secret``); False for a missing or damaged hash."""
    if not stored or not isinstance(secret, str) or len(secret) > MAX_SECRET:
        return False
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        n, r, p = int(n), int(r), int(p)
        if n > 2**20 or r > 32 or p > 16:  # a hash from elsewhere must not cost gigabytes to check
            return False
        want = base64.b64decode(digest, validate=True)
        got = hashlib.scrypt(
            secret.encode("utf-8"), salt=base64.b64decode(salt, validate=True), n=n, r=r, p=p, dklen=len(want)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


class TooManyGuesses(UserInputError):
    """Wrong answers came too fast: the message says how long to wait."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"too many wrong tries; wait {max(1, round(seconds))} s and try again")


class Guesses:
    """Rate limit for guesses, per key: ``free`` wrong tries, then a wait that doubles (to ``cap_s``).

    Thread-safe, in memory: one per server process. A right answer clears the key.
    """

    def __init__(self, *, free: int = 3, base_s: float = 2.0, cap_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):  # fmt: skip
        self.free, self.base_s, self.cap_s, self._clock = free, base_s, cap_s, clock
        self._lock = threading.Lock()
        self._wrong: dict[str, tuple[int, float]] = {}  # key -> (wrong tries, time of the last)

    def wait_left(self, key: str) -> float:
        """Seconds before ``key`` may be tried again (0: now)."""
        with self._lock:
            count, last = self._wrong.get(key, (0, 0.0))
        if count < self.free:
            return 0.0
        wait = min(self.cap_s, self.base_s * 2 ** (count - self.free))
        return max(0.0, last + wait - self._clock())

    def check(self, key: str, guess: str, stored: str | None) -> bool:
        """Whether ``guess`` matches ``stored``; raises ``TooManyGuesses`` while ``key`` must wait."""
        left = self.wait_left(key)
        if left > 0:
            raise TooManyGuesses(left)
        ok = verify_secret(guess, stored)
        with self._lock:
            if ok:
                self._wrong.pop(key, None)
            else:
                count, _ = self._wrong.get(key, (0, 0.0))
                self._wrong[key] = (count + 1, self._clock())
        return ok


GUESSES = Guesses()
"""The server's one rate limit for PINs and the owner's password."""
