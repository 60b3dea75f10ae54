"""Memory an uploaded file costs the server: peak RSS growth of listening to hostile uploads.

    python bench/memory.py [--home DIR] [--keep DIR]

Makes small files that decode to a lot of audio, then listens to each the way the
Upload page does (``Catalog.analyse_bytes``: decode, log-mels, backbone, model) in a
fresh process that stands for the server, after one ordinary clip has loaded the model:

- ``255ch-192k-31s.ogg``: Ogg Vorbis, 255 channels at 192 kHz, 31 s, one channel a quiet
  tone and the rest silence (about 400 KB; making it takes about two minutes);
- ``32ch-192k-31s.ogg``: the same with 32 channels, the most a file may declare;
- ``8ch-192k-10min.m4a``: FLAC in Matroska, 8 channels at 192 kHz, 10 minutes, named
  ``.m4a`` so that the fallback decoder reads it (about 1.1 MB; made with ffmpeg, and
  skipped without it: without ffmpeg such a file is refused, it needs ffmpeg to decode).

For each: the outcome (heard, or the message it is refused with), the peak RSS growth of
the server process over its RSS before (``/proc/self/status`` VmHWM, reset before each
file), the peak RSS of its decoder processes (ffmpeg, ffprobe: measured apart) and the time. Target: no
upload under the size limit grows the server by more than 500 MB. Without ``--home`` a
24-song demo catalog is built first (a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MB = 500


def make_ogg(path: Path, *, channels: int, sr: int = 192_000, seconds: float = 31.0) -> Path:
    """Ogg Vorbis of ``channels`` channels: a quiet 200 Hz tone in the first, silence in the others."""
    import soundfile as sf

    block = sr // 4
    t = np.arange(block) / sr
    frame = np.zeros((block, channels), dtype=np.float32)
    with sf.SoundFile(
        str(path),
        "w",
        samplerate=sr,
        channels=channels,
        format="OGG",
        subtype="VORBIS",
        compression_level=1.0,
    ) as f:
        for i in range(int(seconds * 4)):
            frame[:, 0] = 0.01 * np.sin(2 * np.pi * 200 * (t + i * block / sr))
            f.write(frame)
    return path


def make_matroska(path: Path, *, channels: int = 8, sr: int = 192_000, seconds: int = 600) -> Path | None:
    """FLAC in Matroska (named as ``path`` says): silence, with a quiet tone in the centre 4 s."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    mid = seconds / 2
    tone = f"aevalsrc='if(between(t,{mid - 2},{mid + 2}),0.001*sin(2*PI*50*t),0)':s={sr}:d={seconds}"
    every = (
        "pan=" + f"{channels}c|" + "|".join(f"c{i}=c0" for i in range(channels))
    )  # the tone in every channel
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", tone, "-af", every, "-sample_fmt", "s16",
         "-c:a", "flac", "-f", "matroska", str(path)],
        check=True,
    )  # fmt: skip
    return path


def make_ordinary(path: Path) -> Path:
    """A 30-s 44.1 kHz stereo WAV of two tones: the clip that loads the model first."""
    import soundfile as sf

    sr = 44_100
    t = np.arange(30 * sr) / sr
    y = 0.3 * np.stack([np.sin(2 * np.pi * 330 * t), np.sin(2 * np.pi * 440 * t)], axis=1)
    sf.write(str(path), y.astype(np.float32), sr)
    return path


