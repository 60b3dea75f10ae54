"""The demo synthesiser"s output is bit-identical for a given seed.

The digests below were recorded from the synthesiser as it stood before it was split
into modules; any change to the sound must bump ``SYNTH_VERSION`` and record new
digests here (``python -m tests.test_demo_identical`` prints them).
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from recommender.sources import demo

SEED = 0
# sha256 of the float32 samples of the first song of every sub-style in the default plan.
RENDERED = {
    "Ambient Techno": "524280bf2e9651668e50cf064cf16533b97c0d56dfb7ebe33b25d3f9b0a2dd4c",
    "Lo-fi": "346a9d6ce4427e46d0c9544b1cde4eec08f4496d89a8de0004c90c6ff6135bbf",
    "Folk Rock": "04bca883d00304ac6ecaff00958397cad8cb0dd009c8b90fe9b49d0da5d911f3",
    "Jazz Fusion": "238d9c1f17e9edda1787570b083f926524086305cf3f750e9f2bbd1a46595961",
    "New Age": "d6523c5a59165969287f866615bfea0af7f50eac3fb63505100ad4646fa228db",
    "Fingerstyle": "b52f1eb563f28146b011290b953d9fadf4d9f0747ce4802237d0903660890e37",
    "Roots": "5f66a41df3f547ab1aa4e18f83211a64c8b66ce02914c3038453ff121fa7bdd2",
    "Liquid": "077920a41b0362c322cc32e387fc467a5181410ea798b21e286ae97c48e7fb4d",
    "Techno": "866009491e2725f74c2cf198b6222410facc23347f6b5f632ed106b6dba4fb8d",
    "Bossa Nova": "bda2c736439cc2577a183e1b0db5c265000effb612a171a7717662bc8cb4d035",
    "Downtempo": "71579487337a5e4039d0c3bf79a191344e9ad59f6aedfc1527e7153b07d038c0",
    "Bluegrass": "2356e77dd3ebdb1947537dfa4afbad6396a0231555837c4472b431be933802f6",
    "Dancehall": "2cdf00f6c17e4f584b7f5f263d3734e174f17652ec465935bd945e93b9597ea4",
    "Deep House": "6fd92d9a0bb184c500b1638b2c2f8fd9e354037a8871e40b5894995d821aa536",
    "Rock Ballad": "258773c1658dd590012c71c6ab3dd4815973c50b268c02bb31b5ac901a96028b",
    "Jazz-Hop": "f11b156e5cf8a1d6c346ed4144cc611dbdf19ed813460eb8cadab18054963623",
    "Jazz Ballad": "6b61b25ffe7025fd3490f9673f4b1384eb8a09d8cb35968cee23283aaec397ce",
    "Neurofunk": "7663950d162bbf733b04c28867cf977a74a6de655c4047c1c446e2de047e010e",
    "Folktronica": "6aaffa47e3b0e0b58f8decedb8c79e8353bbf5ce2fbf1ad0d45623825518fb66",
    "Dub": "0600e2cfafcbf8f38649326b72b6850adcdf3d08f41dac9c8b2f78fa479d57a3",
    "Synth-pop": "622dc6da92c36a9651109e0701e15d64ecd011353b753b2f5caa985a31dd27aa",
    "Trap": "0e0dc7b696493c4a98e0ac91d87f3aa4d58e9741b944dba57e078d5d3109b066",
    "Hard Rock": "5d949f96a425e3cbeb66aa2d8d5e72ac90ab95f5fba8d92d8861d8de8bacf097",
    "Drone": "80335152aeb98260b09a4df1ad6a0aec705bff346ceeb44ac547f4189e1e6ca4",
    "Halftime": "f0c5e2b2f11947558a2ab93f600dd9acb32f8681a3218d55aaed3b1c2704383d",
    "Punk": "8027ead6c337b880095086d8686bd6fa76a73a957d3597717eeb9feb15f5d5df",
    "Swing": "b2520f27537cab31912b23c4b5feae9c2414ced4f69b922d253e3e042c8d7d0a",
    "Ethereal": "ba8ee34ea6a6f3f43ab8780bd2229b46ea57dc01eb806c1e4e9744c08bbdeae1",
    "Jungle": "fff556927f566f970759c4003139e8d66f74b8f9ad6314ffb38fdd66bf3615e1",
    "Celtic": "1481e6e5b0cef52f1dae8906710ca16296c10f9c7e1333b85dbe1a84b3f3736d",
    "Ska": "ba162b561e1d0ad9b6aca9c1f0f8530d204ea825504d543c5a9205cde3b6f4c7",
    "Boom Bap": "897182b569f703da8f5be549a1101cf213db0cf3998f7488a856824411926629",
}
PLAN = "7302550fb203f093b54c3e11dc7399cadf7fd711298c9f5090318b43770c0591"  # sha256 of every field of every song of plan_catalog(400, seed=0)


def _first_of_each_substyle() -> list[demo.DemoSong]:
    first: dict[str, demo.DemoSong] = {}
    for song in demo.plan_catalog(demo.DEFAULT_TRACKS, seed=SEED):
        first.setdefault(song.substyle, song)
    return list(first.values())


def _digest(song: demo.DemoSong) -> str:
    return hashlib.sha256(demo.render(song).tobytes()).hexdigest()


def _plan_digest() -> str:
    songs = demo.plan_catalog(demo.DEFAULT_TRACKS, seed=SEED)
    return hashlib.sha256(repr([dataclasses.astuple(s) for s in songs]).encode()).hexdigest()


def test_plan_is_unchanged():
    assert _plan_digest() == PLAN


@pytest.mark.parametrize("song", _first_of_each_substyle(), ids=lambda s: s.substyle)
def test_rendered_audio_is_bit_identical(song):
    assert _digest(song) == RENDERED[song.substyle], (
        f"{song.substyle} (track {song.track_id}) sounds different"
    )


if __name__ == "__main__":
    print("RENDERED = {")
    for song in _first_of_each_substyle():
        print(f"    {song.substyle!r}: {_digest(song)!r},")
    print("}")
    print(f"PLAN = {_plan_digest()!r}")
