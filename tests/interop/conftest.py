"""Our app served over TLS on loopback (uvicorn, self-signed certificate), and the Fedify
peer script run by Node against it."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from directory.db import Database
from tests.loopback import bind_loopback, serve
from web.app import create_app
from web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PEER = ROOT / "tests" / "interop" / "peer.mjs"
PEER_TIMEOUT = 60  # seconds; a lookup takes well under one
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _need(condition: bool, reason: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, made with `cryptography`."""
    folder = tmp_path_factory.mktemp("tls")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "maillage interop test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(folder / "cert.pem", folder / "key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return paths


@dataclass
class SeenRequest:
    """A request our server answered: how it was signed and what it answered."""

    method: str
    target: str  # path and query string
    signature: str | None  # "rfc9421", "draft-cavage" or None
    status: int | None = None


class RequestLog:
    """ASGI wrapper recording each HTTP request and the status it got."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[SeenRequest] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower() for k, _ in scope["headers"]}
        signature = (
            "rfc9421"
            if "signature-input" in headers
            else ("draft-cavage" if "signature" in headers else None)
        )
        query = scope.get("query_string", b"").decode("latin-1")
        entry = SeenRequest(
            scope["method"], scope["path"] + (f"?{query}" if query else ""), signature
        )
        self.seen.append(entry)

        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
            await send(message)

        await self.app(scope, receive, record)

    def to(self, target: str, method: str = "GET") -> list[SeenRequest]:
        return [r for r in self.seen if r.target == target and r.method == method]


@dataclass
class TlsInstance:
    settings: Settings
    db: Database
    log: RequestLog

    @property
    def base_url(self) -> str:
        return self.settings.base_url


ServeTls = Callable[..., Awaitable[TlsInstance]]


@pytest.fixture
async def serve_tls(settings: Settings, db: Database, certificate: Certificate):
    """Start our app over https on a free loopback port; stopped at the end of the test."""
    async with AsyncExitStack() as stack:

        async def start(**changes: Any) -> TlsInstance:
            sock = bind_loopback()
            port = sock.getsockname()[1]
            instance_settings = settings.with_(base_url=f"https://127.0.0.1:{port}", **changes)
            app = create_app(instance_settings, database=db)
            stack.push_async_callback(_close_client, app)
            log = RequestLog(app)
            await stack.enter_async_context(
                serve(
                    log, sock, ssl_certfile=str(certificate.cert), ssl_keyfile=str(certificate.key)
                )
            )
            return TlsInstance(instance_settings, db, log)

        yield start


async def _close_client(app: Any) -> None:
    client = getattr(app.state, "http", None)
    if client is not None:
        await client.close()


@pytest.fixture(scope="session")
def node() -> str:
    """Node 20 with the Fedify packages installed from the root package.json."""
    binary = shutil.which("node")
    _need(binary is not None, "node is not installed")
    _need(
        (ROOT / "node_modules" / "@fedify" / "fedify").is_dir(),
        "run `npm install` at the repository root (Fedify for the interop peer)",
    )
    return str(binary)


PeerRun = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def peer(node: str, certificate: Certificate) -> PeerRun:
    """Run `node tests/interop/peer.mjs <args>`; return its JSON answer."""

    async def run(*args: str) -> dict[str, Any]:
        process = await asyncio.create_subprocess_exec(
            node,
            str(PEER),
            *args,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "NODE_EXTRA_CA_CERTS": str(certificate.cert)},
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), PEER_TIMEOUT)
        lines = stdout.decode().strip().splitlines()
        assert lines, f"peer printed nothing; stderr: {stderr.decode()[-2000:]}"
        return json.loads(lines[-1])

    return run


@pytest.fixture
async def tls_instance(serve_tls: ServeTls) -> AsyncIterator[TlsInstance]:
    yield await serve_tls()
