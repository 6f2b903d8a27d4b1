"""What a delivery failure means: its cause, and whether it proves the address dead (RFC 3463 and MTA wording)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Cause", "DEAD_CAUSES", "Verdict", "judge", "names_cause", "status_class"]


class Cause(StrEnum):
    """Why a message was not delivered; the values are shown to staff and stored in action lines."""

    DELIVERED = "delivered"
    USER_UNKNOWN = "user_unknown"
    HOST_UNKNOWN = "host_unknown"
    MAILBOX_DISABLED = "suspended"
    HAS_MOVED = "has_moved"
    NO_MAIL_DOMAIN = "not_accept"
    FILTERED = "filtered"  # a "user unknown" said after DATA: a content filter speaking, the address was accepted
    SENDER_REJECTED = "sender_rejected"
    MAILBOX_FULL = "mailbox_full"
    TOO_BIG = "too_big"
    RATE_LIMITED = "rate_limited"
    SPAM = "spam"
    AUTH = "auth"
    BLOCKED = "blocked"
    NETWORK = "network_error"
    EXPIRED = "expired"
    SYSTEM = "system_error"
    MAILER = "mailer_error"  # the recipient side's local delivery program (procmail, a pipe) failed
    DELAYED = "delayed"


# "The address is dead": retrying can never succeed, whoever sends. Everything else is about the message,
# the sender, the path or the moment, and may pass.
DEAD_CAUSES = frozenset({Cause.USER_UNKNOWN, Cause.HOST_UNKNOWN, Cause.MAILBOX_DISABLED, Cause.HAS_MOVED,
                         Cause.NO_MAIL_DOMAIN})


@dataclass(frozen=True)
class Verdict:
    cause: Cause | None
    permanent: bool
    rule: str  # what decided, for staff and for the per-rule benchmark


# Recipient-rejection wording of the common MTAs and providers. Checked before the status code: it names the
# cause more precisely than the code many MTAs fill generically (5.0.0, or 5.1.1 for every refusal).
# Order matters only when one text matches several: the first cause listed wins unless the code agrees
# with another one.
_SPECIFIC: tuple[tuple[Cause, str], ...] = (
    # The sender's address or domain was refused: says nothing about the recipient (Postfix "Sender address
    # rejected", Exim "Sender verify failed", Gmail/Microsoft "sender domain"), nor does our own relay's refusal.
    (Cause.SENDER_REJECTED, r"sender (?:address )?rejected|sender verify failed|sender (?:domain|address) (?:is )?"
                            r"(?:invalid|unknown|not (?:found|allowed|valid)|must exist|does not exist)|"
                            r"domain of sender address|mail from (?:address )?(?:rejected|invalid|refused)|"
                            r"(?:bad|invalid) sender|unverified sender|sender not (?:allowed|authorized)|"
                            r"\bfrom:? domain (?:is )?(?:invalid|unknown|not found)"),
    (Cause.BLOCKED, r"relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)|no relaying|"
                    r"not (?:permitted|allowed) to relay|isn'?t in my list of allowed rcpthosts|"
                    r"we do not relay|unable to relay|(?:due to|by) (?:the )?recipient'?s? (?:preferences|settings)"),
    # A name server that failed to answer (Postfix "Host not found, try again", "Malformed or unexpected name
    # server reply"): the domain may well exist. Before the unknown-host wording, which it contains.
    (Cause.NETWORK, r"host not found, try again|malformed or unexpected name server reply|name server timeout|"
                    r"temporary failure in name resolution|dns (?:lookup )?(?:timeout|timed out|servfail)"),
    # Unknown mailbox. Postfix: "User unknown in local recipient table" / "virtual mailbox table"; Sendmail
    # and Courier: "User unknown"; Exim: "Unrouteable address", "unknown local-part"; cPanel Exim "No Such
    # User Here"; qmail: "no mailbox here by that name"; Exchange/Office 365: RESOLVER.ADR.RecipNotFound,
    # "Recipient not found by SMTP address lookup", directory-based edge blocking "Access denied. AS(2018…)";
    # Gmail: "account that you tried to reach does not exist"; Yahoo: "doesn't have a yahoo.com account";
    # Domino: "not listed in Domino Directory"; Yandex "No such user!"; and their usual variants.
    (Cause.USER_UNKNOWN, r"user(?:name)? (?:is )?unknown|unknown (?:user|recipient|local[- ]?part|mailbox|alias|"
                         r"e-?mail address)|no such (?:user|mailbox|recipient|account|person|local user|address)|"
                         r"recipient (?:unknown|not found|does not exist|invalid)|unroute?able address|"
                         r"no mailbox (?:here )?by that name|resolver\.adr\.(?:ex)?recip(?:ient)? ?notfound|"
                         r"recipient address rejected: access denied\. as\(|(?:account|mailbox|address|user|"
                         r"addressee) (?:that you tried to reach |you tried to reach )?(?:does not|doesn'?t|"
                         r"did not) exist|(?:user|mailbox|recipient|account|address) (?:was )?not found|"
                         r"invalid (?:recipient|mailbox|user|e-?mail address|local ?part)|"
                         r"(?:not a valid|no valid) (?:recipient|mailbox|user|address)(?!e?s? from)|addressee unknown|"
                         r"bad destination mailbox|(?:doesn'?t|does not) have an? [\w.-]+ account|"
                         r"not listed in (?:the )?(?:domino directory|public name & address book)|"
                         r"no account by that name|mailbox (?:name )?(?:not found|does not exist|unknown)|"
                         r"email address you entered couldn'?t be found|recipient rejected: unknown|"
                         r"is not a known user|unknown or illegal alias|recipient name is not recognized|"
                         r"no such address|address (?:not found|unknown|does not exist)|user not (?:found|local|known)|"
                         r"not a valid user|is not a valid mailbox|is not an active address|there is no one at this "
                         r"address|badrcptto|no mail ?box available for this user|unknown or invalid (?:virtual )?user|"
                         # Postfix check_recipient_access and Office 365 directory-based edge blocking: this address
                         # is refused whoever sends.
                         r"recipient address rejected: (?:access denied|invalid[- ](?:user|recipient)|"
                         r"unknown[- ]?user|user ?unknown|user \S+ does not)|"
                         # The same said by smaller MTAs and providers: qmail's badrcptto/validrcptto patches,
                         # vpopmail's vdeliver, IMail, Verizon, Cox, McAfee ("User not exist"), Notes' name
                         # directory, and the usual variants of "no such user".
                         r"badrecipientto|not in my validrcptto|invalid or unknown (?:virtual )?user|"
                         r"unknown or (?:illegal|invalid) user|"
                         r"invalid final delivery userid|not a valid [\w.-]+ (?:e-?mail )?account|"
                         r"non-?existent (?:user|recipient|mailbox|account|address)|"
                         r"(?:user|recipient|mailbox|account|address) (?:does )?not exists?\b|"
                         r"(?:user|recipient|mailbox) [<(]?[^\s<>()]+[>)]? (?:was )?(?:not found|unknown)\b|"
                         r"(?:mailbox|address|recipient) (?:is )?invalid\b|mailbox not present|"
                         r"no (?:such )?mailbox found|"
                         r"not present in (?:the )?(?:\w+ )?directory|no \S+ in (?:the )?name directory|"
                         r"(?:e-?mail )?address (?:could not|couldn'?t) be found|e-?mail name is not found|"
                         r"bad (?:recipient|destination address|address)\b|addresses were unknown|"
                         # The same in the languages of the people mailflow writes to, and a few more.
                         r"utilisateur inconnu|destinataire (?:inconnu|invalide)|adresse (?:du |d'un )?destinataire "
                         r"(?:invalide|inconnue)|adresse (?:e-?mail )?(?:inexistante|inconnue)|"
                         r"bo[iî]te (?:aux lettres )?(?:inexistante|introuvable)|(?:gebruiker|ontvanger) (?:is )?"
                         r"onbekend|onbekende (?:gebruiker|ontvanger)|(?:benutzer|empf(?:ä|ae)nger) (?:ist )?unbekannt|"
                         r"unbekannte[rs]? (?:benutzer|empf(?:ä|ae)nger)|postfach (?:existiert nicht|nicht vorhanden)|"
                         r"usuario (?:desconocido|no existe)|no existe (?:dicha persona|ese usuario)|"
                         r"utente (?:sconosciuto|inesistente)|nessun utente|"
                         # Lotus Domino / Notes in Japanese: "not found in the Domino directory", "not in the list"
                         r"ディレクトリ\S*(?:見つかりません|ありません)"),
    # Unknown domain. Postfix: "Host or domain name not found", "Domain not found"; Sendmail: "Host unknown";
    # qmail: "couldn't find any host named"; Exim: "all relevant MX records point to non-existent hosts";
    # Gmail: "DNS Error: Domain name not found", NXDOMAIN; Exchange: SMTPSEND.DNS.NonExistentDomain.
    (Cause.HOST_UNKNOWN, r"host or domain name not found|host unknown|unknown host|(?:domain|host)(?: name)? "
                         r"(?:not found|does not exist|doesn'?t exist)|no such domain|couldn'?t find any host|"
                         r"nxdomain|nonexistentdomain|non-?existent (?:domain|host)|bad destination system|"
                         r"(?<!sender )(?<!sender address rejected: )unknown domain|unable to resolve (?:host|domain)|"
                         r"domain (?:name )?(?:does not resolve|cannot be resolved)|"
                         r"unroute?able mail domain|name or service not known|"
                         # cPanel's Exim dnslookup router ("The account or domain may not exist, ... missing the
                         # proper dns entries": the domain cannot be routed), and "recipient domain must exist".
                         r"(?:account or )?domain may not exist|recipient domain must exist|"
                         r"mail domain (?:\w+ ){0,5}is unknown|domain (?:is )?(?:invalid|not "
                         r"registered|not reachable|unreachable)|can'?t find host|domain lookup failed|"
                         r"name service error for name=\S+ type=\w+: host not found|"
                         # Exim "all host address lookups failed permanently"; qmail "couldn't find a mail
                         # exchanger or IP address"; Exchange "the domain name in the e-mail address is
                         # incorrect", "could not be found in Domain Name Service"; Microsoft 365 "the domain
                         # x couldn't be found".
                         r"host address lookups failed permanently|couldn'?t find a mail exchanger|"
                         r"domain name in the e-?mail address is incorrect|could not be found in (?:the )?domain "
                         r"name (?:service|system)|domain [\w.-]+ (?:could not|couldn'?t) be found|"
                         # Gmail "we weren't able to find the recipient domain", "DNS server returned answer with
                         # no data"; Oracle Messaging Server "Illegal host/domain name found";
                         # DragonFly dma "DNS lookup failure: host x not found".
                         r"(?:weren'?t|were not) able to find the recipient domain|returned answer with no data|"
                         r"illegal host/domain name|dns lookup failure: host"),
    # A disabled mailbox (RFC 3463 X.2.1). Gmail: "account that you tried to reach is disabled"; Yahoo: "This
    # mailbox is disabled (554.30)"; Exim/cPanel: "account has been disabled or discontinued"; i.ua: "frozen".
    # "Disabled temporarily" (a receiving limit) is not closed: the negative lookahead keeps it out.
    (Cause.MAILBOX_DISABLED, r"(?<!temporarily )(?:account|mailbox|user|address)(?: or domain)?(?: that)?(?: you "
                             r"(?:tried|are trying) to reach)? (?:has been |is |was )?(?:currently )?(?:disabled|"
                             r"deactivated|suspended|inactive|frozen|discontinued|closed|locked|expired|terminated|"
                             r"archived)(?! temporar)|(?:mail )?receiving (?:is )?disabled|"
                             # Orange "Boite du destinataire archivee. Archived recipient."
                             r"archived (?:recipient|mailbox|account)|boite du destinataire archivee|"
                             r"(?:disabled|deactivated|suspended|inactive|expired) "
                             r"(?:recipient|account|mailbox|user|address)|not an active (?:account|mailbox)|"
                             r"(?:user|account|mailbox) (?:is )?not active|address no longer accepts mail|"
                             r"compte du destinataire est (?:bloqu|desactiv|supprim)|"
                             # Closed for disuse (Hotmail "blocked due to inactivity", EarthLink "dormant").
                             r"dormant (?:account|mailbox)|due to inactivity|no longer in service|"
                             r"not (?:been )?used for (?:more than )?\d+|inactive (?:e-?mail )?address|"
                             # qmail-ldap "Mailaddress is administratively disabled"; Exchange Online 5.7.505
                             r"administrativ\w* disabled|banned recipient"),
    (Cause.HAS_MOVED, r"\bhas moved\b|moved permanently|no longer (?:at|with|uses?) this (?:address|domain)|"
                      r"address (?:has )?changed to|no longer on (?:this |the )?server"),
    # RFC 7505 null MX: the domain says it takes no mail at all.
    # "Does not accept mail from x" is about the sender.
    (Cause.NO_MAIL_DOMAIN, r"null mx|does not accept (?:any )?(?:e-?)?mail(?! from)|accepts no (?:e-?)?mail|"
                           r"mx or srv record indicated no smtp service|domain does not receive mail|"
                           r"seems? to reject all mails?|"  # OpenSMTPD
                           r"no mx (?:records? )?(?:found )?for"),
    (Cause.MAILBOX_FULL, r"mailbox (?:is )?full|over ?quota|quota exceeded|exceeded (?:the |its |their )?"
                         r"(?:storage|quota|mailbox)|insufficient (?:system )?storage|mailbox size limit|"
                         r"disk quota|full mailbox|mailbox has exceeded|out of (?:disk )?space|"
                         r"mail ?folder is full|user is over|メールボックスが一杯"),
    (Cause.TOO_BIG, r"message (?:is )?too (?:big|large)|message (?:size|length) exceeds|exceeds (?:the )?"
                    r"(?:maximum )?(?:allowed )?(?:message )?size|size limit"),
    (Cause.RATE_LIMITED, r"too many (?:recipients|messages|connections|emails|mails)|rate limit|"
                         r"(?:sending|receiving) (?:rate|quota)|receiving mail (?:at a rate|too fast)"),
    (Cause.SPAM, r"\bspam\b|junk mail|black ?list|block ?list|\brbl\b|spamhaus|spamcop|reputation|"
                 r"content (?:was )?rejected|\bvirus\b|malware|phishing"),
    (Cause.AUTH, r"\bdmarc\b|\bspf\b|\bdkim\b|unauthenticated|authentication (?:checks )?(?:failed|required)|"
                 r"reverse dns|\bptr\b|not signed"),
    (Cause.NETWORK, r"connection (?:timed out|refused|reset)|network is unreachable|no route to host|"
                    r"did not accept our requests to connect|loops back to myself|mail (?:for \S+ )?loops back"),
    (Cause.EXPIRED, r"retry (?:timeout|time) (?:exceeded|not reached)|(?:delivery|message) (?:time )?expired|"
                    r"could not be delivered (?:for|within)|too long in (?:the )?queue|"
                    r"have been failing for a long time|queued? too long|unable to deliver .* for \d+ "
                    r"(?:hours|days)|giving up"),
)

# Wording too vague to name a cause on its own: used only when neither the wording above nor the code does.
# RFC 5321's own text for 550 ("mailbox unavailable") is what most servers send for an unknown mailbox.
_GENERIC: tuple[tuple[Cause, str], ...] = (
    (Cause.USER_UNKNOWN, r"mailbox (?:is )?(?:currently )?(?:unavailable|not available)|does(?:n'?t| not) exist|"
                         r"<[^\s<>]+@[^\s<>]+>:? (?:was )?not found|account (?:is )?(?:currently )?unavailable|"
                         r"not our customer|no longer (?:valid|exists?|"
                         r"in use)|address (?:is )?invalid|invalid address|存在しません"),
    (Cause.BLOCKED, r"\bblocked\b|\bbanned\b|access denied|not allowed|\brefused\b|\bpolicy\b|\breject(?:ed)?\b|"
                    r"not authori[sz]ed|denied"),
    (Cause.EXPIRED, r"timed? ?out"),
)

# RFC 3463 subject.detail → cause; X.1.10 is RFC 7505's null MX (Microsoft uses it for an unknown recipient:
# both dead); X.4.4 "unable to route" is what Postfix and others report for a domain that does not resolve.
# X.1.0 is "something about the address": the sender's address has codes of its own (X.1.7, X.1.8).
_STATUS_DETAIL: dict[str, Cause] = {
    "1.0": Cause.USER_UNKNOWN, "1.1": Cause.USER_UNKNOWN, "1.2": Cause.HOST_UNKNOWN, "1.3": Cause.USER_UNKNOWN,
    "1.6": Cause.HAS_MOVED, "1.10": Cause.NO_MAIL_DOMAIN, "1.7": Cause.SENDER_REJECTED, "1.8": Cause.SENDER_REJECTED,
    "2.1": Cause.MAILBOX_DISABLED, "2.2": Cause.MAILBOX_FULL, "2.3": Cause.TOO_BIG, "3.1": Cause.SYSTEM,
    "3.4": Cause.TOO_BIG, "4.4": Cause.HOST_UNKNOWN, "4.7": Cause.EXPIRED,
}
# Subject alone ("other" X.Y.0, or a detail not listed above): weaker than any wording. X.1.x and X.2.x
# without a listed detail say only "something about the address / mailbox".
_STATUS_SUBJECT: dict[str, Cause] = {"3": Cause.SYSTEM, "4": Cause.NETWORK, "5": Cause.SYSTEM, "6": Cause.SPAM,
                                     "7": Cause.BLOCKED}

# A refusal that came only after the message data was sent: the address had been accepted at RCPT time.
# Only the MTAs' explicit wording counts: a Sendmail transcript's ">>> DATA <<< 550" is no proof, since with
# PIPELINING the replies to RCPT TO arrive after DATA is sent.
_AFTER_DATA = re.compile(r"in reply to (?:end of )?data|after (?:end of )?data\b", re.IGNORECASE)
# Refused before any recipient was named (Postfix "in reply to MAIL FROM command", Exim "after MAIL FROM"):
# about the sender or the connection, whatever the words say.
_BEFORE_RCPT = re.compile(r"in reply to (?:mail from|helo|ehlo) command|after (?:mail from|helo|ehlo|initial "
                          r"connection)\b", re.IGNORECASE)
# A local delivery program's output (Diagnostic-Code type x-unix; Postfix pipe "Command output:", Exim's
# pipe transport): what procmail or a script said when it failed, often mapped from its exit status ("user
# unknown" for EX_NOUSER), not a server's verdict on the address. A mailer error, fixed on the recipient's side.
_FROM_PROGRAM = re.compile(r"^\s*x-unix\s*;|command output:|command died with status|"
                           r"child process of \S+ transport returned", re.IGNORECASE)
_PERMANENT_WORDS = re.compile(r"permanent (?:error|failure|fatal)|failed permanently|fatal error|"
                              r"i'?ve given up", re.IGNORECASE)
_TEMPORARY_WORDS = re.compile(r"temporar(?:y|ily) (?:error|failure|problem|deferred|unavailable|rejected)|"
                              r"will (?:be )?(?:retr|tr)(?:y|ied)|delayed|deferred|still trying", re.IGNORECASE)
_SUCCESS_ACTIONS = ("delivered", "relayed", "expanded")


def _compiled(table: tuple[tuple[Cause, str], ...]) -> tuple[tuple[Cause, re.Pattern[str]], ...]:
    return tuple((cause, re.compile(pattern, re.IGNORECASE)) for cause, pattern in table)


_SPECIFIC_RES = _compiled(_SPECIFIC)
_GENERIC_RES = _compiled(_GENERIC)


def judge(status: str | None, action: str | None, diagnostic: str | None, wording: str = "",
          reply_code: str | None = None) -> Verdict:
    """The cause of one recipient's failure and whether the address is dead.

    `status` is the RFC 3463 code as reported, `diagnostic` what the remote server said, `wording` the
    rest of the human-readable report. Dead needs a permanent refusal (class 5) and a cause that is about
    the address itself; a temporary one (4.x.x, a delay) never is, whatever its text says.
    """
    klass = status_class(status, action, reply_code, f"{diagnostic or ''}\n{wording}")
    if klass == "2":
        return Verdict(Cause.DELIVERED, False, "delivered")
    cause, rule = _staged(*_cause(status, diagnostic or "", wording), status, f"{diagnostic or ''}\n{wording}")
    cause, rule = _from_program(cause, rule, diagnostic or "")
    if klass == "4":
        return Verdict(cause or Cause.DELAYED, False, "temporary (class 4)")
    return Verdict(cause, cause in DEAD_CAUSES, rule)


def status_class(status: str | None, action: str | None, reply_code: str | None = None, wording: str = "") -> str:
    """"2", "4" or "5": from the code, else the report's action, else its words; a failure is final by default."""
    if (action or "") in _SUCCESS_ACTIONS:
        return "2"
    if action == "delayed":
        return "4"
    for code in (status, reply_code):
        if code and code[0] in "245":
            return code[0]
    # A report with no code and no action says it in words ("temporary failure", "will retry").
    if action is None and _TEMPORARY_WORDS.search(wording) and not _PERMANENT_WORDS.search(wording):
        return "4"
    return "5"


