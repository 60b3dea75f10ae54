"""recommender/librosa_import.py: processes that start together import librosa one at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recommender.librosa_import import COMPILED, import_lock

ROOT = Path(__file__).resolve().parents[1]
LOAD = "from recommender.librosa_import import load_librosa; load_librosa(); print('loaded')"


def _python(code: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=os.environ | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_process_imports_librosa_only_once_the_lock_is_free():
    with import_lock():
        waiting = _python(LOAD)
        time.sleep(8)  # a warm import of librosa's compiled modules takes 2-3 s
        assert waiting.poll() is None, "librosa was imported while another process held the lock"
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err[-2000:]
    assert out.strip() == "loaded"


def test_every_module_of_librosa_that_caches_numba_code_is_imported_under_the_lock():
    import librosa

    root = Path(librosa.__file__).parent
    caching = {
        "librosa." + ".".join(p.relative_to(root).with_suffix("").parts)
        for p in root.rglob("*.py")
        if "cache=True" in p.read_text(encoding="utf-8")
    }
    assert caching and caching <= set(COMPILED)


@pytest.mark.slow
def test_processes_starting_together_on_a_cold_numba_cache_leave_it_usable(tmp_path):
    # numba issue #10128: GUFuncs compiled by two processes at once could leave a cache that crashes
    # every later process (reproduced with librosa 0.11 and numba 0.68 in 2 of 3 tries without the lock).
    yin = LOAD + "; import numpy as np; y = np.sin(np.arange(48000) * 0.1).astype(np.float32)"
    yin += "; import librosa; print(float(librosa.yin(y, fmin=60, fmax=400, sr=16000)[0]) > 0)"
    starts = []
    for _ in range(4):  # staggered: a later process finds some functions cached and compiles the rest
        starts.append(_python(yin, NUMBA_CACHE_DIR=str(tmp_path)))
        time.sleep(2)
    for process in starts:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-2000:]
    after = _python(yin, NUMBA_CACHE_DIR=str(tmp_path))
    out, err = after.communicate(timeout=600)
    assert after.returncode == 0, f"a process after them crashed ({after.returncode}): {err[-2000:]}"
    assert out.split() == ["loaded", "True"]
