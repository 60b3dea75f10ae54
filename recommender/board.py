"""The class board: what a projector shows while a class uses the app, and the link to join it.

``class_board`` gathers the board from the store's one cached read (``Store.board``) and the
catalog's map arrays, already in memory: who joined, each uploaded clip with its spot on the
map and its tags, the most played and liked songs, the class playlist. ``join_link`` is the
app's address as the teacher's browser sees it, reduced to scheme, host and port (so nothing
typed into a URL reaches the board), and ``qr_png`` draws it as a QR code, made here (segno).
"""

from __future__ import annotations

import io
import ipaddress
import re
import socket
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote, urlsplit

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the facade passes itself in: only its type is named here
    from recommender.catalog import Catalog
from recommender.describe import merge_tags
from recommender.store.board import BoardData

REFRESH_S = 4.0  # seconds between two refreshes of the class board
BOARD_TAGS = 4  # tags shown per uploaded clip
MAP_POINTS = 3000  # catalog songs drawn under the uploads: a board refresh costs the same at 100 000 songs
_HOST = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)


class Board(NamedTuple):
    """The board as shown: ``BoardData``'s parts, uploads with map spots and tags, the map's songs."""

    data: BoardData
    uploads: pd.DataFrame  # the shown (not hidden) uploads: BoardData.uploads columns + x, y, tags (str)
    hidden: pd.DataFrame  # the uploads the owner hid: track_id, title, added_by
    background: (
        pd.DataFrame
    )  # catalog songs for the map, no upload of the board: track_id, x, y, title, artist, genre


def class_board(
    catalog: Catalog, *, data: BoardData | None = None, frame: pd.DataFrame | None = None
) -> Board:
    """The board of ``catalog`` now. ``data``: the store's read (default ``catalog.store.board()``);
    ``frame``: the catalog's ``map_frame()`` when the caller keeps it cached."""
    data = catalog.store.board() if data is None else data
    uploads = data.uploads
    shown, hidden = uploads[~uploads["hidden"].astype(bool)], uploads[uploads["hidden"].astype(bool)]
    arrays = catalog.map_arrays
    rows = {int(t): i for i, t in enumerate(np.asarray(arrays["track_ids"]).tolist())}
    spots = [rows.get(int(t)) for t in shown["track_id"]]
    coords = np.asarray(arrays["coords"])
    xs = [float(coords[r, 0]) if r is not None else np.nan for r in spots]
    ys = [float(coords[r, 1]) if r is not None else np.nan for r in spots]
    tags = [
        ", ".join(list(merge_tags(catalog.tags(int(t), n=None)))[:BOARD_TAGS]) if r is not None else ""
        for t, r in zip(shown["track_id"], spots, strict=True)
    ]
    shown = shown.assign(x=xs, y=ys, tags=tags).reset_index(drop=True)
    frame = catalog.map_frame() if frame is None else frame
    # The uploads are drawn as stars on top; a hidden one not at all.
    frame = frame[~frame["track_id"].isin([*data.hidden_ids, *shown["track_id"].tolist()])]
    hidden = hidden[["track_id", "title", "added_by"]].reset_index(drop=True)
    return Board(data, shown, hidden, map_background(frame))


def map_background(frame: pd.DataFrame, *, limit: int = MAP_POINTS) -> pd.DataFrame:
    """At most ``limit`` songs of a ``map_frame`` for the board's map (evenly spread, by id)."""
    frame = frame[["track_id", "x", "y", "title", "artist", "genre"]]
    if len(frame) > limit:
        frame = frame.iloc[np.linspace(0, len(frame) - 1, limit).round().astype(int)]
    return frame.reset_index(drop=True)


# ---- the link to join --------------------------------------------------------------------------
def join_link(
    browser_url: str | None,
    *,
    base_path: str = "",
    host_header: str | None = None,
    catalog: str | None = None,
) -> str | None:
    """The app's address for students: scheme, host and port of the URL the browser shows (else the
    ``Host`` header), then the server's own ``base_path``; None when neither names a valid host.

    Only a well-formed host name or IP address and a port number are taken from the browser; the
    path, query and anything else in the URL are dropped, so the link says nothing a visitor typed.
    A loopback host (the board opened on the server itself) becomes this machine's network address,
    which phones on the same network can reach. ``catalog``: the catalog the board shows, where the
    server has several (``?catalog=NAME``, so the students' phones open the same one).
    """
    scheme, host, port = "http", None, None
    for text, from_url in ((browser_url, True), (host_header, False)):
        if not text:
            continue
        try:
            parts = urlsplit(text if from_url else f"http://{text}")
            host, port = parts.hostname, parts.port
        except ValueError:
            continue
        if from_url and parts.scheme in ("http", "https"):
            scheme = parts.scheme
        if host and _valid_host(host):
            break
        host = None
    if host is None:
        return None
    if _loopback(host):
        host = network_address() or host
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    port_part = f":{port}" if port and port != default else ""
    path = "/".join(quote(p, safe="") for p in base_path.strip("/").split("/") if p)
    query = f"?catalog={quote(catalog, safe='')}" if catalog else ""
    return f"{scheme}://{shown}{port_part}/{path + '/' if path else ''}{query}"


def _valid_host(host: str) -> bool:
    if len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOST.fullmatch(host))


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def network_address() -> str | None:
    """This machine's address on its network (the one its default route leaves from), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # UDP: no packet is sent, only the route is chosen
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def qr_png(text: str, *, scale: int = 10) -> bytes:
    """``text`` as a QR code, a PNG image (black on white, with the standard quiet zone)."""
    import segno

    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=scale, border=4, dark="#000", light="#fff")
    return out.getvalue()
