"""Static files: our own CSS/JS, and the front-end libraries installed by npm.

Libraries come from the npm registry through the root package.json (`npm ci`) and are
served from node_modules by the instance itself: no CDN, no copy in the repository.
MAILLAGE_NODE_MODULES overrides where node_modules is (default: beside web/).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

log = logging.getLogger("maillage.web")

STATIC_DIR = Path(__file__).parent / "static"

# URL prefix -> directory inside node_modules holding the files pages use at run time.
NPM_ASSETS: dict[str, str] = {
    "leaflet": "leaflet/dist",
    "d3": "d3/dist",  # Observable Plot's UMD build needs d3 as the global `d3`
    "plot": "@observablehq/plot/dist",
}


def node_modules_dir() -> Path:
    """Where npm installed the front-end libraries."""
    configured = os.environ.get("MAILLAGE_NODE_MODULES")
    return (
        Path(configured) if configured else Path(__file__).resolve().parent.parent / "node_modules"
    )


def missing_assets() -> list[str]:
    """npm packages the pages need that are not installed (empty when all is well)."""
    base = node_modules_dir()
    return [name for name, sub in NPM_ASSETS.items() if not (base / sub).is_dir()]


def routes() -> list[BaseRoute]:
    """/static for our files, /assets/<package> for the npm libraries."""
    if missing := missing_assets():
        log.warning(
            "front-end packages missing in %s: %s (run `npm ci`)", node_modules_dir(), missing
        )
    base = node_modules_dir()
    return [
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        *(
            Mount(f"/assets/{name}", StaticFiles(directory=base / sub, check_dir=False))
            for name, sub in NPM_ASSETS.items()
        ),
    ]
