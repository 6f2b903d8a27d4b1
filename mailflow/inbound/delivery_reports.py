"""Read a delivery report, whatever shape its MTA chose: who failed, with which code, action and words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from flufl.bounce import all_failures

from mailflow.inbound import mime
from mailflow.inbound.parsing import ParsedMessage, parse_address
from mailflow.inbound.permanence import names_cause

__all__ = ["Report", "RecipientReport", "read_report"]

# Bounce wording sits above the returned original; reading further only finds the original's text.
_MAX_REPORT_CHARS = 20_000

_BOUNCE_SENDERS = re.compile(
    r"^(?:mailer-?daemon|mail-?daemon|post_?master|mail\.?delivery|maildelivery|bounces?|mdaemon|double-bounce)\b",
    re.IGNORECASE,
)
_BOUNCE_SUBJECTS = re.compile(
    r"undeliver|undelivered|delivery (?:status|failure|failed|notification|problem|report|has failed)|"
    r"(?:mail|message) delivery (?:failed|failure|problem)|returned mail|return(?:ed)? to sender|failure notice|"
    r"could not send|delivery failure|not (?:be )?delivered|warning: could not|mail system error|"
    r"non remis|non distribu|onbestelbaar|niet bezorgd|unzustellbar|nicht zustellbar|rejected:|"
    r"error sending message|unable to deliver|delayed mail|mail delivery|nondeliverable|no se pudo entregar|"
    r"mail could not be delivered|returned message|bounce|エラー",
    re.IGNORECASE,
)
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|antw|sv|tr|fw|fwd|wg)\s?:", re.IGNORECASE)
_FAILURE_WORDING = re.compile(
    r"could not be delivered|couldn'?t be delivered|undeliverable|delivery (?:has )?failed|failed permanently|"
    r"permanent (?:error|failure|fatal)|unable to deliver|not (?:be )?delivered|delivery to the following|"
    r"was not delivered|message (?:was )?rejected|following (?:address(?:es)?|recipients?)|"
    r"delivery (?:status notification|problem)|returned to (?:the )?sender|mail delivery failed|"
    r"this is the mail system|error (?:occurred|during) (?:delivery|delivering)|failed to deliver|"
    r"temporary (?:error|failure|problem)|has been delayed|delivery incomplete|i'?m sorry to (?:have to )?inform you|"
    r"can ?not be delivered|unknown user|user unknown|no such user|retry timeout|does not exist|"
    r"error delivering|did not like our|(?:while )?attempting to deliver|malformed (?:recipient )?address|"
    r"failure reasons?|transcript of session|cannot send message|\bdeferred\b|送信できませんでした|"
    r"配信できませんでした|届きませんでした",
    re.IGNORECASE,
)
# A warning that the server keeps trying, rather than a final failure.
_DELAY_WORDING = re.compile(
    r"warning message only|do not need to re-?send|will be retried|still (?:being )?(?:retried|trying)|"
    r"has been delayed|(?:delivery|message) (?:is |has been )?delayed|delayed for more than|"
    r"temporary failure report|\(delay\)|will (?:continue to )?(?:try|retry)|not yet been delivered",
    re.IGNORECASE,
)
_STATUS_RE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_SMTP_CODE_RE = re.compile(r"(?<![\d.])([45][0-5]\d)(?=[ -]|$)", re.MULTILINE)
_ORIGINAL_MESSAGE = re.compile(
    r"^(?:-+ ?(?:original message|this is a copy|below this line|the header of the original|"
    r"returned message|unsent message)|original message follows|message headers follow|"
    r"\W*(?:return-path|received): )", re.IGNORECASE | re.MULTILINE
)
# Amazon SES forwards its notifications as JSON in a plain mail.
_SES_TYPE = re.compile(r'"notificationType"\s*:\s*"(\w+)"')
_SES_SENDERS = re.compile(r"@(?:[\w-]+\.)*(?:amazonaws\.com|amazonses\.com)$")
_SUCCESS = ("delivered", "relayed", "expanded")
# RFC 3464 fields written into a plain-text report (a DSN relayed inline, as some ISPs forward their relays'
# reports): the report's own statement, wherever the returned-original cut falls.
_INLINE_STATUS = re.compile(r"^[ \t]*Status:[ \t]*([245]\.\d{1,3}\.\d{1,3})\b", re.IGNORECASE | re.MULTILINE)
_INLINE_ACTION = re.compile(r"^[ \t]*Action:[ \t]*(failed|delayed|delivered|relayed|expanded)\b",
                            re.IGNORECASE | re.MULTILINE)
_INLINE_DIAGNOSTIC = re.compile(r"^[ \t]*Diagnostic-Code:[ \t]*(.*(?:\n[ \t]+.*)*)", re.IGNORECASE | re.MULTILINE)
_CONTINUATION_LINES = 3


@dataclass(frozen=True)
class RecipientReport:
    """One recipient as the report states it; `status` is the RFC 3463 code as reported (or from the reply code)."""

    address: str | None = None
    action: str | None = None
    status: str | None = None
    diagnostic: str | None = None
    reply_code: str | None = None


@dataclass(frozen=True)
class Report:
    recipients: list[RecipientReport]
    wording: str  # the human-readable part, without the returned original


def read_report(msg: ParsedMessage, envelope_from: str | None) -> Report | None:
    """The delivery report `msg` is, or None when it is not one."""
    dsn = _delivery_status(msg.mime)
    if dsn is not None:
        return _from_dsn(dsn, msg)
    if ses_notification(msg) in ("Bounce", "Delivery"):
        return _from_ses(_ses_text(msg))
    if not _looks_like_bounce(msg, envelope_from):
        return None
    return _from_text(msg)


def ses_notification(msg: ParsedMessage) -> str | None:
    """The notificationType of an Amazon SES notification mail ("Bounce", "Complaint", "Delivery")."""
    if not _SES_SENDERS.search(msg.from_addr or ""):
        return None
    found = _SES_TYPE.search(_ses_text(msg))
    return found.group(1) if found else None


# --- RFC 3464 reports ---------------------------------------------------------------------------


def _delivery_status(tree: Message | None) -> list[RecipientReport] | None:
    """Per-recipient fields of an RFC 3464 report, or None when there is no such report."""
    for part in mime.parts(tree):
        if mime.content_type(part) in ("message/delivery-status", "message/global-delivery-status"):
            blocks = [b for b in mime.header_blocks(part)
                      if mime.field(b, "final-recipient", "original-recipient", "status", "action")]
            return [_dsn_recipient(b) for b in blocks] or [RecipientReport()]
    return None


def _dsn_recipient(block: Message) -> RecipientReport:
    address = mime.field(block, "final-recipient", "original-recipient", "x-actual-recipient")
    return RecipientReport(
        address=parse_address(address.split(";", 1)[-1]) if address else None,
        action=(mime.field(block, "action") or "").strip().lower() or None,
        status=_status_in(mime.field(block, "status") or ""),
        diagnostic=_one_line(mime.field(block, "diagnostic-code") or "") or None,
    )


def _from_dsn(recipients: list[RecipientReport], msg: ParsedMessage) -> Report:
    wording = _report_text(msg)
    fallback = _diagnostic_line(wording)
    completed = [_completed(r, r.diagnostic or fallback, wording) for r in recipients]
    if not any(r.address for r in completed):  # the report names nobody: read the addresses elsewhere
        found = _flufl_failures(msg.mime) or _addresses_in(wording, msg)
        completed = [_with(completed[0], address=a) for a in found] or completed
    return Report(completed, wording)


def _completed(recipient: RecipientReport, diagnostic: str | None, wording: str) -> RecipientReport:
    status = _best_status(recipient.status, diagnostic, wording)
    return _with(recipient, status=status, diagnostic=diagnostic, reply_code=_reply_code(diagnostic, wording),
                 action=recipient.action or _action_for(status))


def _with(recipient: RecipientReport, **changes: str | None) -> RecipientReport:
    return RecipientReport(**{**recipient.__dict__, **changes})


# --- Amazon SES ---------------------------------------------------------------------------------


def _ses_text(msg: ParsedMessage) -> str:
    # Through SNS the notification is a JSON string inside a JSON envelope: unescape one level.
    return msg.text[:_MAX_REPORT_CHARS].replace('\\"', '"')


def _from_ses(text: str) -> Report:
    addresses = re.findall(r'"emailAddress"\s*:\s*"([^"]+)"', text)
    addresses = addresses or re.findall(r'"recipients"\s*:\s*\["([^"]+)"', text)
    diagnostic = _json_string(text, "diagnosticCode") or _json_string(text, "smtpResponse")
    status = _best_status(_status_in(_json_string(text, "status") or ""), diagnostic, "")
    action = _json_string(text, "action") or _action_for(status)
    found = [RecipientReport(a, action, status, diagnostic, _reply_code(diagnostic, "")) for a in
             dict.fromkeys(filter(None, map(parse_address, addresses)))]
    return Report(found or [RecipientReport(None, action, status, diagnostic)], diagnostic or "")


def _json_string(text: str, key: str) -> str | None:
    # A regex, not json.loads: these notifications often arrive cut or re-wrapped.
    found = re.search(r'"' + re.escape(key) + r'"\s*:\s*"([^"]*)"', text)
    return found.group(1) if found else None


# --- free-form reports --------------------------------------------------------------------------


def _looks_like_bounce(msg: ParsedMessage, envelope_from: str | None) -> bool:
    local = (msg.from_addr or "").partition("@")[0]
    name = msg.from_name or ""
    if envelope_from == "" or _BOUNCE_SENDERS.match(local) or _BOUNCE_SENDERS.match(name.replace(" ", "")):
        return True
    # On the subject alone, only when it is not somebody's reply (people write "not delivered" too).
    is_reply = msg.in_reply_to is not None or _REPLY_PREFIX.match(msg.subject)
    return "mail delivery" in name.lower() or (bool(_BOUNCE_SUBJECTS.search(msg.subject)) and not is_reply)


def _from_text(msg: ParsedMessage) -> Report | None:
    wording = _report_text(msg)
    failed = _flufl_failures(msg.mime)
    if not failed and not _FAILURE_WORDING.search(wording):
        return None
    diagnostic = _diagnostic_line(wording)
    status, action = _best_status(None, diagnostic, wording), None
    if status is None:  # nothing coded above the cut: a DSN written out in the text says it in its fields
        status, action, diagnostic = _inline_fields(msg.text[:_MAX_REPORT_CHARS], diagnostic)
    delayed = _DELAY_WORDING.search(msg.subject + "\n" + wording) and not (status or "").startswith("5")
    action = "delayed" if delayed else action or _action_for(status)
    addresses = failed or _failed_from_headers(msg) or _addresses_in(wording, msg)
    reply_code = _reply_code(diagnostic, wording)
    found = [RecipientReport(a, action, status, diagnostic, reply_code) for a in dict.fromkeys(addresses)]
    return Report(found or [RecipientReport(None, action, status, diagnostic, reply_code)], wording)


def _inline_fields(text: str, diagnostic: str | None) -> tuple[str | None, str | None, str | None]:
    """Status, Action and Diagnostic-Code of RFC 3464 fields written out in a plain-text report, if any."""
    status, action = _INLINE_STATUS.search(text), _INLINE_ACTION.search(text)
    if status is None:
        return None, None, diagnostic
    coded = _INLINE_DIAGNOSTIC.search(text)
    return (status.group(1), action.group(1).lower() if action else None,
            _one_line(coded.group(1)) if coded else diagnostic)


def _report_text(msg: ParsedMessage) -> str:
    """The human-readable report, without the returned original that usually follows it."""
    text = msg.text[:_MAX_REPORT_CHARS]
    cut = _ORIGINAL_MESSAGE.search(text, 40)
    return text[: cut.start()] if cut else text


def _diagnostic_line(report: str) -> str | None:
    """What a server wrote: the first line with a status or reply code and the indented lines continuing
    it (Exim wraps the reply), else the first line naming a cause."""
    lines = report.split("\n")
    coded = next((i for i, line in enumerate(lines) if _STATUS_RE.search(line) or _SMTP_CODE_RE.search(line)), None)
    if coded is None:
        return next((_one_line(line) for line in lines if names_cause(line)), None)
    end = coded + 1
    while end < len(lines) and end - coded <= _CONTINUATION_LINES and _continues(lines[coded], lines[end]):
        end += 1
    return _one_line(" ".join(lines[coded:end]))


def _continues(first: str, line: str) -> bool:
    indent = len(first) - len(first.lstrip())
    return indent > 0 and bool(line.strip()) and len(line) - len(line.lstrip()) >= indent \
        and not _STATUS_RE.search(line) and "@" not in line.split()[0]


def _flufl_failures(tree: Message | None) -> list[str]:
    """Addresses flufl.bounce's detectors find; all_failures returns (temporary, permanent), both wanted here."""
    if tree is None:
        return []
    try:
        temporary, permanent = all_failures(tree)
    except Exception:  # third-party detectors must not take classification down
        return []
    found = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in (*permanent, *temporary)]
    return [a for a in (parse_address(f) for f in found) if a]


