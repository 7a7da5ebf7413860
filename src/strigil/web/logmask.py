"""Keep patient-link tokens out of every log line.

Why: a patient link's path is its key (``/p/<token>``). Access logs and error logs print
request paths, and anyone who can read a log could otherwise open a patient's form.
"""

from __future__ import annotations

import logging
import re

_LINK = re.compile(r"/p/[^/?\s\"']+")
MASK = "/p/[link]"
LOGGERS = ("uvicorn.access", "uvicorn.error", "strigil.web")


def mask(text: str) -> str:
    """``text`` with every patient-link token replaced."""
    return _LINK.sub(MASK, text)


class MaskPatientLinks(logging.Filter):
    """Rewrites a record's message and arguments before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Attach the filter once to each logger that may print a request path."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskPatientLinks) for f in logger.filters):
            logger.addFilter(MaskPatientLinks())
