"""Jinja2 environment shared by every HTML page (French first; Babel catalogs for English)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.templating import Jinja2Templates

TEMPLATES = Path(__file__).parent / "templates"


def create_templates() -> Jinja2Templates:
    """Templates with autoescaping and the i18n extension (`{{ _("...") }}` in templates)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml", "j2"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return Jinja2Templates(env=env)