_UNKNOWN = (Cause.USER_UNKNOWN, Cause.HOST_UNKNOWN)  # what a server knows at RCPT TO (not a disabled mailbox)


def _staged(cause: Cause | None, rule: str, status: str | None, text: str) -> tuple[Cause | None, str]:
    """A dead-address cause stands only if the refusal came at RCPT TO: before it, the server had not heard of
    the recipient; after DATA, it had accepted the address (unless its code is about the address, X.1.x)."""
    if cause in DEAD_CAUSES and _BEFORE_RCPT.search(text):
        return Cause.BLOCKED, "refused before RCPT TO"
    if cause in _UNKNOWN and not (status or "").startswith(("5.1.", "4.1.")) and _AFTER_DATA.search(text):
        return Cause.FILTERED, "text after DATA"
    return cause, rule


def _from_program(cause: Cause | None, rule: str, diagnostic: str) -> tuple[Cause | None, str]:
    """A dead-address cause read from a local delivery program's output is that program failing (see
    _FROM_PROGRAM); other causes (a full mailbox) it may name as well as a server would."""
    if cause in DEAD_CAUSES and _FROM_PROGRAM.search(diagnostic):
        return Cause.MAILER, "local delivery program"
    return cause, rule


def names_cause(text: str) -> bool:
    """Whether a line names a cause in so many words (to pick a report's diagnostic line)."""
    return bool(_matches(_SPECIFIC_RES, text))


