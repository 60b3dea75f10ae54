"""The models saved in a home: which can be loaded, where each is, and a model described in words."""

from __future__ import annotations

from pathlib import Path

from recommender import listeners
from recommender.errors import ModelError


def saved_models(models_dir: Path) -> list[str]:
    """Names of the models in ``models_dir`` that can be loaded (a .keras file with its .json)."""
    if not models_dir.is_dir():
        return []
    return sorted(p.stem for p in models_dir.glob("*.keras") if p.with_suffix(".json").is_file())


def model_path(models_dir: Path, name: str) -> Path:
    """The .keras file of the saved model ``name``, or a ``ModelError`` listing the saved ones."""
    saved = saved_models(models_dir)
    if name not in saved:
        raise ModelError(f"no saved model named {name!r}; saved models: {', '.join(saved) or 'none'}")
    return models_dir / f"{name}.keras"


def model_description(model: dict) -> str:
    """The model of a build in a few words, for people (``build.json``'s ``model``)."""
    if model.get("arch") in listeners.names() and listeners.of_model(model).hears == listeners.SOUND:
        head = "with a head trained on its genres" if model.get("head") == "lda" else "alone (no training)"
        return f"pretrained musicnn backbone {head}"
    return f"{model.get('arch')} CNN trained from scratch"
