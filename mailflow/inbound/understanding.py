"""What mailflow makes of one inbound message, without changing anything: kind, reply, commands, token."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mailflow.clock import SystemClock
from mailflow.errors import TokenError
from mailflow.inbound.authentication import Arrival, Authentication, authenticate
from mailflow.inbound.classification import BounceEvent, Classification, MessageKind, classify
from mailflow.inbound import confirmations
from mailflow.inbound.ours import written_text
from mailflow.inbound.requests import Intent, Reading, read_requests
from mailflow.inbound.subjects import strip_subject_prefixes
from mailflow.inbound.parsing import ParsedMessage, parse_address, parse_message
from mailflow.models import Customer, Document, Outbox, User
from mailflow.runtime import Runtime
from mailflow.signing import ReplyClaim, today_utc, token_from_address


@dataclass(frozen=True)
class TokenCheck:
    """The reply token a message was sent to, and whether it may be acted on."""

    valid: bool
    reason: str | None = None  # "invalid" | "expired" when not valid
    claim: ReplyClaim | None = None
    user: User | None = None
    customer: Customer | None = None


@dataclass(frozen=True)
class Understanding:
    parsed: ParsedMessage
    classification: Classification
    reply_text: str
    commands: list[Intent]  # clear (act) and unsure (ask) requests: see Intent.decision
    token: TokenCheck | None
    sender: User | None  # the registered user the From address belongs to
    reading: Reading = field(default_factory=Reading)  # the requests with the words that made them, and notes
    at: datetime | None = None  # when it was read (the runtime's clock): open questions expire
    auth: Authentication | None = None  # DKIM, SPF, DMARC: checked for people's mail that could act, unless off

    @property
    def kind(self) -> MessageKind:
        base = self.classification.kind
        return MessageKind.COMMAND if base is MessageKind.MESSAGE and self.commands else base

    @property
    def authorized(self) -> bool:
        """Commands may be acted on: a valid, unexpired token whose user is the sender."""
        token = self.token
        return bool(token and token.valid and token.user and self.sender and token.user.id == self.sender.id)

    @property
    def spoofed(self) -> bool:
        """A valid token, but the From address is not the user it was issued to."""
        token = self.token
        return bool(token and token.valid and token.user and not self.authorized)


def understand(rt: Runtime, raw: bytes, envelope_from: str | None = None,
               envelope_to: list[str] | None = None, arrival: Arrival | None = None) -> Understanding:
    parsed = parse_message(raw)
    classification = classify(parsed, envelope_from, envelope_to)
    reply = written_text(parsed.text)
    # Only people give commands: a bounce quoting "STOP" or an out-of-office saying "HELP" does not.
    reading = _reading(parsed, reply) if classification.kind is MessageKind.MESSAGE else Reading()
    recipients = list(envelope_to or []) + _header_recipients(parsed)
    sender = _registered(parsed.from_addr)
    token = check_token(rt, recipients, sender)
    could_act = classification.kind is MessageKind.MESSAGE and (sender is not None or token is not None)
    auth = _authentication(rt, raw, parsed, arrival or Arrival(envelope_from)) if could_act else None
    return Understanding(parsed, classification, reply, reading.intents, token, sender, reading, rt.now(), auth)


def _authentication(rt: Runtime, raw: bytes, parsed: ParsedMessage, arrival: Arrival) -> Authentication | None:
    """Checked only for mail a person sent that could make mailflow act (no DNS for bounces or strangers)."""
    if rt.config.inbound.dmarc == "off":
        return None
    return authenticate(rt.config, rt.resolver, raw, parsed.from_addr, arrival)


def unauthenticated(rt: Runtime, u: Understanding) -> str | None:
    """Why a command with an effect must not run: its From domain asks for DMARC and this message fails it."""
    if u.auth is None or rt.config.inbound.dmarc != "enforce":
        return None
    return u.auth.refusal()


def _reading(parsed: ParsedMessage, reply: str) -> Reading:
    # "RE: DUPLICATA: facture F2026-0042" is a thank-you, not a request: our own subject is not read
    return read_requests(parsed.subject, reply, echo=_echoes_our_subject(parsed), answered=_answered(parsed))


def _answered(parsed: ParsedMessage) -> tuple[str, ...]:
    """The document of our mail this replies to: "could you send this invoice again?" names no number."""
    replied = parsed.in_reply_to or (parsed.references[-1] if parsed.references else None)
    if not replied:
        return ()
    mails = Outbox.select(Outbox.document).where(Outbox.message_id == f"<{replied}>", Outbox.document.is_null(False))
    return tuple(number for (number,) in Document.select(Document.number).where(Document.id.in_(mails)).tuples())


def _echoes_our_subject(parsed: ParsedMessage) -> bool:
    """The subject is just the one of the mailflow mail this answers, with reply prefixes."""
    replied = [f"<{i}>" for i in [parsed.in_reply_to, *parsed.references] if i]
    if not replied:
        return False
    ours = Outbox.select(Outbox.subject).where(Outbox.message_id.in_(replied))
    return _folded(strip_subject_prefixes(parsed.subject)) in {_folded(o.subject) for o in ours}


def _folded(subject: str) -> str:
    return " ".join(subject.split()).casefold()


def _header_recipients(parsed: ParsedMessage) -> list[str]:
    # The IMAP door knows no envelope; the mailbox's copy still names the reply address in its headers.
    extra = [parse_address(v) for name in ("delivered-to", "x-original-to") for v in parsed.headers.get_all(name)]
    return parsed.to_addrs + [a for a in extra if a]


def check_token(rt: Runtime, recipients: list[str], sender: User | None = None) -> TokenCheck | None:
    """The sender's own valid token among `recipients`, else any valid one, else why the first is not."""
    checks = [_read(rt, token) for token in dict.fromkeys(filter(None, (_reply_token(rt, a) for a in recipients)))]
    valid = [c for c in checks if c.valid]
    own = [c for c in valid if sender is not None and c.user is not None and c.user.id == sender.id]
    return (own or valid or checks or [None])[0]