def _status(key: str) -> int:
    """A ``/proc/self/status`` figure in bytes (``VmRSS``, ``VmHWM``)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def measure(home: Path, files: list[Path]) -> None:
    """Listen to each file as the Upload page does; one JSON line per file on stdout."""
    from recommender.catalog import Catalog
    from recommender.errors import RecommenderError

    catalog = Catalog.open(home)
    for path in files:
        data = path.read_bytes()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # VmHWM starts again from the RSS now
        before = _status("VmRSS")
        started = time.perf_counter()
        try:
            clip = catalog.analyse_bytes(data, filename=path.name)
            outcome = f"heard: {', '.join(clip.top_tags(3))}"
        except RecommenderError as error:
            outcome = f"refused: {error}"
        seconds = time.perf_counter() - started
        growth = _status("VmHWM") - before
        children = decoder_peak(path)
        print(
            json.dumps(
                {"file": path.name, "bytes": len(data), "outcome": outcome, "growth": growth,
                 "rss_before": before, "decoder_peak": children, "seconds": seconds}
            ),
            flush=True,
        )  # fmt: skip


def decoder_peak(path: Path) -> int:
    """Peak RSS of the processes ``audio.decode`` starts for ``path`` (ffprobe, ffmpeg; 0: none).

    Measured from a small process of its own: a child forked from the server would count
    the server's pages as its own until it runs ffmpeg.
    """
    code = (
        "import resource, sys; from recommender.audio import decode\n"
        "try:\n    decode(sys.argv[1])\nexcept Exception:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)"
    )
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT)
    return int(run.stdout.strip() or 0)


def build_demo(home: Path) -> None:
    print(f"building a 24-song demo catalog in {home} …", file=sys.stderr, flush=True)
    subprocess.run(
        [sys.executable, "-m", "recommender", "build", "--source", "demo", "--tracks", "24", "--workers", "1",
         "--home", str(home)],
        check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="a built catalog (default: build a 24-song demo one)")
    parser.add_argument("--keep", type=Path, help="make (or reuse) the files in this folder")
    parser.add_argument("--measure", nargs="+", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.home, args.measure)
        return

    scratch = Path(tempfile.mkdtemp(prefix="musicrec-memory-"))
    folder = args.keep or scratch
    folder.mkdir(parents=True, exist_ok=True)
    home = args.home or scratch / "home"
    if args.home is None:
        build_demo(home)
    files = [make_ordinary(folder / "ordinary-44k-stereo-30s.wav")]
    for name, make in (
        ("32ch-192k-31s.ogg", lambda p: make_ogg(p, channels=32)),
        ("255ch-192k-31s.ogg", lambda p: make_ogg(p, channels=255)),
        ("8ch-192k-10min.m4a", make_matroska),
    ):
        path = folder / name
        if not path.is_file():
            print(f"making {name} …", file=sys.stderr, flush=True)
            if make(path) is None:
                print(f"{name}: not made (needs ffmpeg)", file=sys.stderr)
                continue
        files.append(path)

    run = subprocess.run(
        [sys.executable, __file__, "--home", str(home), "--measure", *map(str, files)],
        check=True, capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "MUSICREC_ANALYSES": "1"},
    )  # fmt: skip
    print(f"ffmpeg: {'yes' if shutil.which('ffmpeg') else 'no'}; cores: {os.cpu_count()}")
    worst = 0
    for line in run.stdout.splitlines():
        row = json.loads(line)
        first = row["file"] == files[0].name  # loads the model: not an upload's own cost
        if not first:
            worst = max(worst, row["growth"])
        print(
            f"{row['file']:<28} {row['bytes'] / 1e3:>8.0f} KB  server peak RSS growth "
            f"{row['growth'] / 2**20:>7.1f} MB (from {row['rss_before'] / 2**20:.0f} MB)  "
            f"decoder processes' peak {row['decoder_peak'] / 2**20:>4.0f} MB  {row['seconds']:>5.1f} s  "
            f"{row['outcome'][:110]}{'  (loads the model)' if first else ''}"
        )
    verdict = "ok" if worst <= TARGET_MB * 2**20 else "misses"
    print(f"largest growth of a hostile upload: {worst / 2**20:.1f} MB (target ≤ {TARGET_MB} MB: {verdict})")
    shutil.rmtree(scratch, ignore_errors=True)  # the files of --keep and the catalog of --home stay


if __name__ == "__main__":
    main()
