"""Shared fixtures: a seeded RNG and a fresh artifacts home per test."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty artifacts folder, also set as MUSICREC_HOME so nothing touches ./artifacts."""
    path = tmp_path / "home"
    monkeypatch.setenv("MUSICREC_HOME", str(path))
    return path