def _reply_token(rt: Runtime, address: str) -> str | None:
    domain = address.rpartition("@")[2].strip().strip(">").rstrip(".").lower()
    if domain not in own_domains(rt):
        return None
    return token_from_address(address, "reply")


def own_domains(rt: Runtime) -> set[str]:
    cfg = rt.config
    return {cfg.outbound.reply_domain.lower(), *(d.lower().rstrip(".") for d in cfg.inbound.smtp.domains)}


def _read(rt: Runtime, token: str) -> TokenCheck:
    try:
        claim = rt.signer.read_reply_token(token, today_utc(rt.now()))
    except TokenError as exc:
        return TokenCheck(False, exc.reason)
    user = User.get_or_none(User.id == claim.user_id)
    customer = Customer.get_or_none(Customer.id == claim.customer_id) if claim.customer_id else None
    if user is None:  # the account is gone: the token names nobody any more
        return TokenCheck(False, "invalid", claim)
    return TokenCheck(True, None, claim, user, customer)


def _registered(address: str | None) -> User | None:
    return User.get_or_none(User.email == address.lower()) if address else None


def as_json(u: Understanding) -> dict[str, Any]:
    """The `mailflow inbound inspect` view of a message."""
    bounce = u.classification.bounce
    return {
        "kind": u.kind,
        "from": u.parsed.from_addr,
        "subject": u.parsed.subject,
        "reply_text": u.reply_text,
        **_requests_json(u.at or SystemClock().now(), u),
        "bounce": None if bounce is None else _bounce_json(bounce),
        "complaint": _complaint_json(u.classification),
        "auto_reply": u.classification.signals if u.classification.kind is MessageKind.AUTO_REPLY else None,
        "token": _token_json(u),
        "authentication": u.auth.as_json() if u.auth else None,
        "dmarc_refusal": u.auth.refusal() if u.auth else None,  # what `[inbound] dmarc = enforce` would refuse
        "defects": u.parsed.defects,
    }


def _requests_json(now: datetime, u: Understanding) -> dict[str, Any]:
    """Each request with its confidence, decision and the words that made it; what looked like one and was not;
    and the question it would ask, or the open question it answers."""
    token = u.token
    purpose = token.claim.purpose if token and token.valid and token.claim else None
    return {"commands": [{"name": str(c.name), "args": list(c.args)} for c in u.commands],
            "requests": [c.as_json() for c in u.commands],
            "not_requests": [n.as_json() for n in u.reading.notes],
            "confirmation": confirmations.preview(u.sender if u.authorized else None, token.customer if token else None,
                                                  purpose, u.reply_text, [u.parsed.in_reply_to or "",
                                                                          *u.parsed.references], u.commands, now)}


def _bounce_json(bounce: BounceEvent) -> dict[str, Any]:
    return {"recipients": bounce.recipients, "permanent": bounce.permanent, "status": bounce.status,
            "diagnostic": bounce.diagnostic, "action": bounce.action, "cause": bounce.cause, "rule": bounce.rule,
            "original_message_id": bounce.original_message_id, "verp_tokens": list(bounce.verp_tokens),
            "per_recipient": [{"address": o.address, "action": o.action, "status": o.status, "cause": o.cause,
                               "permanent": o.permanent, "rule": o.rule} for o in bounce.outcomes]}


def _complaint_json(found: Classification) -> dict[str, Any] | None:
    if found.kind is not MessageKind.COMPLAINT or found.event is None:
        return None
    return {"recipients": found.recipients, "original_message_id": found.original_message_id,
            "verp_tokens": list(found.event.verp_tokens)}


def _token_json(u: Understanding) -> dict[str, Any] | None:
    token = u.token
    if token is None:
        return None
    return {"valid": token.valid, "reason": token.reason,
            "user": token.user.email if token.user else None,
            "customer": token.customer.number if token.customer else None,
            "sender_matches": u.authorized}
