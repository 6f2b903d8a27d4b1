"""Keep only what the sender just typed: drop quoted originals, client header blocks and signatures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

__all__ = ["LineKind", "classify_line", "trim_reply"]


class LineKind(str, Enum):
    EMPTY = "e"
    DELIMITER = "d"  # "-- ", "_____": whatever follows is a signature or the quoted original
    SIGNATURE = "s"  # one-line phone/app signatures ("Sent from my iPhone")
    MARKER = "b"  # attribution or forward banner that opens an embedded message
    HEADER = "h"  # a header line of an embedded message ("From: …", "Envoyé : …")
    QUOTE = "q"
    TEXT = "t"


# Attribution lines, by language, as (keyword, pattern): the cheap keyword test keeps long
# bodies fast, the pattern is then matched against one (possibly re-joined) line.
_WROTE = r"wrote|writes|said|says"
# Other languages' "wrote", for the fallback below. English, French, Dutch and German have their own rules:
# their participles ("geschreven", "geschrieben") also end ordinary sentences before a colon.
_ANY_WROTE = (r"escribió|escreveu|ha scritto|"
              r"scrisse|skrev|skriver|kirjoitti|napisał|napisała|napsal|napsala|napísal|napísala|írta|написал|"
              r"написала|пише|написа|έγραψε|yazdı|a scris|napisao|napisala|rašė|rakstīja|kirjutas|写道|寫道")
# A date or a time as clients write them in attributions (not an invoice number such as F2026-0042).
_DATE_OR_TIME = r"\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{1,2}\.? \w+\.? \d{4}\b"
_ATTRIBUTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        (_WROTE, r"(?:On|At)\s.+?\b(?:wrote|writes|said|says)\b"),
        ("writes", r"In message\s.+\bwrites\b"),
        ("wrote", r".+\bwrote\s+on\b.+:"),
        ("via", r".+\svia\s.+\b(?:wrote|schrieb)\b:?"),
        ("wrote", r".*[\w.+-]+@[\w-]+\.[\w.-]+.*\bwrote:?"),
        ("posted by", r"Posted by\s.+\son\s\d{1,2}/\d{1,2}/\d{4}"),
    ),
    "fr": (("écrit|a dit", r"Le\s.+?\b(?:a\s+écrit|nous\s+a\s+dit)"),),
    "nl": (("geschreven|schreef", r"Op\s.+?(?:het\s+volgende\s+geschreven|\bschreef\b[^:]*)"),),
    "de": (
        ("schrieb|geschrieben", r"Am\s.+?(?:\bgeschrieben\b|\bschrieb\b[^:]*)"),
        ("schrieb", r".+\bschrieb\s+am\b.+:"),
    ),
    "es": (("escribió", r"El\s.+?\bescribió"),),
    "pt": (("escreveu", r"Em\s.+?\bescreveu"),),
    "it": (("scritto", r"Il\s.+?\bha\s+scritto"),),
    "pl": (
        ("napisał", r"(?:Dnia|Dňa)\s.+?napisał(?:\(a\))?"),
        ("napisał", r".{0,80}?\d{4}.{1,80}napisał(?:\(a\))?:"),
    ),
    "nordic": (("skrev", r"(?:Den|den)\s.+\sskrev\b.*:"), ("skrev", r".{0,80}?\d{4}.{0,160}?\bskrev\b.*:")),
    "ru": (("написал|пише", r".{0,80}?\d{4}.{1,120}?(?:написал|пише)\w*:?"),),
    "zh": (("写道", r"在.+写道[:：]?"),),
    "dated": (
        ("@", r".{0,40}\d{4}.{1,80}<\s*[^@<>\s]+@[^@<>\s]+\s*>:?"),
        ("gmt", r"20\d\d-\d\d-\d\d \d\d?:\d\d GMT[+-]\d\d:\d\d [\w\s]+"),
    ),
    # Any client, another language: a line carrying a date or a time that ends with "<someone> wrote:"
    # ("In data 11 ottobre 2017 21:11 … ha scritto:", "pe 20. lokakuuta 2017 klo 17.50 … kirjoitti:").
    "any": ((_ANY_WROTE, r"(?=.*" + _DATE_OR_TIME + r").{4,260}?(?:" + _ANY_WROTE + r")(?:\(a\))?\s*[:：]"),),
}

# Banners that clients put above a forwarded or original message.
_BANNERS: tuple[str, ...] = (
    "forwarded message", "original message", "reply message", "forwarded e-?mail",
    "message d'origine", "message transféré", "message transfere", "message réexpédié",
    "oorspronkelijk bericht", "doorgestuurd bericht", "origineel bericht",
    "ursprüngliche nachricht", "weitergeleitete nachricht", "originalnachricht",
    "mensaje original", "mensaje reenviado", "mensagem original", "messaggio originale",
    "原始邮件", "转发邮件",
)
_BANNER_LINES: tuple[str, ...] = (
    r"Begin forwarded message:", r"Début du message (?:réexpédié|transféré)\s?:",
    r"Anfang der weitergeleiteten Nachricht:", r"Begin doorgestuurd bericht:",
)

# Header names of embedded messages, by language; "date-like" ones must carry a digit.
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "from": ("From", "De", "Expéditeur", "Van", "Afzender", "Von", "Absender", "Fra", "Från", "Da", "Lähettäjä",
             "Od", "Feladó", "Remitente", "发件人", "寄件者"),
    # French webmails (Orange, SFR, La Poste) open with "Message du : <date>".
    "date": ("Sent", "Date", "Envoyé", "Message du", "Verzonden", "Verstuurd", "Datum", "Gesendet", "Sendt",
             "Dato", "Skickat", "Lähetetty", "Päivämäärä", "Wysłano", "Odesláno", "Dátum", "Enviado",
             "Enviada em", "Fecha", "Inviato", "Data", "发送时间", "日期"),
    "other": ("To", "Cc", "Bcc", "Reply-To", "Subject", "À", "A", "Destinataire", "Répondre à", "Objet", "Sujet",
              "Copie à", "Aan", "Beantwoorden - Aan", "Onderwerp", "An", "Kopie", "Betreff", "Til", "Kopi", "Emne",
              "Till", "Kopia", "Ämne", "Vastaanottaja", "Kopio", "Aihe", "Do", "DW", "Temat", "Komu", "Předmět",
              "Címzett", "Tárgy", "Para", "Asunto", "Assunto", "Oggetto", "Risposta", "收件人", "抄送", "主题"),
}

# One-line signatures that phones and mail apps append.
_SIGNATURES: tuple[str, ...] = (
    r"[\(<]*Sent (?:from|via|with|by|using) .+",
    r"\w+ from mobile",
    r"From my (?:iPhone|iPad|Android|mobile|phone|smartphone|Samsung|Galaxy|BlackBerry)\b.*",
    r"Get Outlook for .+",
    r"Envoyé (?:de|depuis|à partir de) (?:mon|ma|Yahoo|Outlook|l'application).*",
    r"Télécharger Outlook pour .+",
    r"Obtenir Outlook pour .+",
    r"(?:Verzonden|Verstuurd) (?:vanaf|van|met|via) (?:mijn|Outlook|Yahoo|BlackBerry).*",
    r"Outlook voor .+ downloaden",
    r"Von meinem .+ gesendet.*",
    r"Gesendet (?:von|mit) (?:meinem|der|Outlook|Yahoo).*",
    r"Diese Nachricht wurde von .+ gesendet.*",
    r"Inviato da .+",
    r"Sendt fra min .+",
    r"Skickat från min .+",
    r"från min .+",
    r"Enviado (?:do|desde) (?:meu|mi) .+",
    r"從我的 iPhone 傳送",
)

# App signatures are short; a long line opening with "Sent by …" is somebody's sentence.
_MAX_SIGNATURE_LENGTH = 100

# Blanks, and what mail tools add to look empty: zero-width characters and Gmail trackers' "ᐧ" mark.
_INVISIBLE = " \t\u00a0\u200b\u200c\u200d\u2060\ufeff\u1427"
_DELIMITER = re.compile(r"[ \t]*[-_=+~#*—–•ᐧ]{2,}[ \t]*")
# ">" and Supercite's initials ("JD> "), which some clients and mailing lists use instead.
_QUOTE = re.compile(r"[ \t]*(?:[A-Z]{1,3})?>")
_FENCE = re.compile(r"[ \t]*(```|~~~)")
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")

_LEAD = r"^[\s*_-]*"
_TAIL = r"[\s.:>*_-]*$"
_ATTRIBUTION_RES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (re.compile(keyword, re.IGNORECASE), re.compile(_LEAD + "(?:" + pattern + ")" + _TAIL, re.IGNORECASE))
    for group in _ATTRIBUTIONS.values()
    for keyword, pattern in group
)
_BANNER_RE = re.compile(
    r"^[\s>*_]*(?:-{2,}\s*(?:" + "|".join(_BANNERS) + r")\s*-{2,}|(?:" + "|".join(_BANNER_LINES) + r"))[\s*_:]*",
    re.IGNORECASE,
)
_SIGNATURE_RE = re.compile(r"^[ \t]*(?:" + "|".join(_SIGNATURES) + r")[ \t]*$", re.IGNORECASE)


def _library_attributions() -> tuple[re.Pattern[str], ...]:
    """mail-parser-reply's attribution patterns for languages the table above does not cover."""
    try:
        from mailparser_reply.constants import MAIL_LANGUAGES
    except ImportError:
        return ()
    wanted = ("cs", "da", "ja", "ko", "sv")
    patterns = [MAIL_LANGUAGES.get(lang, {}).get("wrote_header") for lang in wanted]
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns if isinstance(p, str))


