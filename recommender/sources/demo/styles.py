"""The sub-styles of every genre: their ranges and composers."""

from __future__ import annotations

from recommender.sources.demo.composers.ambient import downtempo, drone_ambient, ethereal, new_age
from recommender.sources.demo.composers.drum_and_bass import halftime, jungle, liquid, neurofunk
from recommender.sources.demo.composers.electronic import ambient_techno, deep_house, synth_pop, techno
from recommender.sources.demo.composers.folk import bluegrass, celtic, fingerstyle, folktronica
from recommender.sources.demo.composers.hip_hop import boom_bap, jazz_hop, lo_fi_hip_hop, trap
from recommender.sources.demo.composers.jazz import bossa_nova, jazz_ballad, jazz_fusion, swing
from recommender.sources.demo.composers.reggae import dancehall, dub, roots, ska
from recommender.sources.demo.composers.rock import folk_rock, hard_rock, punk, rock_ballad
from recommender.sources.demo.sequencing import SubStyle
from recommender.sources.demo.songs import STYLES

_S = SubStyle
# Tempo ranges overlap on purpose, across genres as well as inside them: tempo alone
# must not give a genre away. Four sub-styles per genre, the last one a hybrid.
SUBSTYLES: tuple[SubStyle, ...] = (
    _S("Deep House", "Electronic", deep_house, (118, 125), 0.6, (0.52, 0.58), reverb=(0.8, 1.6)),
    _S("Techno", "Electronic", techno, (126, 138), 0.9),
    _S("Synth-pop", "Electronic", synth_pop, (100, 124), 0.3),
    _S("Ambient Techno", "Electronic", ambient_techno, (110, 124), 0.7, reverb=(2.0, 3.5), borrows="Ambient"),
    _S("Boom Bap", "Hip-Hop", boom_bap, (84, 98), 0.6, (0.54, 0.64), humanise=0.006, reverb=(0.4, 1.0)),
    _S("Lo-fi", "Hip-Hop", lo_fi_hip_hop, (68, 86), 0.5, (0.58, 0.66), humanise=0.008),
    _S("Trap", "Hip-Hop", trap, (130, 150), 0.9, reverb=(0.4, 1.0)),
    _S("Jazz-Hop", "Hip-Hop", jazz_hop, (82, 96), 0.4, (0.58, 0.66), humanise=0.007, borrows="Jazz"),
    _S("Hard Rock", "Rock", hard_rock, (108, 140), 0.5, humanise=0.005, reverb=(0.5, 1.2)),
    _S("Punk", "Rock", punk, (160, 196), 0.3, humanise=0.004, reverb=(0.3, 0.8)),
    _S("Rock Ballad", "Rock", rock_ballad, (60, 78), 0.4, (0.5, 0.54), 2, 0.006, (1.2, 2.2)),
    _S("Folk Rock", "Rock", folk_rock, (96, 128), 0.25, (0.5, 0.56), 2, 0.007, borrows="Folk"),
    _S("Swing", "Jazz", swing, (130, 200), 0.3, (0.6, 0.68), 2, 0.007),
    _S("Jazz Ballad", "Jazz", jazz_ballad, (54, 76), 0.4, (0.6, 0.68), 2, 0.01, (1.0, 2.0)),
    _S("Bossa Nova", "Jazz", bossa_nova, (116, 144), 0.4, humanise=0.005, reverb=(0.6, 1.3)),
    _S(
        "Jazz Fusion",
        "Jazz",
        jazz_fusion,
        (100, 128),
        0.5,
        humanise=0.004,
        reverb=(0.6, 1.2),
        borrows="Rock",
    ),
    _S("Ethereal", "Ambient", ethereal, (60, 90), 0.5, (0.5, 0.5), reverb=(2.5, 4.5)),
    _S("Drone", "Ambient", drone_ambient, (50, 70), 0.7, (0.5, 0.5), reverb=(3.0, 5.0)),
    _S("New Age", "Ambient", new_age, (66, 92), 0.15, (0.5, 0.52), 2, 0.006, (1.5, 3.0)),
    _S(
        "Downtempo",
        "Ambient",
        downtempo,
        (78, 98),
        0.6,
        (0.54, 0.6),
        1,
        0.005,
        (1.5, 3.0),
        borrows="Hip-Hop",
    ),
    _S("Fingerstyle", "Folk", fingerstyle, (72, 108), 0.35, (0.5, 0.58), 2, 0.008, (0.6, 1.5)),
    _S("Celtic", "Folk", celtic, (100, 126), 0.4, (0.62, 0.67), 2, 0.006, (0.8, 1.6)),
    _S("Bluegrass", "Folk", bluegrass, (104, 138), 0.1, humanise=0.004, reverb=(0.4, 1.0)),
    _S(
        "Folktronica",
        "Folk",
        folktronica,
        (98, 122),
        0.5,
        (0.5, 0.56),
        1,
        0.004,
        (1.0, 2.2),
        borrows="Electronic",
    ),
    _S("Roots", "Reggae", roots, (66, 84), 0.4, (0.52, 0.62), 1, 0.005, (0.6, 1.5)),
    _S("Dub", "Reggae", dub, (62, 80), 0.6, (0.52, 0.6), 1, 0.004, (1.5, 3.0)),
    _S("Ska", "Reggae", ska, (112, 150), 0.3, (0.52, 0.58), 2, 0.006),
    _S(
        "Dancehall",
        "Reggae",
        dancehall,
        (88, 104),
        0.7,
        (0.5, 0.54),
        1,
        0.003,
        (0.4, 1.0),
        borrows="Hip-Hop",
    ),
    _S("Neurofunk", "Drum & Bass", neurofunk, (172, 178), 0.95, reverb=(0.5, 1.2)),
    _S("Liquid", "Drum & Bass", liquid, (168, 176), 0.5, (0.5, 0.54), reverb=(1.0, 2.0)),
    _S("Halftime", "Drum & Bass", halftime, (168, 176), 0.9, (0.5, 0.5)),
    _S("Jungle", "Drum & Bass", jungle, (160, 170), 0.7, (0.5, 0.56), 1, 0.003, (0.8, 1.8), borrows="Reggae"),
)
SUBSTYLE_BY_NAME = {s.name: s for s in SUBSTYLES}
assert len(SUBSTYLE_BY_NAME) == len(SUBSTYLES) and {s.genre for s in SUBSTYLES} == set(STYLES)


def substyles(genre: str) -> tuple[SubStyle, ...]:
    """The sub-styles of one genre (one of ``STYLES``), hybrids last."""
    return tuple(s for s in SUBSTYLES if s.genre == genre)
