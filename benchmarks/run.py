"""Runs the benchmarks in one process and prints one line each: figure, baseline, ratio, target."""

from __future__ import annotations

import argparse
import importlib
import logging
import time

NAMES = ("latency", "inbound_smtp", "delivery", "digest_fanout", "viewer_query", "inbound_process")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes; finishes in under a minute")
    parser.add_argument("names", nargs="*", choices=[*NAMES, []], help="run only these")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    for name in args.names or NAMES:
        _run_one(name, args.quick)
    print(f"total {time.perf_counter() - started:.1f}s ({'quick' if args.quick else 'full'})")


def _run_one(name: str, quick: bool) -> None:
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError:
        print(f"{name:<28} not available")
        return
    for result in module.run(quick):
        print(result.line(), flush=True)
