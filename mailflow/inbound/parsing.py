"""Turn raw inbound bytes into a ParsedMessage without ever raising, whatever the sender got wrong."""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from html.parser import HTMLParser

__all__ = ["HeaderView", "ParsedMessage", "html_to_text", "parse_address", "parse_message"]

# Parsing a hostile message must stay bounded; real mail has a handful of parts.
_MAX_PARTS = 500
BULK_BYTES = 4 << 20  # smaller messages are read whole
BASE64_LINES_READ = 2_000  # about 150 kB of a 76-column body

# Deriving text from more HTML than this costs seconds and adds nothing a reader or a command needs.
_MAX_HTML_FOR_TEXT = 4_000_000

# Tried after the declared charset fails, because mislabelled mail usually comes from these.
_CHARSET_SIBLINGS: dict[str, tuple[str, ...]] = {
    "iso-2022-jp": ("cp932", "euc_jp"),
    "shift_jis": ("cp932",),
    "euc-jp": ("cp932",),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "ks_c_5601-1987": ("cp949",),
    "euc-kr": ("cp949",),
    "iso-8859-1": ("cp1252",),
    "us-ascii": ("cp1252",),
}
_LAST_RESORTS = ("utf-8", "cp1252", "latin-1")

_ADDRESS = re.compile(r"[^\s@<>()\[\]\",;:\\]+@[^\s@<>()\[\]\",;:\\]+")
_MSGID = re.compile(r"<([^<>\s]+)>")
_LINE_BREAKS = re.compile(r"\r\n?|\n")
_HEADER_BREAKS = re.compile(r"[\r\n\x00]+[ \t]*")


class HeaderView(Mapping[str, str]):
    """Read-only, case-insensitive view of decoded header values; the first occurrence wins."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = tuple(items)
        self._first: dict[str, str] = {}
        for name, value in self._items:
            self._first.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return self._first[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def get_all(self, name: str) -> list[str]:
        """Every value of a header, in message order (Received, for instance, repeats)."""
        wanted = name.lower()
        return [value for key, value in self._items if key.lower() == wanted]

    def items_in_order(self) -> list[tuple[str, str]]:
        """All (name, value) pairs as they appear in the message."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"HeaderView({len(self._items)} headers)"


@dataclass(frozen=True)
class ParsedMessage:
    """What mailflow needs from an inbound message, already decoded and cleaned."""

    message_id: str | None
    from_addr: str | None
    from_name: str | None
    subject: str
    date: datetime | None
    in_reply_to: str | None
    references: list[str]
    headers: HeaderView
    text: str
    html: str | None
    defects: list[str]
    to_addrs: list[str] = field(default_factory=list)
    # The MIME tree the fields above were read from, for readers that need its parts (delivery reports,
    # complaints): parsed once here, never again.
    mime: Message | None = field(default=None, repr=False, compare=False)


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse raw RFC 5322 bytes; every problem ends up in `defects`, never as an exception."""
    defects: list[str] = []
    data = without_bulk(_as_bytes(raw), defects)
    msg = _parse_tree(data, defects)
    if msg is None:
        return _empty_message(data, defects)
    headers = _read_headers(msg, defects)
    text, html, msg = _read_bodies_safely(data, msg, defects)
    _collect_mime_defects(msg, defects)
    return _build(headers, text, html, defects, msg)


def parse_address(value: object) -> str | None:
    """The first email address in a header-like value, lowercased, or None."""
    if not value:
        return None
    text = _single_line(_clean(str(value)))
    try:
        pairs = email.utils.getaddresses([text])
    except Exception:
        pairs = []
    for _, address in pairs:
        candidate = address.strip().strip("<>").lower()
        if _ADDRESS.fullmatch(candidate):
            return candidate
    found = _ADDRESS.search(text)
    return found.group(0).strip(".").lower() if found else None


def html_to_text(html: str) -> str:
    """Readable text from HTML, keeping line structure and marking blockquotes with '> '."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
        lines = extractor.finish()
    except Exception:  # HTMLParser is lenient, but a fallback costs nothing
        lines = re.sub(r"<[^>]*>", "\n", html).split("\n")
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


# The first lines of a run of base64 lines (at most 998 octets each, RFC 5322) longer than what is read of it,
# and the start of the first line that is not base64: the run's end. Neither repeats over a whole run, so
# finding a 20 MiB one costs no memory of its own.
_LONG_RUN = re.compile(rb"(?m)^(?:[A-Za-z0-9+/=]{4,998}\r?\n){%d}" % (BASE64_LINES_READ + 1))
_NOT_BASE64 = re.compile(rb"(?m)^(?![A-Za-z0-9+/=]{4,998}\r?\n)")


