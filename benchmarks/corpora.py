"""Score reply trimming and bounce classification against the shared real-world corpora."""

from __future__ import annotations

import argparse
import csv
import email
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))  # so `python benchmarks/corpora.py` works from a plain checkout

from benchmarks import heldout  # noqa: E402
from benchmarks import replies  # noqa: E402  (requests read in the replies corpus of tests/corpus/replies)
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
    "heldout_bounce_results",
    "heldout_trim_results",
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
    source: str = "corpus"

    @property
    def part(self) -> str:
        return heldout.part(self.name)


# sisimai's `hard` is its reason word alone (userunknown, hostunknown, hasmoved; notaccept unless 4xx), whatever
# the code. mailflow's `permanent` means "the address is dead", and the labels for it are derived from
# sisimai's where the meanings differ:
# - a disabled mailbox (sisimai's `suspend`) is as gone as an unknown one; only a refusal for good (class 5)
#   counts: a 4xx "user unknown" is a server saying "try later" (Postfix's soft_bounce, a failed directory
#   lookup), which sisimai still calls hard;
# - sisimai files under `filtered` every "user unknown" whose report does not show that it came at RCPT TO (a
#   filter after DATA may say "user unknown" too); mailflow takes the server at its word unless the report
#   says the refusal came after DATA, or its code is X.2.x other than X.2.1, the disabled mailbox ("the
#   mailbox exists", RFC 3463). For those rows
#   the label follows the report's own words (_SAYS_UNKNOWN, deliberately short and not mailflow's rules).
# All three are printed: sisimai's hard, the mechanical meaning (reasons only) and the meaning with `filtered`
# read by the report's words; the last is what `permanent` is scored on.
_DEAD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved", "notaccept", "suspend"})
_SAYS_UNKNOWN = re.compile(r"user unknown|unknown user|no such user|invalid recipient|recipient not found|"
                           r"does not exist|(?:user|mailbox|recipient|account|address) not found|"
                           r"doesn't have an? \S+ account|no mailbox here", re.IGNORECASE)
_AFTER_DATA = re.compile(r"(?:after|in reply to) (?:end of )?data\b", re.IGNORECASE)


@dataclass(frozen=True)
class BounceResult:
    name: str
    kind: str
    expected_kind: str
    permanent: bool | None
    expected_hard: bool
    status: str | None
    expected_status: str
    expected_reason: str = ""
    rule: str | None = None
    status_class: str | None = None  # the reported code's class, else the one the report's action implies
    says_unknown: bool = False  # the report's own words say the user is unknown, not after DATA

    @property
    def reason_dead(self) -> bool:
        """The mechanical meaning label: sisimai's reason is about the address, refused for good."""
        return self.expected_reason in _DEAD_REASONS and self.expected_status.startswith("5")

    @property
    def expected_dead(self) -> bool:
        exists = self.expected_status.startswith(("5.2.", "4.")) and self.expected_status != "5.2.1"  # disabled
        filtered = self.expected_reason == "filtered" and not exists
        return self.reason_dead or (filtered and self.says_unknown)

    @property
    def part(self) -> str:
        return heldout.part(self.name)


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


def heldout_trim_results(trimmer: Callable[[str], str] = trim_reply) -> list[TrimResult]:
    """Other reply fixtures (see benchmarks/heldout.py), when MAILFLOW_REPLY_FIXTURES names them; else []."""
    root = corpora_dir()
    seen = {p.name for p in (root / "replies" / "emails").glob("*.txt")} if root else set()
    return [TrimResult(c.name, _comparable(trimmer(c.text)).strip() == _comparable(c.expected).strip(),
                       trimmer(c.text), c.expected, c.source) for c in heldout.reply_cases(seen)]


def trim_share(results: list[TrimResult]) -> float:
    return sum(r.ok for r in results) / len(results) if results else 0.0


def bounce_results(root: Path) -> list[BounceResult]:
    base = root / "bounces"
    return [_bounce_result(row["file"], (base / "eml" / row["file"]).read_bytes(), row["kind"], row["status"],
                           row["reason"], row["hard"] == "1") for row in _expected_rows(base)]


def heldout_bounce_results() -> list[BounceResult]:
    """sisimai's public mail not in the corpus (see benchmarks/heldout.py), when it is available; else []."""
    root = corpora_dir()
    seen = {p.name for p in (root / "bounces" / "eml").glob("*.eml")} if root else set()
    return [_bounce_result(name, raw, e.kind, e.status if e.kind == "bounce" else "", e.reason, e.hard)
            for name, raw, e in heldout.bounce_cases(seen)]


