"""Unlike the catalog: non-music caught, real clips of the catalog's albums left alone.

    python bench/unlike.py [--data DIR] [--demo-home HOME] [--json]

Three catalogs:
- ``demo``: the synthesised demo, a real build (96 songs, ``--source demo --tracks 96``);
  every real query clip is of an album it does not hold (flagging them is right);
- ``real``: bench/real_audio.py's folder catalog of five game soundtracks, with its query
  clips: ~30 % of each album's tracks, never in the catalog;
- ``flat``: three of those albums' clips as one flat folder (no labels), with the query
  clips of those three albums, and of the other two (music the catalog does not hold).
The real and flat catalogs are judged with the ``NoveltyModel`` their build would save: the
build fits it on the songs' sound features alone (labels play no part), as done here,
without the rest of a build (its head, map and evaluation).

Non-music (tests/nonmusic.py, 10 s each): white noise, pink noise, a sine sweep, silence
with hiss, speech (espeak-ng), plus ``voices``: real recorded voice lines of a game
(hedgewars' voice packs) strung together to 10 s, a speech the generators never made.

Printed per catalog: the reason each non-music file is flagged for (or NOT FLAGGED), and
the share of real query clips flagged, of albums in the catalog (false alarms) and of
other albums. A clip is judged as ``similar --file`` judges it (``novelty.judge`` on its
sound features); each file's sound features are computed once, cached in
``DIR/sound-cache.npz``.
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


def clips(out: Path, role: str, cache: SoundCache | None = None) -> list[Path]:
    """The clips of ``role``; with ``cache``, those that can be heard (a build skips a silent clip too)."""
    from recommender.backbone import DEFAULT_SOUND
    from recommender.errors import AudioError

    found = sorted(p for p in (out / role).glob("*/*") if p.suffix in (".ogg", ".flac"))
    if cache is None:
        return found
    heard = []
    for path in found:
        try:
            cache.get(path, DEFAULT_SOUND)
        except AudioError as error:
            print(f"skipped {error}", file=sys.stderr)
            continue
        heard.append(path)
    return heard


def fitted(files: list[Path], cache: SoundCache):
    """The ``NoveltyModel`` a folder build of ``files`` saves (``build._model_stages`` fits it the same way
    on the songs' sound features, labels or none)."""
    from recommender.backbone import DEFAULT_SOUND
    from recommender.novelty import NoveltyModel

    return NoveltyModel(backbones=DEFAULT_SOUND.backbones).fit(
        np.stack([cache.get(f, DEFAULT_SOUND) for f in files])
    )


FIXTURE = ROOT / "tests" / "data" / "real_sound.npz"
FIXTURE_CLIPS = {"catalog": 100, "queries": 40}


def write_fixture(out: Path, cache: SoundCache) -> None:
    """tests/data/real_sound.npz: ``novelty.PARTS`` of the sound features (float16) of a seeded draw of
    the real catalog's clips and of its query clips, with their albums. No audio."""
    import random

    from recommender.backbone import DEFAULT_SOUND
    from recommender.novelty import columns

    arrays = {}
    for role, n in FIXTURE_CLIPS.items():
        files = sorted(p for p in (out / role).glob("*/*") if p.suffix in (".ogg", ".flac"))
        random.Random(0).shuffle(files)
        chosen = files[:n]
        features = np.stack([cache.get(f, DEFAULT_SOUND) for f in chosen])
        arrays[role] = features[:, columns(DEFAULT_SOUND.backbones)].astype(np.float16)
        arrays[f"{role}_albums"] = np.array([f.parent.name for f in chosen])
    cache.save()
    np.savez_compressed(FIXTURE, **arrays)
    print(f"{FIXTURE}: {FIXTURE.stat().st_size / 1000:.0f} kB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "artifacts" / "real_audio")
    parser.add_argument("--demo-home", type=Path, default=None, help="default: DATA/homes-unlike/demo")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--write-fixture", action="store_true", help="write tests/data/real_sound.npz and stop"
    )
    args = parser.parse_args()
    if args.write_fixture:
        write_fixture(args.data / "clips", SoundCache(args.data / "sound-cache.npz"))
        return

    data: Path = args.data
    roots = real_audio.fetch_packages(data)
    out = data / "clips"
    if not (out / "catalog").is_dir():  # cut once (bench/real_audio.py's clips, OGG or FLAC)
        real_audio.cut_clips(real_audio.album_tracks(roots), out, fraction=0.3, seed=0)
    from recommender.backbone import DEFAULT_SOUND
    from recommender.catalog import Catalog
    from recommender.non_music import references
    from recommender.novelty import judge

    refs = references(data / "features", DEFAULT_SOUND)  # computed once, then read
    cache = SoundCache(data / "sound-cache.npz")
    queries, catalog = clips(out, "queries", cache), clips(out, "catalog", cache)
    demo = Catalog.open(
        build(args.demo_home or data / "homes-unlike" / "demo", "--source", "demo", "--tracks", "96")
    )
    catalogs = {  # name → (NoveltyModel, query clips of albums in it, query clips of other albums)
        "demo": (demo.novelty_reference, [], queries),
        "real": (fitted(catalog, cache), queries, []),
        "flat": (
            fitted([f for f in catalog if f.parent.name in FLAT_ALBUMS], cache),
            [q for q in queries if q.parent.name in FLAT_ALBUMS],
            [q for q in queries if q.parent.name not in FLAT_ALBUMS],
        ),
    }
    cache.save()
    odd = nonmusic.write_all(data / "nonmusic")
    odd["voices"] = recorded_voices(data, data / "nonmusic" / "voices.wav")
    missing = [kind for kind, path in odd.items() if path is None]
    odd = {kind: path for kind, path in odd.items() if path is not None}
    results: dict = {"missing": missing, "catalog_clips": len(catalog), "queries": len(queries)}
    print(f"{'':<5} " + " ".join(f"{k:>17}" for k in odd) + "  clips of its albums  of other albums")
    for name, (model, own, other) in catalogs.items():
        verdicts = [judge(model, cache.get(f, DEFAULT_SOUND), refs=refs) for f in odd.values()]
        mine = [judge(model, cache.get(f, DEFAULT_SOUND), refs=refs) for f in own]
        theirs = [judge(model, cache.get(f, DEFAULT_SOUND), refs=refs) for f in other]
        cache.save()
        cells = [f"{(v.reason or 'NOT FLAGGED'):>17}" for v in verdicts]
        print(f"{name:<5} " + " ".join(cells) + f"  {_share(mine):>19}  {_share(theirs):>15}")
        results[name] = {
            "non_music": {k: v.reason for k, v in zip(odd, verdicts, strict=True)},
            "own_albums_flagged": [sum(v.unlike for v in mine), len(mine)],
            "other_albums_flagged": [sum(v.unlike for v in theirs), len(theirs)],
            "reasons": sorted({v.reason for v in mine + theirs if v.unlike}),
        }
    if missing:
        print(f"not measured: {', '.join(missing)} (espeak-ng missing)")
    if args.json:
        print(json.dumps(results))


FLAT_ALBUMS = ("hedgewars", "supertux", "wesnoth")


def _share(verdicts: list) -> str:
    if not verdicts:
        return "—"
    flagged = sum(v.unlike for v in verdicts)
    return f"{flagged}/{len(verdicts)} ({flagged / len(verdicts):.1%})"


if __name__ == "__main__":
    main()
