"""Keras at run time: imported quietly on first use, models saved with their sidecar and loaded checked.

Every network of the project ends in a layer named ``EMBEDDING_LAYER``; a ``.keras`` file
without one was not made here and is refused. TensorFlow takes seconds to import, so it is
imported on first use (``keras()``), never when this module is.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import zipfile
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

from recommender.errors import ModelError, UserInputError
from recommender.files import atomic_write

# TensorFlow reads this when it is first imported; set it before that happens.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EMBEDDING_LAYER = "embedding"
PACKAGES = ("tensorflow", "keras", "numpy", "librosa")
"""The packages that shape a model's numbers, recorded in its sidecar."""


def keras():
    """Keras, imported on first use (TensorFlow takes seconds to import)."""
    if "keras" not in sys.modules:
        with quiet_stderr():
            import keras  # noqa: F401
    return sys.modules["keras"]


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence the C++ notices TensorFlow prints while importing (oneDNN, CPU features).

    They bypass TF_CPP_MIN_LOG_LEVEL; turning oneDNN off would silence them too, but
    would make training about 2-3x slower on CPUs.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_model(path: Path, *, name: str | None = None):
    """The Keras model in ``path`` (safe mode, not compiled); a ``ModelError`` naming it (``name``) if unusable."""
    label = name or str(path)
    if not zipfile.is_zipfile(path):  # Keras would say "File not found" for these
        raise ModelError(
            f"{label} is not a Keras model file (not a .keras zip archive: it is truncated or another kind of "
            "file)."
        )
    try:
        model = keras().saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a damaged or foreign file
        reason = " ".join(str(error).split())
        raise ModelError(f"Cannot load model {label}: {reason}. Retrain it.") from None
    try:
        model.get_layer(EMBEDDING_LAYER)
    except ValueError:
        raise ModelError(
            f"Model {label} has no {EMBEDDING_LAYER!r} layer; it was not built by musicrec."
        ) from None
    return model


def save_model(model, models_dir: Path, name: str, *, sidecar: dict) -> Path:
    """Write ``<name>.keras`` and its description ``<name>.json`` (``sidecar``) into ``models_dir``.

    Each file is written under a temporary name and then renamed, so an interrupted save
    never leaves a half-written file under the final name. Returns the .keras path.
    """
    if not name or Path(name).name != name or name.startswith("."):
        raise UserInputError(f"Invalid model name {name!r}: use a plain file name without folders.")
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / f"{name}.keras"
    atomic_write(target, lambda tmp: model.save(tmp), suffix=target.suffix)  # Keras insists on ".keras"
    sidecar_path = models_dir / f"{name}.json"
    atomic_write(sidecar_path, lambda tmp: tmp.write_text(json.dumps(sidecar, indent=2)), suffix=".json")
    return target


def versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Versions of ``PACKAGES`` and ``extra`` ("not installed" for a missing one), for the sidecar."""
    candidates = {"tensorflow": ("tensorflow", "tensorflow-cpu")}
    found = {}
    for package in (*PACKAGES, *extra):
        found[package] = "not installed"
        for dist in candidates.get(package, (package,)):
            with contextlib.suppress(metadata.PackageNotFoundError):
                found[package] = metadata.version(dist)
                break
    return found