def _cause(status: str | None, diagnostic: str, wording: str) -> tuple[Cause | None, str]:
    """The first that names a cause: the server's specific wording, a specific code, the server's vaguer
    wording, the rest of the report's specific wording, the code's subject, the rest of the report's vaguer
    wording. The rest of the report comes late: it is often the reporting MTA's own gloss."""
    coded, subject_only = _status_cause(status)
    said = _matches(_SPECIFIC_RES, diagnostic)
    if said:
        return _agreed(said, coded, status)
    if coded is not None and not subject_only:
        return coded, f"status X.{status.split('.', 1)[1]}" if status else "status"
    for text, table, tier in ((diagnostic, _GENERIC_RES, "vague text"), (wording, _SPECIFIC_RES, "report text")):
        found = _matches(table, text)
        if found:
            return found[0], f"{tier}: {found[0]}"
    if coded is not None:
        return coded, f"status subject X.{status.split('.')[1]}" if status else "status"
    found = _matches(_GENERIC_RES, wording)
    return (found[0], f"vague report text: {found[0]}") if found else (None, "no cause found")


def _agreed(said: list[Cause], coded: Cause | None, status: str | None) -> tuple[Cause, str]:
    """The cause the wording names, preferring one the code agrees with.

    An X.2.x code says the mailbox exists (RFC 3463: "The mailbox exists, but something about the
    destination mailbox has caused the sending of this DSN"): a "user unknown" beside it is a filter's
    answer (Japanese mobile carriers refuse filtered senders so), not an unknown user.
    """
    if coded in said:
        return coded, f"text: {coded}"
    if said[0] is Cause.USER_UNKNOWN and (status or "").split(".")[1:2] == ["2"]:
        return coded or Cause.FILTERED, f"text vs status X.{status.split('.', 1)[1]}: mailbox exists"
    return said[0], f"text: {said[0]}"


def _status_cause(status: str | None) -> tuple[Cause | None, bool]:
    """The cause a code names, and whether it names only its subject (X.Y.0 "other", or an unlisted detail)."""
    if not status or status.count(".") != 2:
        return None, False
    _, subject, detail = status.split(".")
    found = _STATUS_DETAIL.get(f"{subject}.{detail}")
    return (found, False) if found is not None else (_STATUS_SUBJECT.get(subject), True)


def _matches(table: tuple[tuple[Cause, re.Pattern[str]], ...], text: str) -> list[Cause]:
    flat = " ".join(text.split())
    return [cause for cause, pattern in table if pattern.search(flat)] if flat else []
