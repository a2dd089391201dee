"""A stand-in for another server on the network: it serves the documents a test puts at
paths (ActivityPub JSON, or anything with a content type), 404 for the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

AS = "application/activity+json"


@dataclass
class DocumentSite:
    host: str
    documents: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"https://{self.host}"

    def put(
        self, path: str, document: dict[str, Any], *, status: int = 200, media: str = AS
    ) -> str:
        """Serve `document` at `path`; its URL."""
        self.documents[path] = (status, media, orjson.dumps(document))
        return f"{self.base}{path}"

    def app(self) -> Starlette:
        async def serve(request: Request) -> Response:
            self.requests.append(request.url.path)
            found = self.documents.get(request.url.path)
            if found is None:
                return Response(b'{"error":"not found"}', 404, media_type="application/json")
            status, media, body = found
            return Response(body, status, media_type=media)

        return Starlette(routes=[Route("/{path:path}", serve)])
