"""Structured logging: one JSON object per line, with the `extra` fields a call passes."""

from __future__ import annotations

import json
import logging
import sys

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """Idempotent: give the `pulse` loggers one JSON handler on stderr.

    Call it after `Chalice(app_name="pulse")`: Chalice configures the logger named after the app
    (a plain stdout handler, level ERROR), which would drop INFO lines and print errors twice."""
    logger = logging.getLogger("pulse")
    for handler in list(logger.handlers):
        plain_stdout = isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout
        if plain_stdout and not isinstance(handler.formatter, JsonFormatter):
            logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    json_handler = logging.StreamHandler(sys.stderr)
    json_handler.setFormatter(JsonFormatter())
    logger.addHandler(json_handler)
