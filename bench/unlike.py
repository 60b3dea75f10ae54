"""Unlike the catalog: non-music caught, real clips of the catalog's albums left alone.

    python bench/unlike.py [--data DIR] [--demo-home HOME] [--json]

Three catalogs, each a real ``build``:
- ``demo``: the synthesised demo (96 songs, ``--source demo --tracks 96``);
- ``real``: bench/real_audio.py's folder catalog of game soundtracks (album = label),
  with its query clips: ~30 % of each album's tracks, never in the catalog;
- ``flat``: the same catalog clips in one folder, without labels (no head is fitted).

Non-music (tests/nonmusic.py, 10 s each): white noise, pink noise, a sine sweep, silence
with hiss, speech (espeak-ng), plus ``voices``: real recorded voice lines of a game
(hedgewars' voice packs) strung together to 10 s, a speech the generators never made.

Printed per catalog: non-music flagged (and the reason given), and the share of real
query clips of albums in the catalog that are flagged (false alarms). A clip is judged
exactly as ``similar --file`` judges it (``Catalog.novelty_of``); each file's sound
features are computed once and cached in ``DIR/sound-cache.npz``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import nonmusic  # noqa: E402
import real_audio  # noqa: E402

VOICES = "usr/share/games/hedgewars/Data/Sounds/voices"


def recorded_voices(data: Path, out: Path) -> Path | None:
    """10 s of a game's recorded voice lines, each followed by a short pause (None without them)."""
    lines = sorted((data / "unpacked" / "hedgewars-data" / VOICES / "British").glob("*.ogg"))
    if not lines:
        return None
    sr, parts = 22050, []
    import librosa

    for line in lines:
        y, native = sf.read(str(line), dtype="float32", always_2d=True)
        parts += [
            librosa.resample(y.mean(axis=1), orig_sr=native, target_sr=sr),
            np.zeros(sr // 4, np.float32),
        ]
        if sum(map(len, parts)) >= 10 * sr:
            break
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(out), np.concatenate(parts)[: 10 * sr], sr)
    return out


class SoundCache:
    """Sound features per file path, computed once (``features.clip_features`` + ``backbone.sound_features``)."""

    def __init__(self, path: Path):
        self.path = path
        self.items: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path) as data:
                self.items = dict(zip(data["paths"].tolist(), data["sound"], strict=True))

    def get(self, file: Path, sound) -> np.ndarray:
        from recommender.backbone import sound_features
        from recommender.features import clip_features

        key = str(file)
        if key not in self.items:
            _, heard = clip_features(file, config=None, sound=sound)
            self.items[key] = sound_features([heard], names=sound.backbones, max_patches=sound.max_patches)[0]
        return self.items[key]

    def save(self) -> None:
        if self.items:
            np.savez(self.path, paths=np.array(list(self.items)), sound=np.stack(list(self.items.values())))


def build(home: Path, *args: str) -> Path:
    if not (home / "build.json").is_file():
        command = [sys.executable, "-m", "recommender", "build", "--home", str(home), *args]
        print("$", " ".join(command), file=sys.stderr)
        subprocess.run(command, check=True, cwd=ROOT)
    return home


def flat_folder(out: Path) -> Path:
    """The real catalog's clips in one folder (hard links), so the build sees no labels."""
    flat = out / "flat"
    for clip in sorted((out / "catalog").glob("*/*")):
        target = flat / f"{clip.parent.name}-{clip.name}"
        if not target.exists():
            flat.mkdir(parents=True, exist_ok=True)
            target.hardlink_to(clip)
    return flat


def judge_all(home: Path, files: list[Path], cache: SoundCache) -> list:
    from recommender.catalog import Catalog
    from recommender.novelty import judge

    catalog = Catalog.open(home)
    reference = catalog.novelty_reference
    return [judge(reference, cache.get(f, catalog.sound_config)) for f in files]


def write_references(folder: Path) -> None:
    """``novelty.REFERENCES`` from tests/nonmusic.py's ``REFERENCE_SOUNDS`` (speech needs espeak-ng)."""
    from recommender.backbone import DEFAULT_SOUND
    from recommender.novelty import REFERENCES, save_references

    made = nonmusic.write_references(folder)
    if len(made) < len(nonmusic.REFERENCE_SOUNDS):
        sys.exit("espeak-ng is needed for the speech references: apt-get install espeak-ng")
    cache = SoundCache(folder / "sound-cache.npz")
    features = np.stack([cache.get(path, DEFAULT_SOUND) for _, path in made])
    REFERENCES.parent.mkdir(parents=True, exist_ok=True)
    save_references(REFERENCES, features, [kind for kind, _ in made])
    print(f"{REFERENCES}: {len(made)} sounds ({REFERENCES.stat().st_size / 1000:.0f} kB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "artifacts" / "real_audio")
    parser.add_argument("--demo-home", type=Path, default=None, help="default: DATA/homes-unlike/demo")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--write-references", action="store_true", help="write recommender/data/non_music.npz and stop"
    )
    args = parser.parse_args()
    if args.write_references:
        write_references(args.data / "references")
        return

    data: Path = args.data
    roots = real_audio.fetch_packages(data)
    out = data / "clips"
    if not (out / "catalog").is_dir():  # cut once (bench/real_audio.py's clips, OGG or FLAC)
        real_audio.cut_clips(real_audio.album_tracks(roots), out, fraction=0.3, seed=0)
    homes = data / "homes-unlike"
    catalogs = {
        "demo": build(args.demo_home or homes / "demo", "--source", "demo", "--tracks", "96"),
        "real": build(homes / "real", "--source", "folder", "--audio", str(out / "catalog")),
        "flat": build(homes / "flat", "--source", "folder", "--audio", str(flat_folder(out))),
    }
    odd = nonmusic.write_all(data / "nonmusic")
    odd["voices"] = recorded_voices(data, data / "nonmusic" / "voices.wav")
    missing = [kind for kind, path in odd.items() if path is None]
    odd = {kind: path for kind, path in odd.items() if path is not None}
    queries = sorted(p for p in (out / "queries").glob("*/*") if p.suffix in (".ogg", ".flac"))
    cache = SoundCache(data / "sound-cache.npz")
    results: dict = {"missing": missing, "queries": len(queries)}
    print(f"{'catalog':<6} " + " ".join(f"{k:>18}" for k in odd) + "   real clips flagged")
    for name, home in catalogs.items():
        verdicts = judge_all(home, list(odd.values()), cache)
        real = judge_all(home, queries, cache)
        cache.save()
        flagged = sum(v.unlike for v in real)
        cells = [f"{(v.reason or 'NOT FLAGGED'):>18}" for v in verdicts]
        print(
            f"{name:<6} " + " ".join(cells) + f"   {flagged}/{len(real)} ({flagged / max(1, len(real)):.1%})"
        )
        results[name] = {
            "non_music": {k: v.reason for k, v in zip(odd, verdicts, strict=True)},
            "real_flagged": flagged,
            "real_clips": len(real),
            "real_reasons": sorted({v.reason for v in real if v.unlike}),
        }
    if missing:
        print(f"not measured: {', '.join(missing)} (espeak-ng missing)")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
