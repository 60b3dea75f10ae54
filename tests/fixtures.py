"""Tiny synthetic audio and datasets for tests: tones, audio files, an FMA-shaped tree.

Import from test modules (``from tests.fixtures import tone, write_fma_fixture``). Everything
is deterministic and small (a few seconds of audio), so tests stay fast.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

# soundfile format (and default subtype) for each suffix we write.
_FORMATS = {
    ".wav": ("WAV", None),
    ".flac": ("FLAC", None),
    ".ogg": ("OGG", None),
    ".opus": ("OGG", "OPUS"),  # libsndfile's Opus needs sr in {8, 12, 16, 24, 48} kHz
    ".mp3": ("MP3", None),
    ".aiff": ("AIFF", None),
    ".aif": ("AIFF", None),
}


def tone(
    seconds: float, *, sr: int = 22_050, freq: float = 440.0, seed: int = 0, channels: int = 1
) -> np.ndarray:
    """A tone with one overtone plus a little seeded noise: never silent, never clipping.

    Returns float32 ``(n,)`` for one channel, ``(n, channels)`` otherwise, with
    ``n = round(seconds * sr)`` and peak amplitude below 0.5.
    """
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    rng = np.random.default_rng(seed)
    columns = []
    for channel in range(channels):
        f = freq * (1.0 + 0.003 * channel)  # slightly detuned channels: stereo is not mono twice
        y = 0.3 * np.sin(2 * np.pi * f * t) + 0.1 * np.sin(2 * np.pi * 2 * f * t + 0.5)
        columns.append(y + 0.01 * rng.standard_normal(n))
    y = np.stack(columns, axis=1).astype(np.float32)
    return y[:, 0] if channels == 1 else y


def write_audio(path: Path, y: np.ndarray, sr: int, *, subtype: str | None = None) -> Path:
    """Write ``y`` (``(n,)`` or ``(n, channels)``) with the format given by the suffix; make parents."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(f"cannot write {suffix!r} audio: use one of {', '.join(_FORMATS)}")
    fmt, default_subtype = _FORMATS[suffix]
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), y, sr, format=fmt, subtype=subtype or default_subtype)
    return path


def two_genre_folder(root: Path, n: int = 6) -> Path:
    """``n`` 4-s tones as a music folder of two genres, "High" and "Low", alternating."""
    for i in range(n):
        write_audio(
            root / ("Low" if i % 2 else "High") / f"song{i:02d}.wav",
            tone(4.0, freq=220 + 40 * i, seed=i),
            22_050,
        )
    return root


