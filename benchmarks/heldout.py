"""Public mail that is not in ../shared/corpora, read in place from fetched repositories, and the folds rule."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FOLDS", "TUNE_FOLDS", "Expected", "ReplyCase", "SourceTree", "bounce_cases", "fold", "part", "reply_cases",
    "sources",
]

# Every file name falls in one of FOLDS folds by a fixed hash. Rules may be written from (and failures
# looked at in) the TUNE_FOLDS only; the other folds are measured, never read.
FOLDS = 5
TUNE_FOLDS = frozenset({0, 1, 2})

# Environment variables naming fetched repositories (a checkout, or a bare git directory read at HEAD):
#   MAILFLOW_SISIMAI_EMAILS    sisimai/set-of-emails (maildir/bsd/*.eml)
#   MAILFLOW_SISIMAI_EXPECTED  sisimai/go-sisimai and/or sisimai/p5-sisimai, separated by os.pathsep
#   MAILFLOW_REPLY_FIXTURES    discourse/email_reply_trimmer and/or crisp-oss/email-reply-parser, os.pathsep
# Nothing is copied into the project: absent repositories mean the held-out figures are skipped.


def fold(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % FOLDS


def part(name: str) -> str:
    """"tune" for names rules may be written from, "check" for the ones only measured."""
    return "tune" if fold(name) in TUNE_FOLDS else "check"


class SourceTree:
    """Files of a fetched repository: a plain directory, or a git directory read at HEAD (it has no work tree)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.is_git = (path / "HEAD").is_file() and (path / "objects").is_dir()

    def names(self, folder: str) -> list[str]:
        if not self.is_git:
            return sorted(p.name for p in (self.path / folder).glob("*") if p.is_file())
        listed = self._git("ls-tree", "--name-only", f"HEAD:{folder}")
        return sorted(listed.decode().split("\n")[:-1]) if listed is not None else []

    def read(self, path: str) -> bytes | None:
        if not self.is_git:
            file = self.path / path
            return file.read_bytes() if file.is_file() else None
        return self._git("show", f"HEAD:{path}")

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        """Many files at once: one `git cat-file --batch` instead of a process per file."""
        if not self.is_git:
            return {p: data for p in paths if (data := self.read(p)) is not None}
        query = "".join(f"HEAD:{p}\n" for p in paths).encode()
        out = subprocess.run(["git", "--git-dir", str(self.path), "cat-file", "--batch"], input=query,
                             capture_output=True, check=True).stdout
        return dict(_batch_objects(paths, out))

    def _git(self, *args: str) -> bytes | None:
        done = subprocess.run(["git", "--git-dir", str(self.path), *args], capture_output=True)
        return done.stdout if done.returncode == 0 else None


def _batch_objects(paths: list[str], out: bytes) -> Iterator[tuple[str, bytes]]:
    at = 0
    for path in paths:
        header_end = out.index(b"\n", at)
        header = out[at:header_end].split()
        if header[-1] == b"missing":
            at = header_end + 1
            continue
        size = int(header[2])
        yield path, out[header_end + 1 : header_end + 1 + size]
        at = header_end + 1 + size + 1


def sources(variable: str) -> list[SourceTree]:
    """The existing repositories an environment variable names."""
    paths = [Path(p) for p in os.environ.get(variable, "").split(os.pathsep) if p]
    return [SourceTree(p) for p in paths if p.is_dir()]


# --- bounces: sisimai's public set, with sisimai's own test expectations ---------------------------


@dataclass(frozen=True)
class Expected:
    """One recipient's expected result, as sisimai's tests state it."""

    status: str
    reply_code: str
    reason: str
    hard: bool

    @property
    def kind(self) -> str:
        return {"feedback": "complaint", "vacation": "auto_reply"}.get(self.reason, "bounce")


def bounce_cases(exclude: set[str]) -> list[tuple[str, bytes, Expected]]:
    """(file, raw, expected) for set-of-emails' maildir/bsd files not in `exclude` whose expectation is unambiguous.

    As in ../shared/corpora, a message whose recipients expect different results is left out.
    """
    emails, expected = sources("MAILFLOW_SISIMAI_EMAILS"), _sisimai_expectations()
    if not emails or not expected:
        return []
    wanted = [n for n in emails[0].names("maildir/bsd") if n.endswith(".eml") and n not in exclude]
    single = {n: rows[0] for n in wanted if (rows := expected.get(n)) and len(set(rows)) == 1}
    raws = emails[0].read_many([f"maildir/bsd/{n}" for n in single])
    return [(n, raws[f"maildir/bsd/{n}"], single[n]) for n in sorted(single) if f"maildir/bsd/{n}" in raws]


def _sisimai_expectations() -> dict[str, list[Expected]]:
    """File name → expectations; the first repository in MAILFLOW_SISIMAI_EXPECTED that states one wins."""
    found: dict[str, list[Expected]] = {}
    for tree in sources("MAILFLOW_SISIMAI_EXPECTED"):
        for name, rows in {**_go_expectations(tree), **_perl_expectations(tree)}.items():
            found.setdefault(name, rows)
    return found


