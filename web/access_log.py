"""Access log lines without query strings: study links carry Prolific ids and screening answers.

Uvicorn's access logger formats ``(client, method, full path, http version, status)``; the filter
cuts the full path at its ``?`` before any handler sees it. It is installed on the
``uvicorn.access`` logger when the app starts (after uvicorn has configured its logging).
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


class StripQueryStrings(logging.Filter):
    """Removes the query string from an access log record's path (keeps the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def install() -> None:
    """Put the filter on uvicorn's access logger (once)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, StripQueryStrings) for existing in logger.filters):
        logger.addFilter(StripQueryStrings())
