"""Generated names for artists, albums and titles, each drawn from its own seed."""

from __future__ import annotations

import numpy as np

_ADJECTIVES = (
    "Velvet", "Neon", "Silver", "Golden", "Paper", "Quiet", "Amber", "Crimson", "Hollow",
    "Midnight", "Lunar", "Wild", "Gentle", "Distant", "Copper", "Indigo", "Scarlet", "Cobalt",
    "Wandering", "Fading", "Slow", "Bright", "Hidden", "Northern", "Coastal", "Summer",
    "Winter", "Autumn", "Morning", "Ivory", "Pale", "Cedar", "Sunlit", "Electric", "Marble",
    "Saffron", "Emerald", "Dusty", "Tender", "Restless", "Lucky", "Honey", "Violet", "Rusty",
    "Sleepy", "Static", "Velour", "Faraway", "Secret", "Patient", "Ember", "Moonlit",
)  # fmt: skip
_PLURALS = (
    "Lanterns", "Sparrows", "Satellites", "Comets", "Kites", "Foxes", "Pines", "Mirrors",
    "Signals", "Tides", "Echoes", "Harbors", "Lights", "Rivers", "Engines", "Ferries",
    "Anchors", "Feathers", "Parades", "Meadows", "Islands", "Radios", "Postcards", "Bicycles",
    "Owls", "Herons", "Canyons", "Streetlights", "Telegrams", "Orchards", "Wolves", "Lilies",
)  # fmt: skip
_PLACES = (
    "Harbor", "Static", "Avenue", "Orchard", "Meridian", "Lagoon", "Boulevard", "Canyon",
    "Junction", "Lighthouse", "Valley", "Garden", "Station", "Archive", "Riverside", "Terrace",
    "Hollow", "Pier", "Observatory", "Greenhouse", "Coast", "Highway", "Plaza", "Quarry",
)  # fmt: skip
_FIRST = (
    "Mara", "Otto", "Ines", "Felix", "Nora", "Jonah", "Lena", "Arlo", "Cleo", "Ruben", "Iris",
    "Milo", "Tess", "Hugo", "Ada", "Silas", "June", "Elio", "Wren", "Theo", "Lou", "Nina",
    "Basil", "Dora", "Emil", "Greta", "Ivo", "Kit",
)  # fmt: skip
_LAST = (
    "Quill", "Fenwick", "Marlow", "Ashby", "Calder", "Lindqvist", "Okafor", "Castellan",
    "Hart", "Vance", "Bellamy", "Moreau", "Sandoval", "Thorne", "Winslow", "Abara", "Kessler",
    "Oduya", "Pryce", "Rosales", "Strand", "Tamsin", "Varga", "Yoon", "Delacroix", "Holm",
)  # fmt: skip
_THINGS = (
    "Rain", "Heartbeat", "Window", "Morning", "Signal", "River", "Daydream", "Horizon",
    "Letter", "Coastline", "Orbit", "Lantern", "Echo", "Compass", "Satellite", "Paper Moon",
    "Wildfire", "Tide", "Streetlight", "Porch", "Skyline", "Ferris Wheel", "Postcard",
    "Hummingbird", "Kite", "Meadow", "Harbor", "Snowfall", "Lullaby", "Weekend", "Afterglow",
    "Carousel", "Sunday", "Silhouette", "Blue Hour", "Rooftop", "Current", "Mirage",
)  # fmt: skip


def plural_noun(noun: str) -> str:
    """The English plural of a title word ("Compass" → "Compasses", "Echo" → "Echoes", "Lullaby" → "Lullabies")."""
    lower = noun.lower()
    if lower.endswith(("s", "sh", "ch", "x", "z")) or (lower.endswith("o") and lower[-2:-1] not in "aeiou"):
        return noun + "es"
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


# Patterns use {adj} {plural} {place} {first} {last} {thing} {things}; extra ones per genre.
ARTIST_PATTERNS = ("The {adj} {plural}", "{adj} {place}", "{first} {last}", "{first} & the {plural}")
ARTIST_EXTRA = {
    "Electronic": ("{adj} {place} Machines", "DJ {first}"),
    "Hip-Hop": ("{first} {adj}", "MC {last}"),
    "Rock": ("The {plural}", "{adj} {plural}"),
    "Jazz": ("{first} {last} Trio", "{first} {last} Quartet", "The {last} Quintet"),
    "Ambient": ("{adj} {thing}", "{place} Drift"),
    "Folk": ("{first} {last} & the {plural}", "The {place} Band"),
    "Reggae": ("{place} Sound System", "{first} {last} & the {adj} Roots"),
    "Drum & Bass": ("{adj} Circuit", "{last} & {last}"),
}
TITLE_PATTERNS = ("{adj} {thing}", "The {thing}", "Under the {adj} {thing}", "{things}", "{adj}")
TITLE_EXTRA = {
    "Electronic": ("{thing} ({adj} Mix)",),
    "Hip-Hop": ("{thing} Tape",),
    "Rock": ("{adj} Highway",),
    "Jazz": ("{thing} Blues", "Waltz for {first}"),
    "Ambient": ("{thing} at Dusk",),
    "Folk": ("Ode to the {thing}", "Ballad of {first}"),
    "Reggae": ("{thing} Dub",),
    "Drum & Bass": ("{thing} Pressure",),
}
ALBUM_PATTERNS = ("{adj} {place}", "Songs from the {place}", "{thing} Sessions", "{plural} & {plural}")

# Seed-sequence tags, so each kind of draw has its own stream.
TAG_ARTIST, TAG_NAME, TAG_SONG, TAG_SPLIT, TAG_TITLE, TAG_ALBUM, TAG_SUBSTYLE = range(1, 8)


def seeded_rng(*words: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(w) for w in words]))


def _fill(rng: np.random.Generator, patterns: tuple[str, ...]) -> str:
    """One generated name: a random pattern with random words."""
    words = {
        "adj": _ADJECTIVES,
        "plural": _PLURALS,
        "place": _PLACES,
        "first": _FIRST,
        "last": _LAST,
        "thing": _THINGS,
        "things": tuple(plural_noun(t) for t in _THINGS),
    }
    text = str(patterns[rng.integers(len(patterns))])
    while "{" in text:  # each placeholder draws its own word ("{last} & {last}")
        key = text[text.index("{") + 1 : text.index("}")]
        text = text.replace("{" + key + "}", str(words[key][rng.integers(len(words[key]))]), 1)
    return text


def unique_name(patterns: tuple[str, ...], taken: set[str], *words: int) -> str:
    """A name from ``patterns`` not in ``taken`` (then added to it), drawn from seed ``words``."""
    for attempt in range(40):
        name = _fill(seeded_rng(*words, attempt), patterns)
        if name not in taken:
            taken.add(name)
            return name
    number = 2
    while f"{name} {number}" in taken:
        number += 1
    taken.add(f"{name} {number}")
    return f"{name} {number}"