_LIBRARY_ATTRIBUTIONS = _library_attributions()


def _header_regex(names: tuple[str, ...], value: str) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(r"^[ \t*]*(?:" + alternatives + r")[ \t*]*[:：][ \t*]*" + value, re.IGNORECASE)


_FROM_HEADER = _header_regex(_HEADER_NAMES["from"], r".*\w")
_DATE_HEADER = _header_regex(_HEADER_NAMES["date"], r".*\d")
_OTHER_HEADER = _header_regex(_HEADER_NAMES["other"], r".*\w")

# Cheap pre-check before re-joining an attribution split over several lines.
_ATTRIBUTION_START = re.compile(
    r"^[\s*-]*(?:On|At|Le|Op|Am|El|Em|Il|Den|Dnia|Dňa|In message|\d{1,4}[\s./-]|\w+, \d)|@|schrieb|wrote|"
    + _DATE_OR_TIME,
    re.IGNORECASE,
)
_DATED = re.compile(_DATE_OR_TIME)
_MAX_JOINED = 3
_MAX_BLANKS_JOINED = 2  # Outlook on the web splits "On <date> <name>" and "<address> wrote:" by blank lines
# "-------- Oprindelig besked --------": a titled rule over an embedded header block, in any language.
_FRAMED_TITLE = re.compile(r"[ \t]*[-_=*~]{2,}[ \t]*\S.{0,60}?[ \t]*[-_=*~]{2,}[ \t]*")
# Nobody types more than this in a reply; the cap keeps a 20 MB body from costing a minute.
MAX_LINES = 5000  # a body is read this far, by the trimmer and by what looks below our mail
_MAX_JOINED_LENGTH = 300
_MAX_SALUTATION = 40


