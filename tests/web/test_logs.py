"""JSON log lines (MAILLAGE_LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from web.logs import JsonFormatter, log_format, logging_config


def record(name: str, msg: str, args: tuple = (), exc_info=None) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, exc_info)


def test_access_records_become_fields():
    line = JsonFormatter().format(
        record(
            "uvicorn.access", '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5", "GET", "/x", "1.1", 404)
        )
    )
    entry = json.loads(line)
    assert entry["level"] == "info" and entry["logger"] == "uvicorn.access"
    assert (entry["client"], entry["method"], entry["path"], entry["status"]) == (
        "127.0.0.1:5",
        "GET",
        "/x",
        404,
    )
    assert entry["message"] == "GET /x 404"
    assert entry["time"].endswith("+00:00")


def test_exceptions_are_kept_whole_on_one_line():
    try:
        raise RuntimeError("boum")
    except RuntimeError:
        line = JsonFormatter().format(record("maillage.web", "échec %s", ("x",), sys.exc_info()))
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "échec x"
    assert "RuntimeError: boum" in entry["exception"]


def test_log_format_is_text_json_or_refused():
    assert log_format({}) == "text"
    assert log_format({"MAILLAGE_LOG_FORMAT": "JSON"}) == "json"
    with pytest.raises(ValueError, match="MAILLAGE_LOG_FORMAT"):
        log_format({"MAILLAGE_LOG_FORMAT": "xml"})


def test_logging_config_uses_the_json_formatter():
    config = logging_config("json", "warning")
    assert config["formatters"]["default"]["()"] == "web.logs.JsonFormatter"
    assert config["loggers"]["uvicorn.access"]["level"] == "WARNING"
    assert "()" not in logging_config("text")["formatters"]["default"]
    # Applied for real by `maillage demo` in tests/web/test_cli.py (its stderr is JSON).
