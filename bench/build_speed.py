"""A catalog built from nothing, end to end: songs per second and where the time goes.

    python bench/build_speed.py [--clips 200] [--workers 2] [--real DIR]
    python bench/build_speed.py --source demo [--tracks 400] [--workers 2]

``--source demo`` builds the demo catalog as the Home page's Build button does and prints
the seconds until it is usable (map, songs and uploads work) and until it is complete,
with the time of every stage.

Builds ``python -m recommender``'s default (the pretrained backbone; a head when the
folder has genres) on N 30-s 44.1 kHz stereo MP3s in two genre folders (``make_clips``
of bench/ingest.py), or on the audio files below ``--real`` (e.g. the clips
bench/real_audio.py cuts), into a fresh home. Prints the wall time of every stage, the
end-to-end songs per second (target: at least 2 on two cores, i.e. fma_small's 8 000
clips in about an hour) and the backbone's share.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import make_clips  # noqa: E402

from recommender.build import BuildOptions, build  # noqa: E402


class StageTimes:
    """A build ``Progress`` that records the wall time of each stage."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._name: str | None = None
        self._start = self.began = time.perf_counter()
        self.usable_s: float | None = None  # seconds from the start until a catalog was in use
        self.tier = ""  # after a tiered demo's first catalog: the stages of the whole one
        self.first_songs = 0
        self.usable_cpu: float | None = None

    def stage(self, name: str, total: int | None = None) -> None:
        self._close()
        self._name, self._start = name + self.tier, time.perf_counter()

    def usable(self, songs: int, total: int) -> None:
        """A tiered demo's first catalog is in use: the stages after it add the rest."""
        self._close()
        self.usable_s = time.perf_counter() - self.began
        self.usable_cpu = _cpu_seconds()  # the first catalog's workers have ended: their CPU is counted
        self.tier = f" (all {total})"
        self.first_songs = songs

    def advance(self, done: int, total: int, metrics=None) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def _close(self) -> None:
        if self._name is not None:
            self.times[self._name] = self.times.get(self._name, 0.0) + time.perf_counter() - self._start
            self._name = None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--real", type=Path, default=None, help="build this folder of audio instead")
    ap.add_argument("--source", choices=("folder", "demo"), default="folder")
    ap.add_argument("--tracks", type=int, default=None, help="demo: catalog size (default: the demo's)")
    ap.add_argument(
        "--first-per-genre",
        type=int,
        default=None,
        help="demo: songs per genre of the first catalog (0: one build)",
    )
    args = ap.parse_args()
    if args.source == "demo":
        demo_speed(args)
        return

    with tempfile.TemporaryDirectory(prefix="musicrec-build-speed-") as tmp:
        tmp = Path(tmp)
        if args.real is None:
            audio = tmp / "music"
            half = args.clips // 2
            make_clips(audio / "Chords", half, seed=1)
            make_clips(audio / "Noise", args.clips - half, seed=2)
        else:
            audio = args.real
        progress = StageTimes()
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        result = build(
            BuildOptions(source="folder", audio=audio, workers=args.workers),
            home=tmp / "home",
            progress=progress,
        )
        progress._close()
        total = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_before
        shutil.rmtree(tmp / "home", ignore_errors=True)

    n = result.info["tracks"]
    print(f"{n} songs, model: {result.info['model']['name']} (head: {result.info['model']['head']})")
    for name, seconds in progress.times.items():
        print(f"  {name:<22} {seconds:7.1f} s")
    print(
        f"end to end: {total:.1f} s = {n / total:.2f} songs/s (features alone {n / progress.times['features']:.2f})"
    )
    cores = os.cpu_count() or 1
    print(
        f"CPU time of the build and its workers: {cpu:.0f} s = {cpu / n:.2f} CPU-s per song; "
        f"on {cores} cores of its own at most {cores * n / cpu:.2f} songs/s "
        f"(load average now {os.getloadavg()[0]:.1f}: other processes' share of the cores)"
    )


def demo_speed(args: argparse.Namespace) -> None:
    """Build the demo into a fresh home; print seconds to usable, to complete, and every stage's time."""
    import recommender.build

    if args.first_per_genre is not None:
        recommender.build.FIRST_TIER_PER_GENRE = args.first_per_genre or 10**6
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="musicrec-demo-speed-") as tmp:
        progress = StageTimes()
        # As the Home page's Build button: the demo, its default size, the pretrained backbone.
        options = BuildOptions(source="demo", tracks=args.tracks, arch="musicnn", workers=args.workers)
        cpu_before = _cpu_seconds()
        result = build(options, home=Path(tmp) / "home", progress=progress)
        progress._close()
        total = time.perf_counter() - progress.began
        cpu = _cpu_seconds() - cpu_before
    usable = progress.usable_s if progress.usable_s is not None else total
    print(
        f"demo: {result.info['tracks']} songs, model {result.info['model']['name']}, workers {options.workers}"
    )
    for name, seconds in progress.times.items():
        print(f"  {name:<22} {seconds:7.1f} s")
    first = ""
    if progress.usable_s is not None:
        first = f" (the first {progress.first_songs} songs; {progress.usable_cpu - cpu_before:.0f} CPU-s)"
    print(f"seconds to usable:   {usable:7.1f}{first}")
    print(f"seconds to complete: {total:7.1f}")
    print(
        f"CPU time {cpu:.0f} s; load average at start {load[0]:.2f}, at end {os.getloadavg()[0]:.2f} "
        f"({os.cpu_count()} cores)"
    )


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended (the local cluster's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