@dataclass
class _Lines:
    """Lines with their kinds, kept in step while rules remove some of them."""

    texts: list[str]
    kinds: list[LineKind]

    def keep(self, wanted: list[bool]) -> _Lines:
        pairs = [(t, k) for t, k, w in zip(self.texts, self.kinds, wanted) if w]
        return _Lines([t for t, _ in pairs], [k for _, k in pairs])

    def cut(self, end: int) -> _Lines:
        return _Lines(self.texts[:end], self.kinds[:end])


def trim_reply(text: str) -> str:
    """The part of a reply body the sender wrote, without quotes, embedded headers or signatures.

    Only the first 5,000 lines of a body are considered.
    """
    if not text or not text.strip():
        return ""
    lines = _tokenize(_join_attributions(_normalize(text).split("\n", MAX_LINES)[:MAX_LINES]))
    lines = _cut_at_signature(_cut_at_delimiter(lines))
    lines = _drop_embedded(lines)
    if LineKind.TEXT not in lines.kinds:
        return ""
    return _render(_drop_trailing_quotes(lines))


def classify_line(line: str) -> LineKind:
    """What a single line of a reply body is, out of context."""
    if not line.strip(_INVISIBLE):
        return LineKind.EMPTY
    if _QUOTE.match(line):
        return LineKind.QUOTE
    if _DELIMITER.fullmatch(line):
        return LineKind.DELIMITER
    if len(line) <= _MAX_SIGNATURE_LENGTH and _SIGNATURE_RE.match(_MARKDOWN_LINK.sub(r"\1", line)):
        return LineKind.SIGNATURE
    if _is_marker(line):
        return LineKind.MARKER
    if _FROM_HEADER.match(line) or _DATE_HEADER.match(line) or _OTHER_HEADER.match(line):
        return LineKind.HEADER
    return LineKind.TEXT