def without_bulk(data: bytes, defects: list[str]) -> bytes:
    """The message with every long run of base64 lines cut to its first BASE64_LINES_READ lines.

    Nothing mailflow reads (headers, text, a bounce's report, a returned message's headers) lies deep in
    an attachment, while parsing a 20 MiB one cost some 200 MB. The cut ends on a line boundary, so what
    is left still decodes; the stored message keeps every byte.
    """
    if len(data) <= BULK_BYTES:
        return data
    pieces, last = [], 0
    while run := _LONG_RUN.search(data, last):
        kept = data.rindex(b"\n", run.start(), run.end() - 1) + 1  # the run's first BASE64_LINES_READ lines
        pieces += [data[last:run.start()], data[run.start():kept]]
        last = _NOT_BASE64.search(data, run.end()).start()
    if not pieces:
        return data
    defects.append(f"{len(pieces) // 2} large base64 part(s) read from their beginning only")
    return b"".join([*pieces, data[last:]])


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, (bytearray, memoryview)):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _parse_tree(data: bytes, defects: list[str]) -> Message | None:
    for policy in (email.policy.default, email.policy.compat32):
        try:
            return email.message_from_bytes(data, policy=policy)
        except Exception as exc:
            defects.append(f"MIME parse failed with {policy.__class__.__name__}: {type(exc).__name__}")
    return None


def _empty_message(data: bytes, defects: list[str]) -> ParsedMessage:
    text = _normalize_text(_decode_bytes(data, None, defects))
    return _build(HeaderView([]), text, None, defects)


def _build(headers: HeaderView, text: str, html: str | None, defects: list[str],
           tree: Message | None = None) -> ParsedMessage:
    from_value = headers.get("from", "")
    return ParsedMessage(
        message_id=_first_msgid(headers.get("message-id")),
        from_addr=parse_address(from_value),
        from_name=_display_name(from_value),
        subject=headers.get("subject", ""),
        date=_parse_date(headers.get("date")),
        in_reply_to=_first_msgid(headers.get("in-reply-to")),
        references=_all_msgids(headers.get("references")),
        headers=headers,
        text=text,
        html=html,
        defects=list(dict.fromkeys(defects)),
        to_addrs=_addresses(headers.get_all("to") + headers.get_all("cc")),
        mime=tree,
    )


def _read_headers(msg: Message, defects: list[str]) -> HeaderView:
    try:
        raw_items = list(msg.raw_items())
    except Exception as exc:
        defects.append(f"headers unreadable: {type(exc).__name__}")
        raw_items = []
    return HeaderView([(_clean(name).strip(), _header_text(name, value, defects)) for name, value in raw_items])


def _header_text(name: str, raw_value: object, defects: list[str]) -> str:
    raw = raw_value if isinstance(raw_value, str) else str(raw_value)
    try:
        parsed = email.policy.default.header_fetch_parse(name, raw)
        defects.extend(f"{name}: {type(d).__name__}" for d in getattr(parsed, "defects", ()))
        text = _clean(str(parsed))
    except Exception as exc:
        defects.append(f"{name}: header decoding fell back ({type(exc).__name__})")
        text = "\ufffd"
    if "\ufffd" in text:
        # An unknown charset in an encoded word: our own fallback chain usually does better.
        fallback = _clean(_decode_words(raw, defects))
        text = fallback if "\ufffd" not in fallback or "=?" not in raw else text
    return _single_line(text)


def _decode_words(raw: str, defects: list[str]) -> str:
    """RFC 2047 decoding that tolerates unknown charsets instead of failing the whole header."""
    try:
        chunks = email.header.decode_header(raw)
    except Exception:
        return raw
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(_decode_bytes(chunk, charset, defects))
    return "".join(out)


def _read_bodies_safely(data: bytes, msg: Message, defects: list[str]) -> tuple[str, str | None, Message]:
    """Text and HTML bodies, and the tree they were read from (the legacy policy's when the default failed)."""
    try:
        return (*_read_bodies(msg, defects), msg)
    except Exception as exc:  # the modern policy chokes on some headers; the legacy one rarely does
        defects.append(f"body unreadable with the default policy: {type(exc).__name__}")
    legacy = msg
    try:
        legacy = email.message_from_bytes(data, policy=email.policy.compat32)
        return (*_read_bodies(legacy, defects), legacy)
    except Exception as exc:
        defects.append(f"body unreadable: {type(exc).__name__}")
        return "", None, legacy


def _read_bodies(msg: Message, defects: list[str]) -> tuple[str, str | None]:
    plain: str | None = None
    html: str | None = None
    for part in _body_parts(msg):
        kind = _content_type(part)
        if kind.startswith("multipart/"):
            kind = "text/plain"  # a multipart without usable boundary: its body is all we have
        if kind == "text/html" and html is None:
            html = _part_text(part, defects)
        elif kind.startswith("text/") and kind != "text/html" and plain is None:
            plain = _part_text(part, defects)
    if html is not None and not (plain or "").strip():
        if len(html) > _MAX_HTML_FOR_TEXT:
            defects.append("HTML too large: text derived from its beginning only")
        plain = html_to_text(html[:_MAX_HTML_FOR_TEXT])
    return _normalize_text(plain or ""), html


