"""Score reply trimming and bounce classification against the shared real-world corpora."""

from __future__ import annotations

import argparse
import csv
import email
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))  # so `python benchmarks/corpora.py` works from a plain checkout

from mailflow.inbound.classification import classify  # noqa: E402
from mailflow.inbound.parsing import parse_message  # noqa: E402
from mailflow.inbound.trimming import trim_reply  # noqa: E402

__all__ = [
    "BounceResult",
    "TrimResult",
    "bounce_results",
    "bounce_scores",
    "corpora_dir",
    "flufl_scores",
    "mail_parser_reply_trim",
    "trim_results",
    "trim_share",
]


@dataclass(frozen=True)
class TrimResult:
    name: str
    ok: bool
    got: str
    expected: str


@dataclass(frozen=True)
class BounceResult:
    name: str
    kind: str
    expected_kind: str
    permanent: bool | None
    expected_hard: bool
    status: str | None
    expected_status: str


def corpora_dir() -> Path | None:
    """Where the corpora live: $MAILFLOW_CORPORA, else shared/corpora beside the checkout."""
    configured = os.environ.get("MAILFLOW_CORPORA")
    path = Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "corpora"
    return path if path.is_dir() else None


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace").replace("\r\n", "\n")


def _comparable(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).rstrip()


def mail_parser_reply_trim(text: str) -> str:
    """The plain mail-parser-reply answer, as a point of comparison."""
    from mailparser_reply import EmailReplyParser

    return EmailReplyParser(languages=["en", "fr", "nl", "de"]).parse_reply(text) or ""


def trim_results(root: Path, trimmer: Callable[[str], str] = trim_reply) -> list[TrimResult]:
    replies = root / "replies"
    results = []
    for email_path in sorted((replies / "emails").glob("*.txt")):
        expected = _comparable(_read_text(replies / "trimmed" / email_path.name))
        got = _comparable(trimmer(_read_text(email_path)))
        results.append(TrimResult(email_path.name, got == expected, got, expected))
    return results


def trim_share(results: list[TrimResult]) -> float:
    return sum(r.ok for r in results) / len(results) if results else 0.0


def bounce_results(root: Path) -> list[BounceResult]:
    base = root / "bounces"
    return [_bounce_result(base / "eml" / row["file"], row) for row in _expected_rows(base)]


def _expected_rows(base: Path) -> list[dict[str, str]]:
    with (base / "expected.tsv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _bounce_result(path: Path, row: dict[str, str]) -> BounceResult:
    raw = path.read_bytes()
    # Bounces and auto-replies arrive with a null envelope sender; the corpus keeps it in Return-Path.
    found = classify(parse_message(raw), raw, envelope_from=_return_path(raw))
    bounce = found.bounce
    return BounceResult(
        name=path.name,
        kind=found.kind,
        expected_kind=row["kind"],
        permanent=bounce.permanent if bounce else None,
        expected_hard=row["hard"] == "1",
        status=bounce.status if bounce else None,
        expected_status=row["status"],
    )


def _return_path(raw: bytes) -> str | None:
    header = parse_message(raw).headers.get("return-path")
    if header is None:
        return None
    return header.strip().strip("<>").strip()


def bounce_scores(results: list[BounceResult]) -> dict[str, float]:
    bounces = [r for r in results if r.expected_kind == "bounce"]
    with_status = [r for r in bounces if r.expected_status]
    return {
        "kind": _share(results, lambda r: r.kind == r.expected_kind),
        "hard": _share(bounces, lambda r: bool(r.permanent) == r.expected_hard),
        "status_class": _share(with_status, lambda r: (r.status or "")[:1] == r.expected_status[:1]),
        "status_exact": _share(with_status, lambda r: r.status == r.expected_status),
    }


def flufl_scores(root: Path) -> dict[str, float]:
    """flufl.bounce on its own, as a point of comparison: detection and its permanent split."""
    from flufl.bounce import all_failures

    rows = _expected_rows(root / "bounces")
    detected = hard_ok = bounces = false_alarms = 0
    for row in rows:
        raw = (root / "bounces" / "eml" / row["file"]).read_bytes()
        permanent, temporary = all_failures(email.message_from_bytes(raw))
        found = bool(permanent or temporary)
        if row["kind"] != "bounce":
            false_alarms += found
            continue
        bounces += 1
        detected += found
        hard_ok += found and bool(permanent) == (row["hard"] == "1")
    others = len(rows) - bounces
    return {"detected": detected / bounces, "hard": hard_ok / bounces, "false_alarms": false_alarms / max(1, others)}


def _share(results: list[BounceResult], test: Callable[[BounceResult], bool]) -> float:
    return sum(1 for r in results if test(r)) / len(results) if results else 0.0


def _print_trimming(root: Path, verbose: bool) -> None:
    ours = trim_results(root)
    baseline = trim_results(root, mail_parser_reply_trim)
    print(f"trimming: {trim_share(ours):.1%} exact ({sum(r.ok for r in ours)}/{len(ours)})")
    matched = sum(r.ok for r in baseline)
    print(f"  mail-parser-reply alone: {trim_share(baseline):.1%} exact ({matched}/{len(baseline)})")
    for result in ours if verbose else []:
        if not result.ok:
            print(f"  FAIL {result.name}\n--- expected\n{result.expected}\n--- got\n{result.got}\n")


def _print_bounces(root: Path, verbose: bool) -> None:
    results = bounce_results(root)
    scores = bounce_scores(results)
    print(f"classification over {len(results)} messages: kind {scores['kind']:.1%}")
    print(f"  bounces: permanent/temporary {scores['hard']:.1%}, status class {scores['status_class']:.1%},"
          f" exact status {scores['status_exact']:.1%}")
    flufl = flufl_scores(root)
    print(f"  flufl.bounce alone: finds {flufl['detected']:.1%} of bounces, right permanent/temporary"
          f" {flufl['hard']:.1%}, fires on {flufl['false_alarms']:.1%} of the non-bounces")
    for r in results if verbose else []:
        wrong = [
            f"kind {r.kind}≠{r.expected_kind}" if r.kind != r.expected_kind else "",
            f"permanent {r.permanent}≠{r.expected_hard}"
            if r.expected_kind == "bounce" and bool(r.permanent) != r.expected_hard else "",
            f"status {r.status}≠{r.expected_status}" if r.expected_status and r.status != r.expected_status else "",
        ]
        if any(wrong):
            print(f"  {r.name}: " + "; ".join(w for w in wrong if w))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every failure")
    parser.add_argument("--only", choices=["trimming", "bounces"], help="run one half only")
    args = parser.parse_args(argv)
    root = corpora_dir()
    if root is None:
        print("corpora not found: set MAILFLOW_CORPORA", file=sys.stderr)
        return 2
    if args.only != "bounces":
        _print_trimming(root, args.verbose)
    if args.only != "trimming":
        _print_bounces(root, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