def _normalize(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _is_marker(line: str) -> bool:
    if len(line) > _MAX_JOINED_LENGTH:
        return False  # attributions are short; long lines are prose
    return bool(_BANNER_RE.match(line)) or _is_attribution(line)


def _is_attribution(line: str) -> bool:
    if any(keyword.search(line) and pattern.match(line) for keyword, pattern in _ATTRIBUTION_RES):
        return True
    return any(pattern.match(line.strip()) for pattern in _LIBRARY_ATTRIBUTIONS)


def _join_attributions(lines: list[str]) -> list[str]:
    """Clients wrap long attributions ("Le … <x@y>\\na écrit :"); put them back on one line."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        joined, used = _joined_attribution(lines, index)
        out.append(joined)
        index += used
    return out


def _joined_attribution(lines: list[str], index: int) -> tuple[str, int]:
    """The longest attribution starting at `index`, re-joined, and how many lines it took ("… <address>" is
    one already, "… <address> wrote:" the whole); blank lines are crossed only after a date or a time."""
    line = lines[index]
    if _QUOTE.match(line) or not _ATTRIBUTION_START.search(line) or _is_marker(line):
        return line, 1
    best = (line, 1)
    for joined, used in _joins(lines, index, _MAX_BLANKS_JOINED if _DATED.search(line) else 0):
        if _is_attribution(joined):
            best = joined, used
    return best


def _joins(lines: list[str], index: int, blanks: int) -> Iterator[tuple[str, int]]:
    """`lines[index]` joined with one, two… of the following lines, and how many lines each join spans."""
    joined, used = lines[index], 1
    for _ in range(_MAX_JOINED):
        while index + used < len(lines) and not lines[index + used].strip() and blanks:
            used, blanks = used + 1, blanks - 1
        if index + used >= len(lines) or not lines[index + used].strip():
            return
        joined = joined.rstrip() + " " + re.sub(r"^[\s>-]*", "", lines[index + used])
        used += 1
        if len(joined) > _MAX_JOINED_LENGTH:
            return
        yield joined, used


def _tokenize(texts: list[str]) -> _Lines:
    kinds: list[LineKind] = []
    in_code = False
    for line in texts:
        if _FENCE.match(line):
            in_code = not in_code
            kinds.append(LineKind.TEXT)
        elif in_code:
            # Code blocks are content: their "#" or "---" lines are not separators.
            kinds.append(LineKind.EMPTY if not line.strip() else LineKind.TEXT)
        else:
            kinds.append(classify_line(line))
    return _Lines(texts, kinds)


def _cut_at_delimiter(lines: _Lines) -> _Lines:
    for index, kind in enumerate(lines.kinds):
        if kind is LineKind.DELIMITER and not _rule_inside_reply(lines, index):
            return lines.cut(index)
    return lines


def _rule_inside_reply(lines: _Lines, index: int) -> bool:
    """A drawn rule ("_____") with more writing and then the quoted original below it.

    "-- " always opens a signature; other rules only end the reply when nothing the sender
    wrote follows before the embedded message.
    """
    if lines.texts[index].strip() in ("--", "-- "):
        return False
    rest = lines.kinds[index + 1 :]
    first_embedded = next((i for i, k in enumerate(rest) if k in (LineKind.MARKER, LineKind.HEADER)), None)
    return first_embedded is not None and LineKind.TEXT in rest[:first_embedded]


def _drop_embedded(lines: _Lines) -> _Lines:
    start = _first_embedded(lines)
    if start is None:
        return lines
    if LineKind.TEXT in lines.kinds[:start]:
        if _is_interleaved(lines.kinds[start:]) or _only_salutation(lines, start):
            return _remove_embedded_headers(lines)
        return lines.cut(start)
    # The message opens with the attribution: the sender wrote below or between the quotes.
    return _remove_embedded_headers(_drop_opening(lines, start))


def _first_embedded(lines: _Lines) -> int | None:
    for index, kind in enumerate(lines.kinds):
        if kind is LineKind.MARKER:
            return index
        if kind is LineKind.HEADER and _header_block_end(lines, index):
            return _titled_from(lines, index)
    return None


def _titled_from(lines: _Lines, index: int) -> int:
    """Where a header block begins, counting a titled rule right above it."""
    above = index - 1
    while above >= 0 and lines.kinds[above] is LineKind.EMPTY:
        above -= 1
    return above if above >= 0 and _FRAMED_TITLE.fullmatch(lines.texts[above]) else index


def _cut_at_signature(lines: _Lines) -> _Lines:
    """Phone and app signatures are dropped; one between writing and more text ends the reply there: what
    follows is the original the app appended without quoting it."""
    kinds = lines.kinds
    for index, kind in enumerate(kinds):
        if kind is LineKind.SIGNATURE and LineKind.TEXT in kinds[:index] and LineKind.TEXT in kinds[index + 1 :]:
            return lines.cut(index)
    return lines.keep([k is not LineKind.SIGNATURE for k in kinds])


def _header_block_end(lines: _Lines, start: int) -> int | None:
    """End of an embedded header block starting at `start`, if there is a real one there."""
    index, headers, has_origin = start, 0, False
    while index < len(lines.kinds):
        kind = lines.kinds[index]
        if kind is LineKind.HEADER:
            headers += 1
            has_origin = has_origin or _is_origin_header(lines.texts[index])
        elif not (kind is LineKind.TEXT and _header_follows(lines.kinds, index)):
            break  # a wrapped header value is plain text between two headers
        index += 1
    return index if headers >= 3 and has_origin else None


def _is_origin_header(line: str) -> bool:
    """From or date: every client's embedded header block has one, stray "To:" lines do not."""
    return bool(_FROM_HEADER.match(line) or _DATE_HEADER.match(line))


def _header_follows(kinds: list[LineKind], index: int) -> bool:
    return any(k is LineKind.HEADER for k in kinds[index + 1 : index + 3])


def _is_interleaved(kinds: list[LineKind]) -> bool:
    """Quote, then an answer, then quote again: an inline reply that must be kept whole."""
    seen_quote = seen_answer = False
    for kind in kinds[1:]:
        if kind is LineKind.QUOTE and seen_answer:
            return True
        seen_quote = seen_quote or kind is LineKind.QUOTE
        seen_answer = seen_answer or (seen_quote and kind is LineKind.TEXT)
    return False


def _only_salutation(lines: _Lines, start: int) -> bool:
    """"Bonjour," above a selected quote: the answer is written below the quote, not above it."""
    written = [t.strip() for t, k in zip(lines.texts[:start], lines.kinds[:start]) if k is LineKind.TEXT]
    answered_below = LineKind.TEXT in lines.kinds[start + 1 :] and LineKind.QUOTE in lines.kinds[start + 1 :]
    return answered_below and len(written) == 1 and len(written[0]) <= _MAX_SALUTATION and written[0].endswith(",")


def _drop_opening(lines: _Lines, start: int) -> _Lines:
    """Remove a leading attribution or header block and the quote right under it."""
    index = start
    while index < len(lines.kinds) and lines.kinds[index] in (LineKind.MARKER, LineKind.EMPTY):
        index += 1
    if index < len(lines.kinds) and lines.kinds[index] is LineKind.HEADER:
        index = _header_block_end(lines, index) or index
    rest = _Lines(lines.texts[index:], lines.kinds[index:])
    quoted = 0
    while quoted < len(rest.kinds) and rest.kinds[quoted] in (LineKind.QUOTE, LineKind.EMPTY):
        quoted += 1
    after = rest.kinds[quoted:]
    # Bottom-posting drops the quote; an inline reply keeps it as the context of each answer.
    if LineKind.QUOTE in rest.kinds[:quoted] and LineKind.TEXT in after and LineKind.QUOTE not in after:
        rest = _Lines(rest.texts[quoted:], after)
    return rest


def _remove_embedded_headers(lines: _Lines) -> _Lines:
    wanted = [True] * len(lines.kinds)
    index = 0
    while index < len(lines.kinds):
        end = _header_block_end(lines, index) if lines.kinds[index] is LineKind.HEADER else None
        if lines.kinds[index] is LineKind.MARKER:
            wanted[index] = False
        for covered in range(index, end or index):
            wanted[covered] = False
        index = max(end or 0, index + 1)
    return lines.keep(wanted)


def _drop_trailing_quotes(lines: _Lines) -> _Lines:
    end = len(lines.kinds)
    while end and lines.kinds[end - 1] in (LineKind.QUOTE, LineKind.EMPTY, LineKind.HEADER):
        end -= 1
    return lines.cut(end)


def _render(lines: _Lines) -> str:
    texts = list(lines.texts)
    while texts and not texts[0].strip():
        texts.pop(0)
    return "\n".join(t.rstrip() for t in texts).rstrip()
