"""The domain's messages are French; `N_` marks them so that the web layer can translate them.

`N_("obligatoire")` marks a fixed message (and returns it). With parameters,
`N_("trop long (%(n)s caractères, maximum %(limit)s)", n=350, limit=300)` returns the French
text filled in, as a `Message`: a str that also keeps its template and parameters, so that
web/i18n.py `translate()` can look the template up in a catalog and fill in the same
parameters. The catalogs are built by `python -m web.locale.catalog` (babel.cfg reads
directory/ too). Nothing here knows about languages or HTTP.
"""

from __future__ import annotations

from typing import Any


class Message(str):
    """A French message filled in from `template` with `params`."""

    template: str
    params: dict[str, Any]


def N_(template: str, /, **params: Any) -> str:
    """Mark a French message for translation; fill in `params` (%(name)s) if any."""
    if not params:
        return template
    message = Message(template % params)
    message.template = template
    message.params = params
    return message