def write_mp3(path: Path, y: np.ndarray, sr: int) -> Path:
    """Write an MP3: libsndfile's encoder when it has one, else lameenc."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        sf.write(str(path), y, sr, format="MP3")
    except (sf.LibsndfileError, TypeError, ValueError):
        path.write_bytes(mp3_bytes_lameenc(y, sr))
    return path


def mp3_bytes_lameenc(y: np.ndarray, sr: int) -> bytes:
    """MP3 bytes of ``y`` (``(n,)`` or ``(n, channels)``, float in [-1, 1]) encoded by lameenc."""
    import lameenc

    pcm = np.clip(np.asarray(y, dtype=np.float32), -1.0, 1.0)
    channels = 1 if pcm.ndim == 1 else pcm.shape[1]
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(128)
    encoder.set_in_sample_rate(sr)
    encoder.set_channels(channels)
    encoder.set_quality(2)
    data = (pcm * 32767).astype("<i2").tobytes()  # interleaved for stereo: rows are frames
    return bytes(encoder.encode(data) + encoder.flush())


# --- FMA ------------------------------------------------------------------------------

# The 52 columns of FMA's tracks.csv, by group, in the real file's order.
_FMA_GROUPS = {
    "album": (
        "comments", "date_created", "date_released", "engineer", "favorites", "id", "information",
        "listens", "producer", "tags", "title", "tracks", "type",
    ),
    "artist": (
        "active_year_begin", "active_year_end", "associated_labels", "bio", "comments", "date_created",
        "favorites", "id", "latitude", "location", "longitude", "members", "name", "related_projects",
        "tags", "website", "wikipedia_page",
    ),
    "set": ("split", "subset"),
    "track": (
        "bit_rate", "comments", "composer", "date_created", "date_recorded", "duration", "favorites",
        "genre_top", "genres", "genres_all", "information", "interest", "language_code", "license",
        "listens", "lyricist", "number", "publisher", "tags", "title",
    ),
}  # fmt: skip
FMA_COLUMNS = [(group, name) for group, names in _FMA_GROUPS.items() for name in names]

# Real FMA ids of the top-level genres; other names get ids from 2000 up.
FMA_GENRE_IDS = {
    "International": 2, "Blues": 3, "Jazz": 4, "Classical": 5, "Old-Time / Historic": 8, "Country": 9,
    "Pop": 10, "Rock": 12, "Easy Listening": 13, "Soul-RnB": 14, "Electronic": 15, "Folk": 17,
    "Spoken": 20, "Hip-Hop": 21, "Experimental": 38, "Instrumental": 1235,
}  # fmt: skip

FMA_DEFAULTS = {
    "genre": "Rock",
    "split": "training",
    "subset": "small",
    "title": None,  # None: "Track <id>"
    "artist": "Some Artist",
    "album": "Some Album",
    "audio": "ok",  # "ok" | "missing" | "empty" | "truncated" | "text"
    "seconds": 4.0,
}


def write_fma_fixture(root: Path, tracks: list[dict], *, drop_columns: tuple = ()) -> tuple[Path, Path]:
    """An FMA-shaped tree below ``root``: ``fma_metadata/`` and ``fma_<subset>/XXX/XXXXXX.mp3``.

    Each dict needs ``track_id``; other keys default to ``FMA_DEFAULTS``. A genre of None
    or "" leaves ``genre_top`` empty (as FMA does for tracks spanning top genres); a title,
    artist or album of "" leaves that cell empty. ``audio`` says what to write: a real MP3
    ("ok"), nothing ("missing"), zero bytes ("empty"), a valid MP3 cut to its first 600
    bytes ("truncated"), or text named .mp3 ("text"). The audio folder is named after the
    largest subset listed (fma_medium holds the small tracks too, as in FMA).

    Returns ``(metadata_dir, audio_dir)``.
    """
    rows = [FMA_DEFAULTS | t for t in tracks]
    metadata_dir = Path(root) / "fma_metadata"
    largest = max((r["subset"] for r in rows if r["subset"] in _SUBSETS), key=_SUBSETS.index, default="small")
    audio_dir = Path(root) / f"fma_{largest}"
    metadata_dir.mkdir(parents=True, exist_ok=True)
    audio_dir.mkdir(parents=True, exist_ok=True)

    genre_ids = _genre_ids(rows)
    frame = pd.DataFrame(
        [_fma_row(r, genre_ids) for r in rows],
        index=pd.Index([int(r["track_id"]) for r in rows], name="track_id"),
        columns=pd.MultiIndex.from_tuples(FMA_COLUMNS),
    )
    frame = frame.drop(columns=list(drop_columns))
    frame.to_csv(metadata_dir / "tracks.csv")
    _write_genres_csv(metadata_dir / "genres.csv", rows, genre_ids)
    for r in rows:
        _write_fma_audio(audio_dir, int(r["track_id"]), r)
    return metadata_dir, audio_dir


_SUBSETS = ("small", "medium", "large")


def fma_audio_path(audio_dir: Path, track_id: int) -> Path:
    name = f"{track_id:06d}"
    return Path(audio_dir) / name[:3] / f"{name}.mp3"


def _genre_ids(rows: list[dict]) -> dict[str, int]:
    names = sorted({r["genre"] for r in rows if r["genre"]})
    extra = [n for n in names if n not in FMA_GENRE_IDS]
    known = {n: FMA_GENRE_IDS[n] for n in names if n in FMA_GENRE_IDS}
    return known | {n: 2000 + i for i, n in enumerate(extra)}


def _fma_row(r: dict, genre_ids: dict[str, int]) -> list:
    """One tracks.csv row in FMA's style: ids, dates, Python-literal lists, HTML bios."""
    tid = int(r["track_id"])
    genre = r["genre"] or ""
    # A track without genre_top spans two top genres in FMA; its genres list is never empty.
    genres = [genre_ids[genre]] if genre else [76, 103]
    values = {
        ("album", "comments"): 0,
        ("album", "date_created"): "2008-11-26 01:44:45",
        ("album", "date_released"): "2009-01-05 00:00:00",
        ("album", "favorites"): 4,
        ("album", "id"): 1000 + tid,
        ("album", "information"): "<p>Recorded live, mostly.</p>",
        ("album", "listens"): 6073,
        ("album", "tags"): "[]",
        ("album", "title"): r["album"],
        ("album", "tracks"): 7,
        ("album", "type"): "Album",
        ("artist", "active_year_begin"): "2006-01-01 00:00:00",
        ("artist", "bio"): '<p>A bio with "quotes", commas,\nand a line break</p>',
        ("artist", "comments"): 0,
        ("artist", "date_created"): "2008-11-26 01:42:32",
        ("artist", "favorites"): 9,
        ("artist", "id"): 500 + tid,
        ("artist", "latitude"): 40.058324,
        ("artist", "location"): "New Jersey",
        ("artist", "longitude"): -74.405661,
        ("artist", "members"): "Sajje Morocco,Brownbum",
        ("artist", "name"): r["artist"],
        ("artist", "tags"): "['awol']",
        ("artist", "website"): "http://example.org",
        ("set", "split"): r["split"],
        ("set", "subset"): r["subset"],
        ("track", "bit_rate"): 256000,
        ("track", "comments"): 0,
        ("track", "date_created"): "2008-11-26 01:48:12",
        ("track", "duration"): int(round(float(r["seconds"]))),
        ("track", "favorites"): 2,
        ("track", "genre_top"): genre,
        ("track", "genres"): str(genres),
        ("track", "genres_all"): str(sorted(set(genres) | {1})),
        ("track", "interest"): 4656,
        ("track", "language_code"): "en",
        ("track", "license"): "Attribution-NonCommercial-ShareAlike 3.0 International",
        ("track", "listens"): 1293,
        ("track", "number"): 3,
        ("track", "tags"): "[]",
        ("track", "title"): f"Track {tid}" if r["title"] is None else r["title"],
    }
    return [values.get(col, "") for col in FMA_COLUMNS]


