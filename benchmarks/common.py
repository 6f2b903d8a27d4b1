"""What every benchmark shares: a result line, a scratch database and runtime, `mailflow serve` as a process,
a sink SMTP server, a timer, CPU time read from /proc."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg2
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
        against = f"baseline {self.baseline:>12,.1f}  ratio {self.ratio:5.2f}" if self.baseline else " " * 34
        return (f"{self.name:<32} {self.figure:>10,.1f} {self.unit:<10} {against}  target {self.target:<8} "
                f"{self.extra}").rstrip()


class Timer:
    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("MAILFLOW_BENCH_DATABASE_URL", "")  # a PostgreSQL server to run on instead of SQLite


def database_url(folder: Path) -> str:
    """SQLite in `folder`, or on PostgreSQL a database of its own named after `folder` (every benchmark
    works in a folder of its own, so none sees another's rows: see `scratch_database`)."""
    if not PG_SERVER:
        return f"sqlite:///{folder / 'bench.sqlite3'}"
    name = "mailflow_bench_" + hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    return f"{PG_SERVER.rpartition('/')[0]}/{name}"


@contextmanager
def scratch_database(folder: Path) -> Iterator[str]:
    """The URL of a fresh database for `folder`, dropped afterwards (PostgreSQL; SQLite goes with the folder)."""
    url = database_url(folder)
    if PG_SERVER:
        _pg_admin(f'CREATE DATABASE "{url.rpartition("/")[2]}"')
    try:
        yield url
    finally:
        if PG_SERVER:
            _pg_admin(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


def _pg_admin(statement: str) -> None:
    conn = psycopg2.connect(PG_SERVER)
    conn.autocommit = True
    try:
        conn.cursor().execute(statement)
    finally:
        conn.close()


def scratch_config(folder: Path) -> Config:
    config = load_config(env={})
    config.database.url = database_url(folder)
    config.storage.pdf_dir = str(folder / "pdfs")
    config.outbound.maildir = str(folder / "maildir")
    config.dkim.key_dir = str(folder / "dkim")
    config.security.secret_key = "benchmark"
    return config


@contextmanager
def scratch_folder() -> Iterator[Path]:
    """A temporary folder with its own fresh database (see `database_url`)."""
    with tempfile.TemporaryDirectory(prefix="mailflow-bench-") as folder, scratch_database(Path(folder)):
        yield Path(folder)


@contextmanager
def scratch_runtime() -> Iterator[Runtime]:
    with scratch_folder() as folder:
        rt = open_runtime(scratch_config(folder))
        try:
            yield rt
        finally:
            rt.close()


@dataclass
class Sink:
    """What the sink process shares: how many mails it took, and when (time.monotonic(), the same clock in every
    process) it took the first and the last since `reset`."""

    count: "multiprocessing.sharedctypes.Synchronized"
    first: "multiprocessing.sharedctypes.Synchronized"
    last: "multiprocessing.sharedctypes.Synchronized"
    total: "multiprocessing.sharedctypes.Synchronized"

    def reset(self) -> None:
        with self.count.get_lock():
            self.count.value, self.first.value, self.last.value = 0, 0.0, 0.0

    def rate(self) -> float:
        """Mails per second from the first arrival to the last: what the sender kept up, whatever woke it."""
        return (self.count.value - 1) / (self.last.value - self.first.value)

    def wait_for(self, count: int, seconds: float = 300) -> None:
        deadline = time.monotonic() + seconds
        while self.count.value < count:
            assert time.monotonic() < deadline, f"the sink got {self.count.value} of {count} mails"
            time.sleep(0.005)


class SinkHandler:
    """Accepts everything and counts it, so the parent can check nothing was lost."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        now = time.monotonic()
        with self.sink.count.get_lock():
            self.sink.count.value += 1
            self.sink.total.value += 1
            self.sink.first.value = self.sink.first.value or now
            self.sink.last.value = now
        return "250 OK"


def _serve_sink(port: int, sink: Sink, ready, stop) -> None:
    controller = Controller(SinkHandler(sink), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


@contextmanager
def sink_server(port: int) -> Iterator[Sink]:
    """An aiosmtpd sink in its own process, so it never competes with the measured code for the GIL."""
    ctx = multiprocessing.get_context("spawn")
    count = ctx.Value("i", 0)
    sink = Sink(count, ctx.Value("d", 0.0, lock=False), ctx.Value("d", 0.0, lock=False), ctx.Value("i", 0, lock=False))
    ready, stop = ctx.Event(), ctx.Event()
    process = ctx.Process(target=_serve_sink, args=(port, sink, ready, stop), daemon=True)
    process.start()
    assert ready.wait(30), "the sink did not start"
    try:
        yield sink
    finally:
        stop.set()
        process.join(10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process (all its threads) has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_env(folder: Path, **settings: object) -> dict[str, str]:
    """The environment of a `mailflow serve` on `folder`'s scratch database (config.toml for the rest)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFLOW_")}
    env.update({"MAILFLOW_DATABASE_URL": database_url(folder), "MAILFLOW_STORAGE_PDF_DIR": str(folder / "pdfs"),
                "MAILFLOW_OUTBOUND_MAILDIR": str(folder / "maildir"), "MAILFLOW_DKIM_KEY_DIR": str(folder / "dkim"),
                "MAILFLOW_SECURITY_SECRET_KEY": "benchmark",
                "MAILFLOW_WEB_PORT": str(free_port()), "MAILFLOW_INBOUND_SMTP_PORT": str(free_port())})
    env.update({f"MAILFLOW_{key.upper()}": str(value) for key, value in settings.items()})
    return env


@dataclass
class Process:
    """A server started as its own process: its port and where its output goes."""

    popen: subprocess.Popen
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid


def mailflow(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a mailflow command to its end (`init`, `document add` …), failing loudly."""
    done = subprocess.run([sys.executable, "-m", "mailflow", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"mailflow {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}"
    return done


@contextmanager
def serve(folder: Path, roles: tuple[str, ...] = (), name: str = "serve", **settings: object) -> Iterator[Process]:
    """`mailflow serve` (all roles unless given) in its own process, as users run it, until the block ends;
    its log in `folder`. Yields once its inbound SMTP port answers."""
    env = serve_env(folder, **settings)
    args = [arg for role in roles for arg in ("--role", role)]
    port = int(env["MAILFLOW_INBOUND_SMTP_PORT"]) if not roles or "inbound" in roles else 0
    with started([sys.executable, "-m", "mailflow", "serve", *args], env, folder / f"{name}.log", port,
                 ready="mailflow serving roles") as process:
        yield process


@contextmanager
def started(command: list[str], env: dict[str, str] | None, log: Path, port: int,
            ready: str = "") -> Iterator[Process]:
    """A server process, once `port` (unless 0) takes connections and its output says `ready`; stopped with
    SIGTERM (then killed) afterwards."""
    with log.open("ab") as out:
        popen = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    process = Process(popen, port, log)
    try:
        _wait_listening(process, ready)
        yield process
    finally:
        popen.terminate()
        try:
            popen.wait(30)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(10)


def _wait_listening(process: Process, ready: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not (ready in process.log.read_text(errors="replace") and (not process.port or _listens(process.port))):
        assert process.popen.poll() is None, f"{process.log.name} exited: {process.log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"{process.log.name} did not start in {seconds} s"
        time.sleep(0.05)


def _listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False