def _expected_rows(base: Path) -> list[dict[str, str]]:
    with (base / "expected.tsv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _bounce_result(name: str, raw: bytes, kind: str, status: str, reason: str, hard: bool) -> BounceResult:
    parsed = parse_message(raw)
    # Bounces and auto-replies arrive with a null envelope sender; the corpus keeps it in Return-Path.
    found = classify(parsed, envelope_from=_return_path(parsed.headers.get("return-path")))
    bounce = found.bounce
    return BounceResult(name, found.kind, kind, bounce.permanent if bounce else None, hard,
                        bounce.status if bounce else None, status, reason, bounce.rule if bounce else None,
                        bounce.status_class if bounce else None, _says_unknown(parsed.text, raw))


def _says_unknown(text: str, raw: bytes) -> bool:
    """The report's human-readable part or its Diagnostic-Code fields say "user unknown", not after DATA."""
    fields = re.findall(rb"^Diagnostic-Code:.*(?:\r?\n[ \t].*)*", raw, re.IGNORECASE | re.MULTILINE)
    words = " ".join([text[:20_000], *(f.decode("latin-1") for f in fields)])
    return bool(_SAYS_UNKNOWN.search(" ".join(words.split()))) and not _AFTER_DATA.search(words)


def _return_path(header: str | None) -> str | None:
    return None if header is None else header.strip().strip("<>").strip()


def bounce_scores(results: list[BounceResult]) -> dict[str, float]:
    bounces = [r for r in results if r.expected_kind == "bounce"]
    with_status = [r for r in bounces if r.expected_status]
    return {
        "kind": _share(results, lambda r: r.kind == r.expected_kind),
        "hard": _share(bounces, lambda r: bool(r.permanent) == r.expected_hard),
        "dead": _share(bounces, lambda r: bool(r.permanent) == r.expected_dead),
        "reason_dead": _share(bounces, lambda r: bool(r.permanent) == r.reason_dead),
        "status_class": _share(with_status, _class_ok),
        "status_exact": _share(with_status, lambda r: r.status == r.expected_status),
    }


def flufl_scores(root: Path) -> dict[str, float]:
    """flufl.bounce on its own, as a point of comparison: detection and its permanent split."""
    rows = _expected_rows(root / "bounces")
    found = [(row, _flufl_found(root / "bounces" / "eml" / row["file"])) for row in rows]
    bounces = [(row, f) for row, f in found if row["kind"] == "bounce"]
    others = [f for row, f in found if row["kind"] != "bounce"]
    detected = [(row, f) for row, f in bounces if f is not None]
    hard_ok = sum(1 for row, permanent in detected if permanent == (row["hard"] == "1"))
    return {"detected": len(detected) / len(bounces), "hard": hard_ok / len(bounces),
            "false_alarms": sum(f is not None for f in others) / max(1, len(others))}


def _flufl_found(path: Path) -> bool | None:
    """None when flufl.bounce finds no failure, else whether it files any as permanent."""
    from flufl.bounce import all_failures

    temporary, permanent = all_failures(email.message_from_bytes(path.read_bytes()))  # in that order
    return bool(permanent) if temporary or permanent else None


def _share(results: list[BounceResult], test: Callable[[BounceResult], bool]) -> float:
    return sum(1 for r in results if test(r)) / len(results) if results else 0.0


def _split(results: list, test: Callable) -> str:
    """The share on the folds rules may be written from, on the others, and fold by fold."""
    tune = [r for r in results if r.part == "tune"]
    check = [r for r in results if r.part == "check"]
    folds = " ".join(f"{f}:{_share([r for r in results if heldout.fold(r.name) == f], test):.0%}"
                     for f in range(heldout.FOLDS))
    return f"tune {_counted(tune, test)}, check {_counted(check, test)}; folds {folds}"


def _counted(results: list, test: Callable) -> str:
    return f"{_share(results, test):.1%} ({sum(1 for r in results if test(r))}/{len(results)})"


def _exact(r: TrimResult) -> bool:
    return r.ok


def _print_trimming(root: Path, verbose: bool, everything: bool) -> None:
    ours, baseline = trim_results(root), trim_results(root, mail_parser_reply_trim)
    print(f"trimming, exact: corpus {_counted(ours, _exact)} [{_split(ours, _exact)}]")
    held = heldout_trim_results()
    for source in sorted({r.source for r in held}):
        mine = [r for r in held if r.source == source]
        print(f"  held out, {source}: {_counted(mine, _exact)} [{_split(mine, _exact)}]")
    if not held:
        print("  held out: set MAILFLOW_REPLY_FIXTURES (see benchmarks/heldout.py)")
    print(f"  mail-parser-reply alone on the corpus: {_counted(baseline, _exact)}")
    for result in ours + held if verbose else []:
        if not result.ok and (everything or result.part == "tune"):
            print(f"  FAIL {result.source} {result.name}\n--- expected\n{result.expected}\n--- got\n{result.got}\n")


def _dead_ok(r: BounceResult) -> bool:
    return bool(r.permanent) == r.expected_dead


def _reason_ok(r: BounceResult) -> bool:
    return bool(r.permanent) == r.reason_dead


def _hard_ok(r: BounceResult) -> bool:
    return bool(r.permanent) == r.expected_hard


def _class_ok(r: BounceResult) -> bool:
    return (r.status_class or "") == r.expected_status[:1]


def _print_bounce_set(label: str, results: list[BounceResult]) -> None:
    bounces = [r for r in results if r.expected_kind == "bounce"]
    coded = [r for r in bounces if r.expected_status]
    scores = bounce_scores(results)
    print(f"  {label} ({len(results)} messages): kind {scores['kind']:.1%}, exact status {scores['status_exact']:.1%}")
    print(f"    permanent = address dead: {_counted(bounces, _dead_ok)} [{_split(bounces, _dead_ok)}]")
    print(f"      vs sisimai's reasons only: {_counted(bounces, _reason_ok)} [{_split(bounces, _reason_ok)}]")
    print(f"    permanent vs sisimai hard: {_counted(bounces, _hard_ok)} [{_split(bounces, _hard_ok)}]")
    print(f"    status class:              {_counted(coded, _class_ok)} [{_split(coded, _class_ok)}]")


def _print_rules(corpus: list[BounceResult], held: list[BounceResult]) -> None:
    """Each rule that decided permanence, and how often it was right where it was and was not written from."""
    bounces = [r for r in corpus + held if r.expected_kind == "bounce" and r.kind == "bounce"]
    print("  rules deciding permanence, dead right on: tune folds (both sets) | check folds: corpus | held out")
    for rule in sorted({r.rule or "-" for r in bounces}):
        mine = [r for r in bounces if (r.rule or "-") == rule]
        cells = [[r for r in mine if r.part == "tune"], [r for r in mine if r in corpus and r.part == "check"],
                 [r for r in mine if r in held and r.part == "check"]]
        print(f"    {rule[:56]:<56} " + " | ".join(f"{_share(c, _dead_ok):>4.0%} {len(c):>3}" if c else "   -    "
                                                  for c in cells))


def _print_bounces(root: Path, verbose: bool, everything: bool) -> None:
    results, held = bounce_results(root), heldout_bounce_results()
    print("classification:")
    _print_bounce_set("corpus", results)
    if held:
        _print_bounce_set("held out (sisimai/set-of-emails, not in the corpus)", held)
    else:
        print("  held out: set MAILFLOW_SISIMAI_EMAILS and MAILFLOW_SISIMAI_EXPECTED (see benchmarks/heldout.py)")
    _print_rules(results, held)
    flufl = flufl_scores(root)
    print(f"  flufl.bounce alone on the corpus: finds {flufl['detected']:.1%} of bounces, right permanent/temporary"
          f" (sisimai hard) {flufl['hard']:.1%}, fires on {flufl['false_alarms']:.1%} of the non-bounces")
    for r in results + held if verbose else []:
        if everything or r.part == "tune":
            _print_bounce_failure(r)


def _print_bounce_failure(r: BounceResult) -> None:
    wrong = [
        f"kind {r.kind}≠{r.expected_kind}" if r.kind != r.expected_kind else "",
        f"permanent {r.permanent}≠{r.expected_dead} ({r.expected_reason}, rule {r.rule})"
        if r.expected_kind == "bounce" and not _dead_ok(r) else "",
        f"status {r.status} (class {r.status_class})≠{r.expected_status}" if r.expected_status and not _class_ok(r)
        else "",
    ]
    if any(wrong):
        print(f"  {r.name}: " + "; ".join(w for w in wrong if w))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="list failures on the folds rules are tuned on")
    parser.add_argument("--all", action="store_true", help="with -v: list the measured-only folds' failures too")
    parser.add_argument("--only", choices=["trimming", "bounces", "requests"], help="run one part only")
    args = parser.parse_args(argv)
    if args.only == "requests":  # the replies corpus is in the repository: no shared corpora needed
        replies.print_requests(args.verbose)
        return 0
    root = corpora_dir()
    if root is None:
        print("corpora not found: set MAILFLOW_CORPORA", file=sys.stderr)
        return 2
    if args.only != "bounces":
        _print_trimming(root, args.verbose, args.all)
    if args.only != "trimming":
        _print_bounces(root, args.verbose, args.all)
    if args.only is None:
        replies.print_requests(args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