def _body_parts(msg: Message) -> Iterator[Message]:
    """Inline leaf parts, depth first, skipping attachments and embedded messages."""
    stack, seen = [msg], 0
    while stack and seen < _MAX_PARTS:
        part = stack.pop()
        seen += 1
        if part.get_content_maintype() == "message" or _is_attachment(part):
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
        else:
            yield part


def _is_attachment(part: Message) -> bool:
    try:
        return (part.get_content_disposition() or "") == "attachment"
    except Exception:
        return False


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _part_text(part: Message, defects: list[str]) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        defects.append(f"payload undecodable: {type(exc).__name__}")
        data = None
    if not isinstance(data, bytes):
        data = _clean(str(part.get_payload() or "")).encode("utf-8")
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return _decode_bytes(data, charset, defects)


def _decode_bytes(data: bytes, charset: str | None, defects: list[str]) -> str:
    declared = (charset or "").strip().lower() or None
    attempts = ((declared,) if declared else ()) + _CHARSET_SIBLINGS.get(declared or "", ()) + _LAST_RESORTS
    for attempt in attempts:
        try:
            text = data.decode(attempt)
        except LookupError:
            defects.append(f"unknown charset {attempt!r}")
        except (UnicodeDecodeError, ValueError):
            if attempt == declared:
                defects.append(f"body not decodable as declared charset {attempt!r}")
        else:
            return text
    return data.decode("latin-1")


def _collect_mime_defects(msg: Message, defects: list[str]) -> None:
    try:
        for count, part in enumerate(msg.walk()):
            if count > _MAX_PARTS:
                break
            defects.extend(type(d).__name__ for d in getattr(part, "defects", ()))
    except Exception as exc:
        defects.append(f"MIME tree unreadable: {type(exc).__name__}")


def _clean(text: str) -> str:
    """Recover raw 8-bit bytes smuggled as surrogates and drop NULs, which databases refuse."""
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raw = text.encode("utf-8", "surrogateescape") if _escapable(text) else text.encode("utf-8", "replace")
        text = _decode_bytes(raw, None, [])
    return text.replace("\x00", "")


def _escapable(text: str) -> bool:
    return all(not ("\ud800" <= ch <= "\udfff") or "\udc80" <= ch <= "\udcff" for ch in text)


def _normalize_text(text: str) -> str:
    return _LINE_BREAKS.sub("\n", _clean(text))


def _single_line(text: str) -> str:
    # Header values end up in answers and logs: a smuggled line break must never survive.
    return _HEADER_BREAKS.sub(" ", text).strip()


def _first_msgid(value: str | None) -> str | None:
    ids = _all_msgids(value)
    if ids:
        return ids[0]
    token = (value or "").strip().strip("<>").strip()
    return token.split()[0] if token else None


def _all_msgids(value: str | None) -> list[str]:
    return list(dict.fromkeys(_MSGID.findall(value or "")))


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except Exception:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _display_name(value: str) -> str | None:
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:
        return None
    name = pairs[0][0].strip() if pairs else ""
    return name or None


def _addresses(values: list[str]) -> list[str]:
    found: list[str] = []
    for value in values:
        try:
            pairs = email.utils.getaddresses([value])
        except Exception:
            pairs = []
        found.extend(a for a in (parse_address(addr) for _, addr in pairs) if a)
    return list(dict.fromkeys(found))


class _TextExtractor(HTMLParser):
    """Collects visible text line by line; blockquote depth becomes a '> ' prefix per line."""

    _BLOCKS = frozenset(
        "address article aside blockquote center dd div dl dt fieldset figure footer form h1 h2 h3 h4 h5 h6 "
        "header hr li main nav ol p pre section table tbody thead tfoot tr ul".split()
    )
    _HIDDEN = frozenset({"script", "style", "head", "title", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._lines: list[str] = []
        self._pieces: list[str] = []
        self._quote = 0
        self._line_quote = 0
        self._hidden = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self._break(force=True)
        elif tag in self._BLOCKS:
            self._break()
            self._open_block(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self._break()
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre:
            for number, chunk in enumerate(data.split("\n")):
                if number:
                    self._break(force=True)
                self._add(chunk)
            return
        self._add(re.sub(r"[\s\u00a0]+", " ", data))

    def finish(self) -> list[str]:
        self._break()
        return self._lines

    def _open_block(self, tag: str) -> None:
        if tag == "blockquote":
            self._quote += 1
        elif tag == "pre":
            self._pre += 1
        elif tag == "hr":
            # Outlook's plain-text rendering of a rule; the trimmer treats it as a separator.
            self._lines.append(self._prefix(self._quote) + "_" * 32)
        elif tag == "li":
            self._add("- ")

    def _add(self, chunk: str) -> None:
        if not chunk:
            return
        if not self._pieces:
            self._line_quote = self._quote
        self._pieces.append(chunk)

    def _break(self, force: bool = False) -> None:
        line = "".join(self._pieces)
        line = line if self._pre else line.strip()
        if line or force:
            depth = self._line_quote if self._pieces else self._quote
            self._lines.append((self._prefix(depth) + line).rstrip())
        self._pieces = []

    @staticmethod
    def _prefix(depth: int) -> str:
        return "> " * depth
