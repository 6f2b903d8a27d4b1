"""What every benchmark shares: a result line, a scratch runtime, a sink SMTP server, a timer."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from aiosmtpd.controller import Controller

from mailflow.config import Config, load_config
from mailflow.runtime import Runtime, open_runtime


@dataclass
class Result:
    name: str
    figure: float
    unit: str
    baseline: float
    target: str = ""
    extra: str = ""

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline if self.baseline else 0.0

    def line(self) -> str:
        return (f"{self.name:<28} {self.figure:>12,.1f} {self.unit:<10} baseline {self.baseline:>12,.1f}  "
                f"ratio {self.ratio:5.2f}  target {self.target:<8} {self.extra}").rstrip()


class Timer:
    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def scratch_config(folder: Path) -> Config:
    config = load_config(env={})
    config.database.url = os.environ.get("MAILFLOW_BENCH_DATABASE_URL") or f"sqlite:///{folder / 'bench.sqlite3'}"
    config.storage.pdf_dir = str(folder / "pdfs")
    config.outbound.maildir = str(folder / "maildir")
    config.security.secret_key = "benchmark"
    return config


@contextmanager
def scratch_runtime() -> Iterator[Runtime]:
    with tempfile.TemporaryDirectory(prefix="mailflow-bench-") as folder:
        rt = open_runtime(scratch_config(Path(folder)))
        try:
            yield rt
        finally:
            rt.close()


class SinkHandler:
    """Accepts everything; counts into a shared integer so the parent can check nothing was lost."""

    def __init__(self, counter) -> None:
        self.counter = counter

    async def handle_DATA(self, server, session, envelope):
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 OK"


def _serve_sink(port: int, counter, ready, stop) -> None:
    controller = Controller(SinkHandler(counter), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


@contextmanager
def sink_server(port: int) -> Iterator["multiprocessing.sharedctypes.Synchronized"]:
    """An aiosmtpd sink in its own process, so it never competes with the measured code for the GIL."""
    ctx = multiprocessing.get_context("spawn")
    counter, ready, stop = ctx.Value("i", 0), ctx.Event(), ctx.Event()
    process = ctx.Process(target=_serve_sink, args=(port, counter, ready, stop), daemon=True)
    process.start()
    ready.wait(30)
    try:
        yield counter
    finally:
        stop.set()
        process.join(10)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
