"""Log lines as text or as JSON (one object a line), secrets masked, the event's ids carried along."""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone

from mailflow.masking import masked

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# what every LogRecord has; anything else on a record came through `extra=` and is the event's own
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class TextFormatter(logging.Formatter):
    """The classic line, with passwords and configured secrets masked."""

    def __init__(self) -> None:
        super().__init__(TEXT)
        self._second: tuple[int, str] = (-1, "")  # the last second written, and its text

    def format(self, record: logging.LogRecord) -> str:
        return masked(super().format(record))

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """As logging writes it, with the date and time of a second made once, not once a line: a busy door
        logs a line per stored message, hundreds a second, and localtime and strftime were a tenth of each."""
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second, text = self._second
        if second != int(record.created):
            second = int(record.created)  # the whole second: localtime of it is that of every instant in it
            text = time.strftime(self.default_time_format, self.converter(second))
            self._second = (second, text)
        return self.default_msec_format % (text, record.msecs)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, event, message, then the event's fields (ids)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": _iso(record.created), "level": record.levelname.lower(), "logger": record.name,
                 "event": getattr(record, "event", "log"), "message": record.getMessage()}
        entry.update(fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)  # one string: the line stays one line
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return masked(json.dumps(entry, ensure_ascii=False, default=str))


def fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and k != "event"}


def _iso(created: float) -> str:
    return datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def formatter(kind: str) -> logging.Formatter:
    return JsonFormatter() if kind == "json" else TextFormatter()


class _Handler(logging.StreamHandler):
    """mailflow's own handler on the root logger, so its format can change once the configuration is read."""


def install(verbose: bool) -> None:
    """Log to stderr in text until the configuration says otherwise; left alone when logging is set up already
    (an embedding program, or a test runner capturing logs)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = _Handler(sys.stderr)
    handler.setFormatter(TextFormatter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Neither format shows a record's thread or process: not looking them up saves a tenth of each record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging.captureWarnings(True)  # a warning is a log line too: in JSON, one more object, not loose text
    # APScheduler says at INFO what mailflow's own scheduler lines say once ("scheduler started: …")
    logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)


def writes_json() -> bool:
    """Whether mailflow's own handler writes JSON lines (so a fatal error is one more of them)."""
    return any(isinstance(h, _Handler) and isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


def configure(kind: str, level: str, verbose: bool = False) -> None:
    """Apply `[logging] format` and `level` to the handler `install` made (-v still means debug)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, _Handler):
            handler.setFormatter(formatter(kind))
            root.setLevel(logging.DEBUG if verbose else level.upper())