_GO_BLOCK = re.compile(r"publiclist := \[\]\[\]IsExpected\{(.*?)\};\s*EngineTest\(t,\s*\"(\w+)\"", re.S)
_GO_ROW = re.compile(r'\{"(\d+)",\s*\d+,\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)",\s*(true|false)')
_PERL_ENGINE = re.compile(r"my \$enginename = '(\w+)'")
_PERL_ENTRY = re.compile(r"'(\d+)'\s*=>\s*\[(.*?)\]\],?\s*(?=\n\s*'|\Z)", re.S)
_PERL_ROW = re.compile(r"\['([^']*)',\s*'([^']*)',\s*'([^']*)',\s*(\d)")


def _file_name(test_file: str, engine: str, label: str) -> str:
    """`lhost-postfix-01.eml`, `rhost-google-01.eml`, `rfc3464-01.eml`: the set-of-emails naming."""
    generic = engine.upper() in ("ARF", "RFC3464", "RFC3834")
    prefix = "" if generic else ("rhost-" if "-rhost-" in test_file else "lhost-")
    return f"{prefix}{engine.lower()}-{int(label):02d}.eml"


def _go_expectations(tree: SourceTree) -> dict[str, list[Expected]]:
    names = [n for n in tree.names("fact") if n.endswith("_test.go")]
    found: dict[str, list[Expected]] = {}
    for test_file, text in tree.read_many([f"fact/{n}" for n in names]).items():
        for block, engine in _GO_BLOCK.findall(text.decode("utf-8", "replace")):
            for label, status, code, reason, hard in _GO_ROW.findall(block):
                found.setdefault(_file_name(test_file, engine, label), []).append(
                    Expected(status, code, reason, hard == "true"))
    return found


def _perl_expectations(tree: SourceTree) -> dict[str, list[Expected]]:
    names = [n for n in tree.names("t") if n.endswith(".t")]
    found: dict[str, list[Expected]] = {}
    for test_file, data in tree.read_many([f"t/{n}" for n in names]).items():
        text = data.decode("utf-8", "replace")
        engine = _PERL_ENGINE.search(text)
        if engine is None or "my $isexpected = {" not in text:
            continue
        table = text.split("my $isexpected = {", 1)[1].split("\n};", 1)[0]
        for label, rows in _PERL_ENTRY.findall(table):
            found[_file_name(test_file, engine.group(1), label)] = [
                Expected(s, c, r, h == "1") for s, c, r, h in _PERL_ROW.findall(rows)]
    return found


# --- replies: other reply trimmers' fixtures with exact expectations -------------------------------


@dataclass(frozen=True)
class ReplyCase:
    source: str  # "discourse" | "crisp"
    name: str
    text: str
    expected: str


def reply_cases(exclude: set[str]) -> list[ReplyCase]:
    """Fixtures of discourse/email_reply_trimmer not in `exclude`, and crisp-oss/email-reply-parser's exact ones."""
    cases: list[ReplyCase] = []
    for tree in sources("MAILFLOW_REPLY_FIXTURES"):
        cases += _discourse_cases(tree, exclude) or _crisp_cases(tree)
    return cases


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").replace("\r\n", "\n")


def _discourse_cases(tree: SourceTree, exclude: set[str]) -> list[ReplyCase]:
    names = [n for n in tree.names("test/emails") if n.endswith(".txt") and n not in exclude]
    emails = tree.read_many([f"test/emails/{n}" for n in names])
    trimmed = tree.read_many([f"test/trimmed/{n}" for n in names])
    return [ReplyCase("discourse", n, _text(emails[f"test/emails/{n}"]), _text(trimmed[f"test/trimmed/{n}"]))
            for n in names if f"test/emails/{n}" in emails and f"test/trimmed/{n}" in trimmed]


# crisp's tests compare the first fragment (the rest being quotes and signatures, hidden) or the visible
# text with a literal or with one shared paragraph; only those exact comparisons are expectations here.
_CRISP_TEST = re.compile(r"export function (\w+)\(test\)\s*\{(.*?)\n\}", re.S)
_CRISP_FIXTURE = re.compile(r'get_email\("([^"]+)"\)')
_CRISP_EXACT = re.compile(
    r"test\.equal\((COMMON_FIRST_FRAGMENT|\"(?:[^\"\\]|\\.)*\"),\s*"
    r"(?:fragments\[0\]\.toString\(\)(?:\.trim\(\))?|email\.getVisibleText\(\)(?:\.trim\(\))?|text)\)")
_CRISP_COMMON = re.compile(r"const COMMON_FIRST_FRAGMENT = '(.*?)';", re.S)


def _crisp_cases(tree: SourceTree) -> list[ReplyCase]:
    source = tree.read("test/test.js")
    if source is None:
        return []
    text = source.decode("utf-8", "replace")
    common = _CRISP_COMMON.search(text)
    shared = common.group(1).replace("\\n\\\n", "\n") if common else ""
    cases = [case for name, body in _CRISP_TEST.findall(text) if (case := _crisp_case(tree, body, shared))]
    return list({c.name: c for c in cases}.values())


def _crisp_case(tree: SourceTree, body: str, shared: str) -> ReplyCase | None:
    fixture, exact = _CRISP_FIXTURE.search(body), _CRISP_EXACT.search(body)
    if fixture is None or exact is None or len(_CRISP_FIXTURE.findall(body)) != 1:
        return None
    data = tree.read(f"test/fixtures/{fixture.group(1)}.txt")
    literal = exact.group(1)
    expected = shared if literal == "COMMON_FIRST_FRAGMENT" else json.loads(literal)
    return ReplyCase("crisp", fixture.group(1) + ".txt", _text(data), expected) if data is not None else None
