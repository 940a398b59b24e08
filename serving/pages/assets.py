"""The pages' assets, served by the service itself (a shop may run offline): Plotly's
JavaScript from the installed ``plotly`` package, the stylesheet and the scripts in
``static/``."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

STATIC = Path(__file__).parent / "static"
PLOTLY = "plotly.min.js"
ASSET_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,100}$"
"""An asset's file name: no folders, no dot files, no odd characters."""
ASSET_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,100}")
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}


@functools.cache
def plotly_js() -> bytes:
    """Plotly.js as bundled in the ``plotly`` Python package (no CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


def asset(name: str) -> bytes | None:
    """An asset's bytes by file name, ``None`` if there is no such asset."""
    if name == PLOTLY:
        return plotly_js()
    if not ASSET_NAME.fullmatch(name):  # no folders, no dot files, no odd characters
        return None
    path = STATIC / name
    return path.read_bytes() if path.is_file() else None


async def _serve(request: Request) -> Response:
    name = request.path_params["name"]
    body = asset(name)
    if body is None:
        return Response(f"no asset {name!r}", status_code=404, media_type="text/plain")
    media = MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")
    return Response(body, media_type=media, headers={"cache-control": "max-age=3600"})


def asset_routes() -> list[BaseRoute]:
    return [Route("/assets/{name}", _serve, methods=["GET", "HEAD"])]
