"""The one logging configuration every voxbank process uses: ``configure_logging(settings, process)``.

Log messages are static text; what varies goes in ``extra=`` fields, and whatever may identify a
participant (transcript text, an LLM reply quoting them) goes under ``extra={"personal": {...}}``.
``PersonalDataFilter`` removes that field from every record before any handler sees it, unless
``VOXBANK_LOG_PERSONAL_DATA`` allows it (for a study team reading its own data on its own machine).

Format: JSON lines (python-json-logger) in production or when ``VOXBANK_LOG_FORMAT=json``, one
object per record with the time, level, logger, process kind, message and every ``extra`` field;
plain text for a person at a terminal otherwise.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from voxbank.settings import Settings

PERSONAL = "personal"
"""The ``extra`` key under which personal data is logged (see STYLE.md, rule 8)."""

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}
_HANDLER_NAME = "voxbank"


class PersonalDataFilter(logging.Filter):
    """Drops the ``personal`` field of every record (or keeps it, when ``keep`` is true)."""

    def __init__(self, *, keep: bool = False) -> None:
        super().__init__()
        self.keep = keep

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.keep and PERSONAL in record.__dict__:
            del record.__dict__[PERSONAL]
        return True


class ProcessKindFilter(logging.Filter):
    """Stamps each record with the kind of process that wrote it (web, worker, agent ...)."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def filter(self, record: logging.LogRecord) -> bool:
        record.process_kind = self.process
        record.__dict__.pop("color_message", None)  # uvicorn's copy of the message with terminal colours
        return True


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...``: the extra fields, readable at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {key: value for key, value in record.__dict__.items()
                  if key not in _STANDARD and key != "process_kind"}
        if fields:
            line += " " + " ".join(f"{key}={value!r}" for key, value in fields.items())
        return line


def json_formatter() -> logging.Formatter:
    """One JSON object per record: time (ISO, UTC), level, logger, process kind, message, extras."""
    formatter = JsonFormatter(
        "{asctime}{levelname}{name}{process_kind}{message}", style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "process_kind": "process"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )
    formatter.converter = time.gmtime  # logs in UTC, as every stored time
    return formatter


def uses_json(settings: Settings) -> bool:
    """Whether these settings ask for JSON logs (``auto``: in production)."""
    if settings.log_format == "auto":
        return settings.environment == "production"
    return settings.log_format == "json"


def configure_logging(settings: Settings, process: str, *, stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records through one handler on the root logger; returns that handler.

    Called first by every entry point (``process``: web, worker, beat, agent, cli). Calling it again
    replaces voxbank's handler rather than adding a second one. Libraries that bring their own
    handlers (uvicorn, Celery) are routed to the root logger so their lines get the same format.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(PersonalDataFilter(keep=settings.log_personal_data))
    handler.addFilter(ProcessKindFilter(process))
    handler.setFormatter(json_formatter() if uses_json(settings) else TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery", "livekit", "livekit.agents"):
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    return handler


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's ``log_config``: keep the configuration above instead of installing uvicorn's own."""
    return {"version": 1, "disable_existing_loggers": False}
