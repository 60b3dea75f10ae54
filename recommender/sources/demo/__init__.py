"""The demo catalog: songs synthesised here, in numpy, in eight genres of four sub-styles each.

Nothing is downloaded and nothing is recorded. Every song of the demo catalog is
synthesised from a seed by the code below: drum kits (a kick with a pitch drop, a
snare made of a noise burst and a tuned body, hats, rides, claps, toms), bass lines,
chord progressions and melodies played by small synthesised instruments (plucked
strings, banjo, electric piano, organ, pads, bells, flute, fiddle, horns, distorted
guitar), arranged, mixed, and given a little room reverb and noise. Titles, artists and
albums are generated names: no real artist or recording is involved, and the catalog is
labelled as synthesised wherever it is shown.

A catalog is more than one blot per genre, so each genre (``STYLES``, the label the
model learns) has sub-styles (``SUBSTYLES``) that differ audibly in tempo range,
rhythm, instruments, key and density: Rock is hard rock, punk, rock ballads and folk
rock. The last sub-style of every genre is a hybrid, labelled with its own genre only
but borrowing rhythm or instruments from another (jazz-hop, folk rock, ambient techno,
jungle...). Inside a sub-style, key, tempo, energy (calm and sparse to driving and
bright), drum kit, instruments, mix and arrangement vary; an artist keeps one sound, and
each album one sub-style, named in the album's title. Tempo ranges and instruments
overlap between genres, so the model has real work to do.

Determinism: ``plan_catalog(n, seed=s)`` depends only on ``(n, s)``, and its first
``m`` songs are the same for every ``n >= m`` (same seed): genres are dealt
round-robin and every song, artist and split is drawn from its own seed.
``render(song)`` depends only on the song, ``sr`` and ``seconds``.
"""

from recommender.sources.demo.files import audio_format, build_demo, plan_folder, song_path
from recommender.sources.demo.mixing import render
from recommender.sources.demo.names import plural_noun
from recommender.sources.demo.plan import plan_catalog
from recommender.sources.demo.sequencing import SubStyle
from recommender.sources.demo.songs import DEFAULT_TRACKS, PLAN_FILE, STYLES, SYNTH_VERSION, DemoSong
from recommender.sources.demo.styles import SUBSTYLE_BY_NAME, SUBSTYLES, substyles

__all__ = [
    "DEFAULT_TRACKS",
    "PLAN_FILE",
    "STYLES",
    "SUBSTYLES",
    "SUBSTYLE_BY_NAME",
    "SYNTH_VERSION",
    "DemoSong",
    "SubStyle",
    "audio_format",
    "build_demo",
    "plan_catalog",
    "plan_folder",
    "plural_noun",
    "render",
    "song_path",
    "substyles",
]
