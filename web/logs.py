"""Logging for `maillage serve` and `demo`: readable lines, or JSON lines for collectors.

MAILLAGE_LOG_FORMAT=json writes one JSON object per line (time, level, logger, message,
and for uvicorn's access log: client, method, path, status), which Loki, Elasticsearch
or journald pipelines ingest without parsing rules.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

import orjson

LOG_FORMATS = ("text", "json")
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    """One JSON object per record; uvicorn's access records get their fields by name."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            entry.update(zip(ACCESS_FIELDS, record.args, strict=False))
            entry["message"] = "{method} {path} {status}".format(**entry)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def log_format(environ: dict[str, str] | None = None) -> str:
    """MAILLAGE_LOG_FORMAT (text or json); anything else is refused with a clear message."""
    value = (environ if environ is not None else os.environ).get("MAILLAGE_LOG_FORMAT", "text")
    value = value.strip().lower() or "text"
    if value not in LOG_FORMATS:
        raise ValueError(f"MAILLAGE_LOG_FORMAT : {value!r} inconnu (text ou json)")
    return value


def logging_config(fmt: str, level: str = "info") -> dict[str, Any]:
    """A dictConfig for uvicorn's `log_config=`, covering uvicorn's and Maillage's loggers."""
    formatter = (
        {"()": f"{__name__}.JsonFormatter"}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"}
    )
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["default"], "level": level, "propagate": False},
            "maillage": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }
