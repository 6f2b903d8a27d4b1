"""Decide whether an inbound message is a bounce, a complaint, an auto-reply or a person writing."""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message

from flufl.bounce import all_failures

from mailflow.inbound.parsing import ParsedMessage, parse_address

__all__ = ["BounceInfo", "Classification", "classify", "verp_token"]


class _QuietDetectorCrashes(logging.Filter):
    """flufl.bounce logs a full traceback whenever one of its detectors trips over odd input.

    That happens on ordinary junk mail and the scan still returns what the other detectors found,
    so those records are noise in the staff logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Exception in detector")


logging.getLogger("flufl.bounce").addFilter(_QuietDetectorCrashes())

_MAX_PARTS = 500
# Bounce wording sits above the returned original; reading further only finds the original's text.
_MAX_REPORT_CHARS = 20_000

# Causes whose failure says the address itself is dead: suppressing it is right. Other refusals
# (spam filters, policy, size, full mailbox) may clear up, so they are not permanent.
_DEAD_ADDRESS = frozenset({"user_unknown", "host_unknown", "has_moved", "not_accept"})

# Cause of a failure from the diagnostic wording, first match wins: specific before generic.
_CAUSES: dict[str, tuple[str, ...]] = {
    "sender_rejected": (
        r"sender address rejected", r"domain of sender", r"sender (?:domain|address) (?:is )?(?:invalid|unknown|not)",
        r"provide a valid from", r"mail from (?:address )?(?:rejected|invalid|refused)",
    ),
    "rate_limited": (r"too many (?:recipients|messages|connections|emails)", r"rate limit", r"sending (?:rate|quota)"),
    "has_moved": (r"\bhas moved\b", r"address (?:has )?changed", r"no longer (?:at|with) this address"),
    "not_accept": (
        r"does not accept (?:any )?mail", r"not accepting (?:any |network )?(?:mail|messages)", r"\bnull mx\b",
        r"domain does not receive mail", r"no mx (?:record )?(?:found )?for",
    ),
    "mailbox_full": (
        r"mailbox (?:is )?full", r"over ?quota", r"quota exceeded", r"exceeded (?:the )?(?:storage|quota)",
        r"insufficient (?:system )?storage", r"mailbox size limit", r"disk quota", r"full mailbox",
        r"mailbox has exceeded", r"exceed(?:s|ed)? (?:the )?(?:maximum|allowed) (?:mailbox|storage)",
        r"user is over", r"out of (?:disk )?space", r"mailfolder is full", r"メールボックスが一杯",
    ),
    "suspended": (
        r"account (?:has been |is )?(?:disabled|suspended|deactivated|inactive|locked|blocked)",
        r"mailbox (?:has been |is )?(?:disabled|suspended|inactive|deactivated)",
        r"(?:disabled|suspended|inactive|deactivated|expired) (?:recipient|account|mailbox|user|address)",
        r"(?:account|mailbox|address) that you tried to reach is (?:disabled|inactive|suspended)",
        r"temporarily (?:disabled|suspended)", r"not (?:an )?active (?:account|mailbox)", r"mailbox is frozen",
    ),
    "network_error": (
        r"malformed or unexpected name server reply", r"connection (?:timed out|refused|reset)",
        r"network is unreachable", r"no route to host", r"socket error", r"did not accept our requests to connect",
        r"temporary failure in name resolution", r"host not found, try again",
    ),
    "host_unknown": (
        r"host (?:or domain name )?(?:not found|unknown)", r"host \S+ not found", r"unknown host",
        r"(?<![@\w.-])(?:[a-z0-9-]+\.)+[a-z]{2,} does not exist", r"domain (?:name )?not found", r"no such domain",
        r"unknown domain", r"domain (?:does not|doesn't) exist", r"nxdomain", r"name or service not known",
        r"unrouteable mail domain", r"mx records? (?:not found|point)", r"address domain not found",
        r"domain (?:is )?(?:invalid|not valid|not reachable|unreachable)", r"unable to (?:resolve|route)",
        r"can'?t find host", r"host (?:name )?lookup failed", r"non-existent hosts?", r"domain lookup failed",
        r"not an? (?:valid|registered) domain", r"couldn't find any host named",
    ),
    "user_unknown": (
        r"user(?:name)? (?:is )?unknown", r"unknown (?:user|recipient|local[- ]part|mailbox|address|alias)",
        r"no such (?:user|mailbox|recipient|account|person|address|local user)", r"recipient unknown",
        r"(?:user|mailbox|recipient|address|account|addressee) (?:does not|doesn't|did not) exist",
        r"(?:user|mailbox|recipient|address|account) (?:was )?not found", r"does not exist",
        r"invalid (?:recipient|mailbox|user|address|local ?part)", r"mailbox (?:unavailable|not available)",
        r"(?:not a valid|no valid) (?:recipient|mailbox|user)", r"no mailbox here", r"unrouteable address",
        r"addressee unknown", r"bad destination mailbox", r"no account by that name", r"not our customer",
        r"is not a known user", r"unknown or illegal alias", r"recipient name is not recognized",
        r"recipient address rejected: access denied", r"user doesn't have a", r"not listed in",
        r"address (?:is )?(?:invalid|unknown)", r"no longer (?:valid|exists?|in use)", r"recipient not found",
        r"resolver\.adr\.recipientnotfound", r"account (?:is )?unavailable", r"user not (?:found|local)",
        r"見つかりません", r"見つからない", r"リストにありません", r"存在しません",
    ),
    "too_big": (
        r"message (?:is )?too (?:big|large)", r"message size exceeds", r"message length exceeds", r"size limit",
        r"exceeds (?:the )?(?:maximum )?(?:message )?size",
    ),
    "expired": (
        r"retry (?:timeout|time) (?:exceeded|not reached)", r"(?:delivery|message) (?:time )?expired",
        r"could not be delivered (?:for|within)", r"giving up", r"too long in (?:the )?queue", r"timed? ?out",
        r"have been failing for a long time", r"queue(?:d)? (?:too long|expired)", r"cannot send message for",
        r"unable to deliver .* for \d+ (?:hours|days)",
    ),
    "spam": (
        r"\bspam\b", r"junk mail", r"blacklist", r"blocklist", r"\brbl\b", r"spamhaus", r"reputation",
        r"content (?:was )?rejected", r"virus", r"malware",
    ),
    "auth": (
        r"\bdmarc\b", r"\bspf\b", r"\bdkim\b", r"unauthenticated", r"authentication (?:checks )?(?:failed|required)",
    ),
    "blocked": (
        r"\bblocked\b", r"access denied", r"not allowed", r"\brefused\b", r"\bpolicy\b", r"\breject(?:ed)?\b",
        r"relay(?:ing)? (?:denied|not permitted|access denied)", r"no relaying", r"no ptr", r"reverse dns",
    ),
}
# A refusal that came only after the message data was sent: the address had been accepted, so a
# "user unknown" then is a content filter speaking, not proof that the mailbox is gone.
# An explicit X.1.x status ("bad destination mailbox") still settles it.
_AFTER_DATA = re.compile(r"in reply to (?:end of )?data|after (?:end of )?data\b|>>> ?data\s*\n\s*<<< ?[45]\d\d|"
                         r"smtp command\s*\n\s*data\s*$", re.IGNORECASE | re.MULTILINE)

# Status used when the report states a cause but no code.
_CAUSE_STATUS = {
    "has_moved": "5.1.6", "not_accept": "5.1.10", "mailbox_full": "5.2.2", "suspended": "5.2.1",
    "host_unknown": "5.1.2", "user_unknown": "5.1.1", "too_big": "5.3.4", "expired": "5.4.7",
    "spam": "5.7.1", "auth": "5.7.26", "blocked": "5.7.1",
}
# Cause suggested by a status code when the wording names none.
_STATUS_CAUSE = {
    "5.1.1": "user_unknown", "5.1.0": "user_unknown", "5.1.3": "user_unknown", "5.1.2": "host_unknown",
    "5.1.6": "has_moved", "5.1.10": "not_accept", "5.1.7": "sender_rejected", "5.1.8": "sender_rejected",
    "5.4.4": "host_unknown", "5.2.2": "mailbox_full", "4.2.2": "mailbox_full", "5.2.1": "suspended",
    "5.3.4": "too_big", "5.2.3": "too_big", "4.4.7": "expired", "5.4.7": "expired",
}

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
_SMTP_CODE_RE = re.compile(r"(?<![\d.])([45])[0-5]\d(?=[ -]|$)", re.MULTILINE)
_ORIGINAL_MESSAGE = re.compile(
    r"^(?:-+ ?(?:original message|this is a copy|below this line|the header of the original|"
    r"returned message|unsent message)|original message follows|message headers follow|"
    r"\W*(?:return-path|received): )", re.IGNORECASE | re.MULTILINE
)

_AUTO_HEADERS: tuple[tuple[str, str], ...] = (
    # (header, value pattern that marks automatic mail)
    ("auto-submitted", r"^(?!\s*no\b)."),
    ("x-autoreply", r"^(?!\s*no\b)."),
    ("x-autorespond", r"."),
    ("x-autoresponder", r"."),
    ("x-autoreply-from", r"."),
    ("x-mail-autoreply", r"."),
    ("x-auto-response-suppress", r"\b(?:oof|autoreply)\b"),
    ("precedence", r"^\s*(?:bulk|junk|list|auto_reply)\b"),
    ("x-precedence", r"^\s*(?:bulk|junk|list|auto_reply)\b"),
    ("x-autogenerated", r"^\s*reply"),
    ("x-apple-action", r"vacation"),
    ("x-fc-machinegenerated", r"true"),
)
_AUTO_SUBJECTS = re.compile(
    r"^\s*(?:(?:re|aw|tr|fw|fwd|antw|sv)\s?:\s*)*(?:\[[^\]]*\]\s*)?(?:"
    r"auto(?:matic|mated)?[ -]?(?:reply|response|answer)|autoreply|out of (?:the )?office|ooo\b|"
    r"on vacation|vacation (?:reply|notice|message)|away from (?:the|my) office|i am (?:away|out)|"
    r"r[ée]ponse automatique|absence du bureau|absent(?:e)? du bureau|message d'absence|"
    r"automatisch antwoord|afwezig|afwezigheid|niet aanwezig|"
    r"abwesenheitsnotiz|automatische antwort|abwesend|nicht im b[üu]ro|"
    r"risposta automatica|respuesta autom[áa]tica|fuera de la oficina|resposta autom[áa]tica|"
    r"autosvar|fr[åa]nvaro|automaattinen vastaus|odpowied[źz] automatyczna)",
    re.IGNORECASE,
)
_COMPLAINT_SUBJECTS = re.compile(r"complaint about message from|^\s*(?:email )?abuse report\b", re.IGNORECASE)
_COMPLAINT_HEADERS = ("x-hmxmroriginalrecipient",)  # Microsoft's JMRP reports carry the original with it
# Amazon SES forwards its notifications as JSON in a plain mail.
_SES_TYPE = re.compile(r'"notificationType"\s*:\s*"(\w+)"')
_SES_SENDERS = re.compile(r"@(?:[\w-]+\.)*(?:amazonaws\.com|amazonses\.com)$")


@dataclass(frozen=True)
class BounceInfo:
    """What a delivery report says about the failed recipients.

    `permanent` means the address itself is dead (unknown user or domain, moved, domain takes
    no mail): suppressing it is right. Refusals for other causes (spam filters, policy, size,
    a full mailbox) can clear up, so they are not permanent even with a 5.x.x status.
    """

    recipients: list[str]
    permanent: bool
    status: str | None
    diagnostic: str | None
    action: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class Classification:
    """`reason` is a short key: the bounce cause, "feedback_report", the auto-reply signal, "person".

    `recipients` are the addresses a bounce or complaint is about; `original_message_id` is the
    Message-ID of our message that it returns or reports, when the report carries it.
    """

    kind: str  # "bounce" | "complaint" | "auto_reply" | "message"
    reason: str
    bounce: BounceInfo | None = None
    signals: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    original_message_id: str | None = None


@dataclass
class _Recipient:
    address: str | None = None
    action: str | None = None
    status: str | None = None
    diagnostic: str | None = None


def classify(msg: ParsedMessage, raw: bytes, envelope_from: str | None = None) -> Classification:
    """Classify one inbound message; `envelope_from` is the SMTP MAIL FROM ("" for the null sender <>).

    Never raises: a message that cannot be understood is a "message", so staff get to see it.
    """
    try:
        return _classify(msg, raw, envelope_from)
    except Exception as exc:
        return Classification("message", "unclassifiable", signals=[f"classification failed: {type(exc).__name__}"])


def _classify(msg: ParsedMessage, raw: bytes, envelope_from: str | None) -> Classification:
    tree = _mime_tree(raw)
    if _is_complaint(msg, tree):
        original = _original_headers(tree)
        return Classification("complaint", "feedback_report", signals=["feedback report"],
                              recipients=_complainants(tree, original), original_message_id=_message_id(original))
    bounce = _bounce(msg, tree, envelope_from)
    if bounce is not None:
        return Classification("bounce", bounce.cause or "undetermined", bounce, recipients=bounce.recipients,
                              original_message_id=_message_id(_original_headers(tree)))
    signals = _auto_signals(msg, envelope_from)
    if signals:
        return Classification("auto_reply", signals[0][0], signals=[detail for _, detail in signals])
    return Classification("message", "person")


def verp_token(address: str, prefix: str = "bounces") -> str | None:
    """The token of a VERP return address `prefix+TOKEN@domain`, or None."""
    found = parse_address(address) if address else None
    local = (found or "").rpartition("@")[0]
    head, plus, token = local.partition("+")
    if not plus or head != prefix.lower() or not token:
        return None
    # parse_address lowercases; take the token with its original case from the input.
    original = re.search(re.escape(plus) + "(" + re.escape(token) + ")@", address, re.IGNORECASE)
    return original.group(1) if original else token


# --- MIME helpers -----------------------------------------------------------------------------


def _mime_tree(raw: bytes) -> Message | None:
    try:
        return email.message_from_bytes(raw if isinstance(raw, bytes) else b"", policy=email.policy.compat32)
    except Exception:
        return None


def _parts(tree: Message | None) -> Iterator[Message]:
    """The message's own parts, depth first, bounded; attached messages are yielded, not entered.

    A report forwarded as an attachment is a person writing about a bounce, not a bounce.
    """
    if tree is None:
        return
    stack, seen = [tree], 0
    while stack and seen < _MAX_PARTS:
        part = stack.pop()
        seen += 1
        yield part
        payload = part.get_payload()
        if isinstance(payload, list) and part.get_content_maintype() != "message":
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _report_type(part: Message) -> str:
    try:
        return str(part.get_param("report-type") or "").lower()
    except Exception:
        return ""


# --- complaints -------------------------------------------------------------------------------


def _is_complaint(msg: ParsedMessage, tree: Message | None) -> bool:
    for part in _parts(tree):
        kind = _content_type(part)
        if kind == "message/feedback-report" or _report_type(part) == "feedback-report":
            return True
        if kind == "message/rfc822" and _embedded_has_header(part, _COMPLAINT_HEADERS):
            return True
    if _ses_notification(msg) == "Complaint":
        return True
    return bool(_COMPLAINT_SUBJECTS.search(msg.subject)) and _has_embedded_message(tree)


def _embedded_has_header(part: Message, names: tuple[str, ...]) -> bool:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    return isinstance(inner, Message) and any(inner.get(n) is not None for n in names)


def _has_embedded_message(tree: Message | None) -> bool:
    return any(_content_type(p) in ("message/rfc822", "text/rfc822-headers") for p in _parts(tree))


def _original_headers(tree: Message | None) -> Message | None:
    """Headers of the returned or reported original message, if the report attached them."""
    for part in _parts(tree):
        kind = _content_type(part)
        payload = part.get_payload()
        if kind == "message/rfc822" and isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        if kind == "text/rfc822-headers" and isinstance(payload, str):
            return email.message_from_string(payload.lstrip(), policy=email.policy.compat32)
    return None


def _message_id(original: Message | None) -> str | None:
    value = original.get("message-id") if original is not None else None
    found = re.search(r"<([^<>\s]+)>", str(value or ""))
    return found.group(1) if found else (str(value).strip() or None if value else None)


def _complainants(tree: Message | None, original: Message | None) -> list[str]:
    """Who complained: the report's Original-Rcpt-To, else the reported message's To."""
    values = [str(v) for p in _parts(tree) if _content_type(p) == "message/feedback-report"
              for block in _dsn_blocks(p) for v in block.get_all("original-rcpt-to") or []]
    if not values and original is not None:
        values = [str(v) for v in original.get_all("to") or []]
    return list(dict.fromkeys(a for a in map(parse_address, values) if a))


# --- bounces ----------------------------------------------------------------------------------


def _bounce(msg: ParsedMessage, tree: Message | None, envelope_from: str | None) -> BounceInfo | None:
    dsn = _delivery_status(tree)
    if dsn is not None:
        return _from_dsn(dsn, msg, tree)
    if _ses_notification(msg) in ("Bounce", "Delivery"):
        return _from_ses(_ses_text(msg))
    if not _looks_like_bounce(msg, envelope_from):
        return None
    failed = _flufl_failures(tree)
    report = _report_text(msg)
    if not failed and not _FAILURE_WORDING.search(report):
        return None
    return _from_text(report, failed or _failed_from_headers(msg) or _addresses_in(report, msg), msg.subject)


def _delivery_status(tree: Message | None) -> list[_Recipient] | None:
    """Per-recipient fields of an RFC 3464 report, or None when there is no such report."""
    for part in _parts(tree):
        if _content_type(part) in ("message/delivery-status", "message/global-delivery-status"):
            return _dsn_recipients(part)
    return None


def _dsn_recipients(part: Message) -> list[_Recipient]:
    blocks = _dsn_blocks(part)
    per_recipient = [b for b in blocks if _field(b, "final-recipient", "original-recipient", "status", "action")]
    recipients = [_dsn_recipient(b) for b in per_recipient]
    return recipients or [_Recipient()]


def _dsn_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    # Some MTAs mislabel the encoding, leaving the fields as one text blob: parse it ourselves.
    chunks = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    return [email.message_from_string(c.strip() + "\n", policy=email.policy.compat32) for c in chunks if c.strip()]


def _dsn_recipient(block: Message) -> _Recipient:
    address = _field(block, "final-recipient", "original-recipient", "x-actual-recipient")
    status = _field(block, "status")
    return _Recipient(
        address=parse_address(address.split(";", 1)[-1]) if address else None,
        action=(_field(block, "action") or "").strip().lower() or None,
        status=_status_in(status or ""),
        diagnostic=_one_line(_field(block, "diagnostic-code") or "") or None,
    )


def _field(block: Message, *names: str) -> str | None:
    for name in names:
        value = block.get(name)
        if value is not None:
            return str(value)
    return None


def _from_dsn(recipients: list[_Recipient], msg: ParsedMessage, tree: Message | None) -> BounceInfo:
    worst = min(recipients, key=_severity)
    report = _report_text(msg)
    diagnostic = worst.diagnostic or _diagnostic_line(report)
    status = _best_status(worst.status, diagnostic, report)
    addresses = [r.address for r in recipients if r.address] or _flufl_failures(tree) or _addresses_in(report, msg)
    action = worst.action or _action_for(status)
    return _info(addresses, status, diagnostic, action, "\n".join(filter(None, [diagnostic, report])))


def _severity(recipient: _Recipient) -> int:
    """Failures first, then delays, then successes: a report is as bad as its worst recipient."""
    if recipient.action in ("delivered", "relayed", "expanded") or (recipient.status or "").startswith("2"):
        return 2
    return 1 if recipient.action == "delayed" else 0


def _ses_notification(msg: ParsedMessage) -> str | None:
    if not _SES_SENDERS.search(msg.from_addr or ""):
        return None
    found = _SES_TYPE.search(_ses_text(msg))
    return found.group(1) if found else None


def _ses_text(msg: ParsedMessage) -> str:
    # Through SNS the notification is a JSON string inside a JSON envelope: unescape one level.
    return msg.text[:_MAX_REPORT_CHARS].replace('\\"', '"')


def _from_ses(text: str) -> BounceInfo:
    addresses = re.findall(r'"emailAddress"\s*:\s*"([^"]+)"', text)
    addresses = addresses or re.findall(r'"recipients"\s*:\s*\["([^"]+)"', text)
    diagnostic = _json_string(text, "diagnosticCode") or _json_string(text, "smtpResponse")
    status = _best_status(_status_in(_json_string(text, "status") or ""), diagnostic, "")
    action = _json_string(text, "action") or _action_for(status)
    return _info([a for a in map(parse_address, addresses) if a], status, diagnostic, action, diagnostic or "")


def _json_string(text: str, key: str) -> str | None:
    # A regex, not json.loads: these notifications often arrive cut or re-wrapped.
    found = re.search(r'"' + re.escape(key) + r'"\s*:\s*"([^"]*)"', text)
    return found.group(1) if found else None


def _from_text(report: str, recipients: list[str], subject: str) -> BounceInfo:
    diagnostic = _diagnostic_line(report)
    status = _best_status(None, diagnostic, report)
    delayed = _DELAY_WORDING.search(subject + "\n" + report) and not (status or "").startswith("5")
    return _info(recipients, status, diagnostic, "delayed" if delayed else _action_for(status), report)


def _info(
    recipients: list[str], status: str | None, diagnostic: str | None, action: str | None, wording: str
) -> BounceInfo:
    cause = _cause(diagnostic or "", wording, status, action)
    status = status or _CAUSE_STATUS.get(cause or "") or ("4.0.0" if action == "delayed" else "5.0.0")
    if action == "delayed" and status and status.startswith("5"):
        status = "4" + status[1:]
    permanent = cause in _DEAD_ADDRESS and not (status or "5").startswith(("4", "2"))
    return BounceInfo(list(dict.fromkeys(recipients)), permanent, status, diagnostic, action, cause)


def _cause(diagnostic: str, wording: str, status: str | None, action: str | None) -> str | None:
    if action in ("delivered", "relayed", "expanded") or (status or "").startswith("2"):
        return "delivered"
    if status in ("5.1.7", "5.1.8"):
        return "sender_rejected"  # the sender's address was refused: says nothing about the recipient
    cause = _cause_in(diagnostic) or _cause_in(wording) or _STATUS_CAUSE.get(status or "")
    if cause == "user_unknown" and not (status or "").startswith(("5.1.", "4.1.")) and _AFTER_DATA.search(wording):
        return "filtered"
    return cause or ("delayed" if action == "delayed" else None)


def _cause_in(text: str) -> str | None:
    flat = _one_line(text).lower()
    for cause, patterns in _COMPILED_CAUSES:
        if any(p.search(flat) for p in patterns):
            return cause
    return None


_COMPILED_CAUSES = tuple((cause, tuple(re.compile(p) for p in patterns)) for cause, patterns in _CAUSES.items())


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
    code = _SMTP_CODE_RE.search(diagnostic or "") or _SMTP_CODE_RE.search(report)
    return f"{code.group(1)}.0.0" if code else declared


def _status_in(text: str) -> str | None:
    found = _STATUS_RE.search(text)
    return ".".join(found.groups()) if found else None


def _action_for(status: str | None) -> str | None:
    if not status:
        return "failed"
    return {"2": "delivered", "4": "delayed"}.get(status[0], "failed")


def _report_text(msg: ParsedMessage) -> str:
    """The human-readable report, without the returned original that usually follows it."""
    text = msg.text[:_MAX_REPORT_CHARS]
    cut = _ORIGINAL_MESSAGE.search(text, 40)
    return text[: cut.start()] if cut else text


def _diagnostic_line(report: str) -> str | None:
    """The line a server wrote: one with a status or reply code, else one naming a cause."""
    lines = [_one_line(line) for line in report.split("\n")]
    coded = [line for line in lines if _STATUS_RE.search(line) or _SMTP_CODE_RE.search(line)]
    return next(iter(coded), None) or next((line for line in lines if _cause_in(line)), None)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _flufl_failures(tree: Message | None) -> list[str]:
    if tree is None:
        return []
    try:
        permanent, temporary = all_failures(tree)
    except Exception:  # third-party detectors must not take classification down
        return []
    found = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in (*permanent, *temporary)]
    return [a for a in (parse_address(f) for f in found) if a]


def _looks_like_bounce(msg: ParsedMessage, envelope_from: str | None) -> bool:
    local = (msg.from_addr or "").partition("@")[0]
    name = msg.from_name or ""
    if envelope_from == "" or _BOUNCE_SENDERS.match(local) or _BOUNCE_SENDERS.match(name.replace(" ", "")):
        return True
    # On the subject alone, only when it is not somebody's reply (people write "not delivered" too).
    is_reply = msg.in_reply_to is not None or _REPLY_PREFIX.match(msg.subject)
    return "mail delivery" in name.lower() or (bool(_BOUNCE_SUBJECTS.search(msg.subject)) and not is_reply)


def _failed_from_headers(msg: ParsedMessage) -> list[str]:
    values = msg.headers.get_all("x-failed-recipients")
    return [a for v in values for a in (parse_address(p) for p in v.split(",")) if a]


def _addresses_in(report: str, msg: ParsedMessage) -> list[str]:
    """Addresses a free-form report names, minus the bounce's own parties and quoted Message-IDs."""
    quoted_ids = (i.lower() for i in re.findall(r"message-id:\s*<([^>]+)>", report, re.IGNORECASE))
    excluded = {msg.from_addr, *msg.to_addrs, *quoted_ids}
    found = [parse_address(m) for m in re.findall(r"[^\s<>()\[\]\"',;:]+@[\w.-]+\w", report)]
    return [a for a in dict.fromkeys(found) if a and a not in excluded and not a.startswith("mailer-daemon@")]


# --- auto-replies -----------------------------------------------------------------------------


def _auto_signals(msg: ParsedMessage, envelope_from: str | None) -> list[tuple[str, str]]:
    """(reason key, detail) for every RFC 3834-style sign of automatic mail."""
    signals = [
        (name, f"{name}: {msg.headers[name][:80]}")
        for name, pattern in _AUTO_HEADERS
        if name in msg.headers and re.search(pattern, msg.headers[name], re.IGNORECASE)
    ]
    if _AUTO_SUBJECTS.search(msg.subject):
        signals.append(("subject", f"subject: {msg.subject[:80]}"))
    if envelope_from == "":
        # Only DSNs may use the null sender; one that is not a DSN is some other automaton.
        signals.append(("null_sender", "null envelope sender"))
    return signals