def _failed_from_headers(msg: ParsedMessage) -> list[str]:
    values = msg.headers.get_all("x-failed-recipients")
    return [a for v in values for a in (parse_address(p) for p in v.split(",")) if a]


def _addresses_in(report: str, msg: ParsedMessage) -> list[str]:
    """Addresses a free-form report names, minus the bounce's own parties and quoted Message-IDs."""
    quoted_ids = (i.lower() for i in re.findall(r"message-id:\s*<([^>]+)>", report, re.IGNORECASE))
    excluded = {msg.from_addr, *msg.to_addrs, *quoted_ids}
    found = [parse_address(m) for m in re.findall(r"[^\s<>()\[\]\"',;:]+@[\w.-]+\w", report)]
    return [a for a in dict.fromkeys(found) if a and a not in excluded and not a.startswith("mailer-daemon@")]


# --- codes --------------------------------------------------------------------------------------


def _best_status(declared: str | None, diagnostic: str | None, report: str) -> str | None:
    """The remote server's own code when it agrees in class with the declared status.

    Reporting MTAs often fill Status generically (5.0.0, or 5.1.1 for everything) while the
    diagnostic quotes what the remote server actually answered.
    """
    remote = _status_in(diagnostic or "")
    if declared and remote and remote[0] == declared[0]:
        return remote
    if declared:
        return declared
    found = remote or _status_in(report)
    if found:
        return found
    code = _reply_code(diagnostic, report)
    return f"{code[0]}.0.0" if code else None


def _reply_code(diagnostic: str | None, report: str) -> str | None:
    found = _SMTP_CODE_RE.search(diagnostic or "") or _SMTP_CODE_RE.search(report)
    return found.group(1) if found else None


def _status_in(text: str) -> str | None:
    found = _STATUS_RE.search(text)
    return ".".join(found.groups()) if found else None


def _action_for(status: str | None) -> str | None:
    if not status:
        return "failed"
    return {"2": "delivered", "4": "delayed"}.get(status[0], "failed")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def severity(action: str | None, status: str | None) -> int:
    """Failures first, then delays, then successes: a report is as bad as its worst recipient."""
    if action in _SUCCESS or (status or "").startswith("2"):
        return 2
    return 1 if action == "delayed" else 0