def _write_genres_csv(path: Path, rows: list[dict], genre_ids: dict[str, int]) -> None:
    counts = pd.Series([r["genre"] for r in rows if r["genre"]]).value_counts()
    frame = pd.DataFrame(
        {
            "genre_id": list(genre_ids.values()),
            "#tracks": [int(counts.get(name, 0)) for name in genre_ids],
            "parent": 0,
            "title": list(genre_ids),
            "top_level": list(genre_ids.values()),
        }
    ).sort_values("genre_id")
    frame.to_csv(path, index=False)


def _write_fma_audio(audio_dir: Path, tid: int, r: dict) -> None:
    path = fma_audio_path(audio_dir, tid)
    kind = r["audio"]
    if kind == "missing":
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("<html><body>404 Not Found</body></html>\n")
    elif kind in ("ok", "truncated"):
        # Each genre its own pitch, so a genre is audible in the features.
        freq = 200.0 + zlib.crc32(str(r["genre"]).encode()) % 600
        write_mp3(path, tone(float(r["seconds"]), freq=freq, seed=tid), 22_050)
        if kind == "truncated":
            path.write_bytes(path.read_bytes()[:600])
    else:
        raise ValueError(f"unknown audio kind {kind!r}: ok, missing, empty, truncated or text")


# --- processes --------------------------------------------------------------------------


def dead_pid() -> int:
    """The pid of a process that has just exited (a stale temporary file's writer)."""
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def mode_of(path) -> int:
    """Permission bits of a file (``0o644`` …)."""
    import os

    return os.stat(path).st_mode & 0o777


def as_another_user(function, *args, **kwargs):
    """``function(*args, **kwargs)`` run by a user without root's rights; returns or raises what it does.

    Root reads and writes through any permission, so as root the call runs in a forked
    child that drops to the user ``nobody`` (the child runs code already imported: the
    interpreter's own files may be out of nobody's reach). Run by any other user, the call
    is made directly: permissions already apply. Paths the call uses must be reachable by
    ``nobody`` (see ``shared_folder``).
    """
    import os
    import pickle
    import pwd
    import signal
    import traceback

    if os.geteuid() != 0:
        return function(*args, **kwargs)
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            signal.alarm(120)  # never hang the test run: SIGALRM ends the child
            os.close(read_end)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            try:
                outcome = ("returned", function(*args, **kwargs))
            except BaseException as error:  # handed to the parent
                outcome = ("raised", error)
            try:
                data = pickle.dumps(outcome)
            except Exception:
                data = pickle.dumps(("raised", RuntimeError(traceback.format_exception(outcome[1]))))
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(data)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    kind, value = pickle.loads(data)
    if kind == "raised":
        raise value
    return value


def give_to_another_user(path) -> None:
    """Make ``path`` (a folder tree) belong to the user ``as_another_user`` runs as."""
    import os
    import pwd

    if os.geteuid() != 0:
        return
    nobody = pwd.getpwnam("nobody")
    for folder, dirs, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.chown(name, nobody.pw_uid, nobody.pw_gid)


def take_from_another_user(path) -> None:
    """Make ``path`` unwritable for the user ``as_another_user`` runs as (read and traverse stay)."""
    import os

    if os.geteuid() == 0:
        os.chown(path, 0, 0)
        os.chmod(path, 0o755)
    else:
        os.chmod(path, 0o555)


def copy_home(src: Path, dst: Path) -> Path:
    """A copy of the home ``src`` at ``dst``, taken after this process gave its database files back:
    the copy never races a checkpoint that removes the write-ahead log while it is being copied."""
    import shutil

    from recommender.store.connection import close_all

    close_all()
    shutil.copytree(src, dst)
    return dst
