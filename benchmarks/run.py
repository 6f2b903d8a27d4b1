"""Runs the benchmarks, each in a fresh process, and prints one line per figure: figure, baseline, ratio, target."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import subprocess
import sys
import time

NAMES = ("latency", "inbound_smtp", "delivery", "digest_fanout", "viewer_query", "inbound_process")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes; finishes in under a minute")
    parser.add_argument("--here", action="store_true", help="run in this process (what each fresh process does)")
    parser.add_argument("names", nargs="*", choices=[*NAMES, []], help="run only these")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    failed = [name for name in args.names or NAMES if not (_here if args.here else _isolated)(name, args.quick)]
    if not args.here:
        print(f"total {time.perf_counter() - started:.1f}s ({'quick' if args.quick else 'full'})"
              + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


def _isolated(name: str, quick: bool) -> bool:
    """One benchmark in a fresh interpreter (no heap, threads or caches left by the one before), once the
    previous one's writes are on disk, so that they do not slow this one's commits and not its baseline."""
    os.sync()
    command = [sys.executable, "-m", "benchmarks", "--here", name, *(["--quick"] if quick else [])]
    started = time.perf_counter()
    done = subprocess.run(command, check=False)
    outcome = f"FAILED (exit {done.returncode})" if done.returncode else "done"
    print(f"  ({name} {outcome} in {time.perf_counter() - started:.0f} s)", flush=True)
    return done.returncode == 0


def _here(name: str, quick: bool) -> bool:
    module = importlib.import_module(f"benchmarks.{name}")
    for result in module.run(quick):
        print(result.line(), flush=True)
    return True
