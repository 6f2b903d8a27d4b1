"""Security test helpers: hostile values, checks that HTML stays inert and mail headers stay exact,
a snapshot of every table to prove a refused request changed nothing, and the app's routes."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser

from starlette.applications import Starlette
from starlette.routing import Route

from mailflow.accounts import Person
from mailflow.models import ALL_MODELS
from mailflow.runtime import Runtime
from mailflow.web.app import create_app
from tests.support.web import BASE, TestClient

SCRIPT = '<script>alert("xss")</script>'
BREAKOUT = '"><img src=x onerror=alert(1)>'
JINJA = "{{7*7}}"
JS_URL = "javascript:alert(1)"
# Every way a value could end one header line and start another: CR, LF, NEL (U+0085), LINE SEPARATOR (U+2028).
BREAKS = "\r\nBcc: mallory@evil.example\nX-Injected: lf\u2028X-Injected: ls\x85X-Injected: nel"
PAUL = Person("paul@clinic.example", "Paul", "Renard", "en")  # primary contact of another issuer's number

BASE_HEADERS = frozenset({"From", "To", "Reply-To", "Subject", "Date", "Message-ID", "Auto-Submitted",
                          "MIME-Version", "Content-Type", "Content-Language", "DKIM-Signature"})
THREADED = BASE_HEADERS | {"In-Reply-To", "References"}
UNSUBSCRIBE = BASE_HEADERS | {"List-Unsubscribe", "List-Unsubscribe-Post"}
_HEADER_LINE = re.compile(rb"^(?:[A-Za-z][A-Za-z0-9-]*: |[ \t])")


def web_client(app: Starlette | Runtime, ip: str = "198.51.100.7", base_url: str = BASE) -> TestClient:
    """A browser at `ip` (the address rate limits count by), never following redirects.

    Pass one app to many clients: each app compiles its page templates on first use."""
    app = create_app(app) if isinstance(app, Runtime) else app
    return TestClient(app, base_url=base_url, follow_redirects=False, client=(ip, 40000),
                      headers={"accept-language": "en"})


class _Scan(HTMLParser):
    """Everything in a page that could run: script elements without src, on* handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and "src" not in names:
            self.live.append(f"inline <script> {attrs}")
        self.text += [value for _, value in attrs if value]  # what a field shows is text too
        for name, value in attrs:
            if name.startswith("on"):
                self.live.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.live.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert(html: str, *shown: str) -> None:
    """Nothing in `html` runs, and each of `shown` is there as text or a field's value (so it was rendered)."""
    scan = _Scan()
    scan.feed(html)
    scan.close()
    assert scan.live == [], f"active content in the page: {scan.live}"
    text = "".join(scan.text)
    for value in shown:
        assert value in text, f"{value!r} not shown as text"


def parsed(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)


def header_names(raw: bytes) -> set[str]:
    """The header fields of a raw mail, read line by line: a smuggled line shows up as a name of its own."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    assert all(_HEADER_LINE.match(line) for line in lines), [l for l in lines if not _HEADER_LINE.match(l)]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    return {line.split(b":", 1)[0].decode() for line in lines if not line[:1].isspace()}


def assert_exact_headers(raw: bytes, expected: frozenset[str], to: str) -> EmailMessage:
    """The mail has exactly `expected` headers, one recipient, and no header value holds a line break."""
    assert header_names(raw) == set(expected)
    msg = parsed(raw)
    assert [a.addr_spec for a in msg["To"].addresses] == [to]
    assert len(msg["From"].addresses) == 1 and len(msg["Reply-To"].addresses) == 1
    for name, value in msg.items():
        assert not any(ch in str(value) for ch in "\r\n\x85\u2028\u2029"), (name, value)
    for part in msg.walk():
        for name in part.keys():
            assert not name.lower().startswith(("bcc", "x-injected")), name
    return msg


def html_part(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()


def text_part(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


def _row(values: tuple) -> tuple:
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in values)


def snapshot() -> dict[str, list[str]]:
    """Every row of every table, to compare before and after a request that must change nothing."""
    return {m._meta.table_name: sorted(repr(_row(r)) for r in m.select().tuples()) for m in ALL_MODELS}


def routes(rt: Runtime) -> list[tuple[str, str]]:
    """(method, path template) of every page and API route the app serves, HEAD aside."""
    found = []
    for route in create_app(rt).routes:
        if isinstance(route, Route):
            found += [(method, route.path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found
