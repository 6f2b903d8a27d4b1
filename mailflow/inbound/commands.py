"""Reply commands, one object each (name, words per language, rules, help line, who may use it, handler),
found through an explicit registry as Mailman's eml_* commands are."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from mailflow import actions, activation, documents, i18n
from mailflow.accounts import customers_of
from mailflow.errors import RateLimited
from mailflow.inbound.lexicon import SIGNAL, Cue, Rule, Words, rule
from mailflow.models import Customer, Document, Outbox, User
from mailflow.runtime import Runtime

if TYPE_CHECKING:  # answers reads the understanding, which reads these commands' words
    from mailflow.inbound.answers import Budget


class CommandName(StrEnum):
    HELP = "help"
    LOGIN = "login"
    RESEND = "resend"
    DUPLICATE = "duplicate"
    FREQUENCY = "frequency"
    STOP = "stop"
    CODE = "code"


class Takes(StrEnum):
    """What a command's arguments are, so the reader knows where to find them."""

    NOTHING = "nothing"
    DOCUMENTS = "documents"  # document numbers, from the clause or the mail it answers
    FREQUENCY = "frequency"  # one of HOW_OFTEN, from the words that say it


class Requested(Protocol):
    """A command as read from a message (see requests.Intent)."""

    name: CommandName
    args: tuple[str, ...]
    customer: str | None


@dataclass
class Request:
    """One command to carry out for a registered user, with what the reply token allowed."""

    rt: Runtime
    user: User
    customer: Customer | None  # the customer number the reply token names
    in_reply_to: str | None
    budget: Budget
    scope: Customer | None = None  # a customer number written in the message itself (DUPLICATE F… DL5…)

    def _(self, message: str, **values: object) -> str:
        return i18n.gettext(self.user.language, message, **values)


@dataclass
class Result:
    line: str | None  # what the answer says about this command, in the user's language
    action: str  # what staff read
    answered: bool = False  # the effect was itself a mail to the user (duplicate, link, invitation)
    outbox: Outbox | None = None


Handler = Callable[[Request, list[str]], list[Result]]
KEYWORD = "keyword"  # the tag of a command's own words in `Command.words`


@dataclass(frozen=True)
class Command:
    """Everything about one command. `words` maps a tag to its forms per language; the first form of the
    KEYWORD tag (of the value's tag, for FREQUENCY) is the one mailflow writes back to people."""

    name: CommandName
    help: str  # msgid of its line in HELP's answer
    handler: Handler
    words: Mapping[str, Words]
    rules: tuple[Rule, ...]
    public: bool = False  # works for a known sender without a valid reply token (answers go to their address)
    takes: Takes = Takes.NOTHING
    vetoes: frozenset[str] = field(default_factory=frozenset)  # refuse every rule but the keyword one

    @property
    def keyword_tag(self) -> str:
        return f"{KEYWORD}:{self.name}"

    def keyword(self, language: str, args: tuple[str, ...] = ()) -> str:
        """How this command is written in `language`: "DUPLICATA F2026-0042", "HEBDOMADAIRE"."""
        if self.takes is Takes.FREQUENCY and args:
            return self.words[args[0]][language][0].upper()
        return " ".join([self.words[KEYWORD][language][0].upper(), *args])


COMMANDS: dict[CommandName, Command] = {}


def register(command: Command) -> Command:
    COMMANDS[command.name] = command
    return command


def command_words() -> list[tuple[str, Words]]:
    """Every command's words for the reader's lexicon, keyword tags named after their command."""
    return [(c.keyword_tag if tag == KEYWORD else tag, forms) for c in COMMANDS.values()
            for tag, forms in c.words.items()]


# Asking: "pourriez-vous", "graag", "bitte", "send me…".
ASKS = SIGNAL


# --- help ---------------------------------------------------------------------------------------------------

def eml_help(req: Request, args: list[str]) -> list[Result]:
    intro = req._("Here is what you can do by replying to our mails. Write a command at the top of your reply, "
                  "or ask in your own words:")
    lines = [intro, *(req._(command.help) for command in COMMANDS.values()),
             req._("More help, with the answers to frequent questions: %(url)s", url=req.rt.url("help"))]
    return [Result("\n".join(lines), "help sent")]


# A question about one thing ("What can I do about invoice F2026-0042 by mail?", "How does the link work?") is
# about that thing, not about the commands
_SOMETHING_NAMED = frozenset({Cue.DOCUMENT, Cue.NUMBER, "copy", Cue.LINK, "activation", "password", "login", "portal",
                              Cue.SUMMARY, "immediate", "daily", "weekly", "monthly", Cue.PAPER, Cue.ADDRESS,
                              Cue.PAYMENT, Cue.CONTRACT, Cue.BROKEN, Cue.COMPLAINT})
register(Command(
    CommandName.HELP, "HELP: this list of commands.", eml_help, public=True,
    words={
        KEYWORD: {"en": ("help",), "fr": ("aide",), "nl": ("hulp", "help"), "de": ("hilfe",)},
        # "commandes" alone are orders too ("où en sont mes commandes ?"): only these phrases name ours
        "commands": {"en": ("commands", "list of commands", "keywords"),
                     "fr": ("liste des commandes", "quelles commandes", "les commandes possibles",
                            "commandes possibles", "commandes disponibles", "commandes par mail", "mots-clés",
                            "mots clés"),
                     "nl": ("commando's", "commando", "commandos", "trefwoorden", "welke opdrachten",
                            "welke instructies"),
                     "de": ("befehle", "befehlsliste", "schlüsselwörter", "stichwörter", "kommandos",
                            "welche anweisungen", "welche aufträge")},
        "by-reply": {"en": ("by replying", "by reply", "by answering", "replying to these emails",
                            "replying to your emails", "replying to these mails"),
                     "fr": ("en répondant", "par retour de mail", "en répondant à vos mails", "par réponse"),
                     "nl": ("door te antwoorden", "via antwoord", "per antwoord", "door te reageren"),
                     "de": ("per antwort", "durch antworten", "als antwort", "per antwort auf ihre mails")},
        # "What are my options by email?", "Wat kan ik allemaal via mail aanvragen?": what there is to ask
        "options": {"en": ("options", "my options", "possibilities", "what can i", "what i can", "things i can",
                           "list of things", "what else can i", "what can we", "what kind of requests",
                           "which requests", "what exactly can i", "which instructions", "what else i can"),
                    "fr": ("possibilités", "options", "demandes possibles", "quelles demandes", "qu'est-ce que je peux",
                           "qu'est-ce qu'on peut", "que puis-je", "que peut-on", "ce que je peux", "ce qu'on peut",
                           "que pouvons-nous", "quelles instructions"),
                    "nl": ("mogelijkheden", "opties", "wat kan ik", "wat ik kan", "wat kunnen we", "wat kunnen wij",
                           "welke aanvragen", "welke vragen", "wat ik allemaal"),
                    "de": ("möglichkeiten", "optionen", "was kann ich", "was ich", "was können wir",
                           "welche anfragen", "was kann ich sonst", "was kann ich sonst noch")},
        # …by mail, by replying ("wenn ich auf Ihre Mails antworte"): the doors the options are asked about
        "by-mail": {"en": ("by email", "by e-mail", "by mail", "via email", "over email", "per email", "if i reply",
                           "when i reply", "reply to this email", "replying to this email", "by replying",
                           "reply", "replying", "respond", "answer"),
                    "fr": ("par mail", "par e-mail", "par courriel", "par email", "en répondant", "si je réponds",
                           "réponds", "répondre", "répond", "répondant"),
                    "nl": ("via mail", "per mail", "via e-mail", "per e-mail", "via email", "per email",
                           "op deze mail antwoord", "op deze mail antwoorden", "op deze mail reageer",
                           "door te antwoorden",
                           "antwoord", "antwoorden", "reageer", "reageren", "beantwoord"),
                    "de": ("per mail", "per e-mail", "via mail", "per email", "via e-mail", "per antwort",
                           "per antwortmail", "antwortmail",
                           "wenn ich antworte", "auf diese mail antworte", "auf diese mail antworten",
                           "antworte", "antworten", "beantworte")},
        # verbs of the question itself ("Kunt u mij uitleggen wat…", "what else I can ask for"): known, no cue
        "explain": {"en": ("explain", "ask", "ask for", "tell me"), "fr": ("expliquer", "m'expliquer", "demander"),
                    "nl": ("uitleggen", "uitleg", "vragen", "aanvragen"), "de": ("erklären", "erklaeren", "fragen")},
        "works": {"en": ("work", "works", "does this work", "this works"),
                  "fr": ("fonctionne", "marche", "ça marche", "ça fonctionne", "fonctionnement"),
                  "nl": ("werkt", "werkt dit", "werkt het", "werking"),
                  "de": ("funktioniert", "funktioniert das", "läuft das", "geht das")},
    },
    rules=(
        rule("keyword", 1.0, {"keyword:help"}, keyword=True, allows={Cue.QUESTION_FORM, Cue.HOW}),
        rule("which-commands", 0.9, {"commands"}, ASKS | {Cue.QUESTION, Cue.HOW, Cue.QUESTION_FORM},
             allows={Cue.QUESTION_FORM}),
        rule("what-by-reply", 0.85, {"by-reply"}, {Cue.QUESTION, Cue.HOW, Cue.QUESTION_FORM},
             allows={Cue.QUESTION_FORM}, plain=True),
        rule("options-by-mail", 0.85, {"options"}, {"by-mail", "by-reply"}, vetoes=_SOMETHING_NAMED,
             allows={Cue.QUESTION_FORM, Cue.HYPOTHESIS, Cue.STATEMENT}),
        rule("how-it-works", 0.85, {Cue.HOW}, {"works"}, vetoes=_SOMETHING_NAMED, allows={Cue.QUESTION_FORM},
             plain=True),
    ),
))


# --- login --------------------------------------------------------------------------------------------------

def eml_login(req: Request, args: list[str]) -> list[Result]:
    if not req.budget.available():
        return [Result(None, "login link not sent: daily answer limit reached")]
    client = actions.REPLY_CLIENT if req.budget.signed else actions.UNSIGNED_MAIL_CLIENT
    out = actions.login_link(req.rt, req.user, client, in_reply_to=req.in_reply_to)
    if out is None:
        return [Result(req._("You asked for several login links in the last hour. Please use the most recent "
                             "one or try again later."), "login link not sent: rate-limited")]
    req.budget.spend()
    return [Result(req._("We sent you a login link in a separate mail."), "login link mailed", True, out)]


_PROBLEM = {Cue.CANT, Cue.BROKEN, Cue.EXPIRED}
register(Command(
    CommandName.LOGIN, "LOGIN: receive a link to log in to the portal.", eml_login, public=True,
    words={
        KEYWORD: {"en": ("login", "log in", "sign in", "log on"), "fr": ("connexion", "se connecter"),
                  "nl": ("aanmelden", "inloggen"), "de": ("anmelden", "einloggen", "login")},
        "login": {"en": ("login", "log in", "log-in", "logon", "log on", "sign in", "signin", "sign-in", "access",
                         "connect", "log into", "signing in", "logging in", "get into", "sign into", "sign on"),
                  "fr": ("connexion", "connecter", "me connecter", "se connecter", "nous connecter", "connecte",
                         "identifier", "m'identifier", "accéder", "accès", "login", "reconnecter", "me reconnecter",
                         "se reconnecter", "rentrer sur le site", "entrer sur le site", "session"),
                  "nl": ("aanmelden", "inloggen", "log in", "login", "inlog", "aanmeldlink", "inloglink",
                         "toegang", "aanmelding", "in te loggen", "aan te melden", "meld ik me aan", "inlog*",
                         "login*", "meld ik mij aan", "meld me aan", "ingelogd", "log ik in", "geraak ik", "raak ik",
                         "raak niet", "geraak niet",
                         "aanmeld", "aanmeldt", "mij aanmeld", "me aanmeld"),
                  "de": ("anmelden", "einloggen", "login", "anmeldung", "anmeldelink", "loginlink", "zugang",
                         "zugangs*", "login*", "anmelde*", "einlogg*",
                         "zugriff", "einwählen", "log-in", "melde ich mich an", "melde mich an",
                         "einzuloggen", "anzumelden", "komme ich in", "komme ich ins", "komme nicht ins",
                         "komme nicht in",
                         "zugreifen", "zuzugreifen", "zugreife")},
        # where one logs in: says what a login request is about, never asks for one by itself
        "portal": {"en": ("portal", "customer portal", "customer area", "online account", "my account"),
                   "fr": ("portail", "espace client", "espace en ligne", "mon compte", "site"),
                   "nl": ("portaal", "klantenportaal", "klantenzone", "*portaal", "mijn account", "website"),
                   "de": ("portal", "*portal", "kundenkonto", "mein konto", "website", "kundenbereich")},
        "password": {"en": ("password",), "fr": ("mot de passe", "mdp"), "nl": ("wachtwoord", "paswoord"),
                     "de": ("passwort", "kennwort")},
        "forgot": {"en": ("forgot", "forgotten", "lost", "reset"), "fr": ("oublié", "perdu", "réinitialiser"),
                   "nl": ("vergeten", "kwijt", "resetten"), "de": ("vergessen", "verloren", "zurücksetzen")},
    },
    rules=(
        rule("keyword", 1.0, {"keyword:login"}, keyword=True),
        rule("login-link", 0.95, {"login"}, {Cue.LINK}, ASKS | {Cue.SEND, Cue.GET, Cue.AGAIN, Cue.NEW}),
        rule("how-to-log-in", 0.9, {Cue.HOW}, {"login"}, allows={Cue.QUESTION_FORM}),
        rule("cannot-log-in", 0.85, {"login"}, _PROBLEM, allows={Cue.NEGATION, Cue.STATEMENT, Cue.QUESTION_FORM}),
        rule("wants-to-log-in", 0.85, {"login"}, {Cue.WANT, Cue.MODAL}),
        rule("forgot-password", 0.85, {"password"}, {"forgot"} | _PROBLEM | ASKS,
             allows={Cue.NEGATION, Cue.STATEMENT}),
        # "je n'arrive pas à l'ouvrir depuis le portail": the document does not open, the way in works
        rule("cannot-reach-portal", 0.85, {"portal"}, {Cue.CANT}, vetoes={"activation", Cue.OPEN},
             allows={Cue.NEGATION, Cue.STATEMENT}),
        # "Passwort vergessen - bitte Link zum Zurücksetzen schicken": the link of a message about logging in
        rule("link-for-login", 0.85, {Cue.LINK}, ASKS | {Cue.SEND, Cue.GET, Cue.AGAIN, Cue.NEW},
             topic={"login", "password", "forgot"}, off_topic={"activation"}),
    ),
    vetoes=frozenset({Cue.CONTRACT, Cue.PAYMENT, Cue.ELSEWHERE}),
))


# --- resend the invitation ----------------------------------------------------------------------------------

def eml_resend(req: Request, args: list[str]) -> list[Result]:
    if not req.budget.available():
        return [Result(None, "invitation not sent: daily answer limit reached")]
    if req.user.activated_at is not None:  # nothing to activate: what they need is a way in
        return [_login_instead(req, eml_login(req, args)[0])]
    out = actions.resend_invitation(req.rt, req.user, in_reply_to=req.in_reply_to)
    req.budget.spend()
    return [Result(req._("We sent you a new activation link in a separate mail. Earlier links no longer work."),
                   "invitation mailed again", True, out)]


def _login_instead(req: Request, sent: Result) -> Result:
    """The login link is the answer (its own mail): an active account has nothing left to activate."""
    return Result(sent.line, f"account already active: {sent.action} instead of an invitation", sent.answered,
                  sent.outbox)


register(Command(
    CommandName.RESEND, "RESEND: receive a new activation link for your account.", eml_resend,
    words={
        KEYWORD: {"en": ("resend", "re-send"), "fr": ("renvoyer", "renvoi"), "nl": ("opnieuw", "opnieuw sturen"),
                  "de": ("erneut senden", "erneut", "nochmal senden")},
        "activation": {"en": ("activation", "activate", "activating", "invitation", "invite", "registration",
                              "register", "activation link", "activation email"),
                       "fr": ("activation", "activer", "activé", "invitation", "inscription", "inscrire",
                              "lien d'activation", "enregistrement", "activez"),
                       "nl": ("activatie", "activeren", "activering", "uitnodiging", "registratie", "registreren",
                              "activatielink", "activeer", "activatiemail", "activ*"),
                       "de": ("aktivierung", "aktivieren", "einladung", "registrierung", "registrieren",
                              "aktivierungslink", "freischaltung", "freischalten", "aktivier*")},
        "code": {"en": ("code", "activation code", "codes"), "fr": ("code", "code d'activation", "codes"),
                 "nl": ("code", "activatiecode", "*code", "*codes"),
                 "de": ("code", "aktivierungscode", "*code", "*codes")},
    },
    rules=(
        # "Die PDF-Datei fehlt im Anhang. Bitte nochmal senden.": again the document, not the invitation
        rule("keyword", 1.0, {"keyword:resend"}, keyword=True, off_topic={Cue.DOCUMENT, Cue.NUMBER, "copy"}),
        rule("new-activation-link", 0.95, {"activation"}, ASKS | {Cue.AGAIN, Cue.NEW},
             {Cue.SEND, Cue.GET, Cue.LINK, Cue.AGAIN, Cue.NEW, Cue.MAIL}),
        # a link that does not open, in answer to a notice, is the document's link (a firewall, a browser): the
        # invitation is meant only where the message or the mail it answers is about activation
        rule("link-expired", 0.9, {Cue.LINK, "activation"}, {Cue.EXPIRED, Cue.BROKEN}, topic={"activation"},
             allows={Cue.NEGATION, Cue.STATEMENT, Cue.QUESTION_FORM}),
        rule("cannot-activate", 0.9, {"activation"}, {Cue.CANT, Cue.BROKEN, Cue.EXPIRED},
             allows={Cue.NEGATION, Cue.STATEMENT, Cue.QUESTION_FORM}),
        rule("never-got-activation", 0.9, {Cue.NEVER_GOT}, {"activation", Cue.LINK},
             allows={Cue.NEGATION, Cue.STATEMENT}),
        rule("never-received-activation", 0.85, {Cue.NEGATION}, {Cue.RECEIVED, Cue.GET}, {"activation"},
             allows={Cue.NEGATION, Cue.STATEMENT}),
        rule("link-again", 0.85, {Cue.LINK}, {Cue.AGAIN, Cue.NEW, Cue.SEND}, ASKS,
             off_topic={"login", "password", "forgot"}),
        rule("send-it-again", 0.85, ASKS, {Cue.SEND, Cue.AGAIN, Cue.NEW}, refers={"activation", Cue.LINK},
             off_topic={"login", "password", "forgot"}),
    ),
    vetoes=frozenset({"code", "login", "password", Cue.PAPER, Cue.CONTRACT, Cue.ELSEWHERE, Cue.NUMBER}),
))


# --- duplicate ----------------------------------------------------------------------------------------------

def eml_duplicate(req: Request, args: list[str]) -> list[Result]:
    if not args:
        return [Result(req._("Please add the document number after DUPLICATE, for example: "
                             "DUPLICATE F2026-0042."), "duplicate refused: no document number")]
    return [_duplicate(req, number) for number in args[:5]]


def _duplicate(req: Request, number: str) -> Result:
    if not req.budget.available():
        return Result(None, f"duplicate {number} not sent: daily answer limit reached")
    found = _within(documents.visible_by_number(req.user, number), req.scope or req.customer)
    if not found:  # unknown and not visible read the same: no answer tells which documents exist
        return Result(req._("We found no document %(number)s among the documents you can see. Please check "
                            "the number.", number=number), f"duplicate {number}: no such visible document")
    if len(found) > 1:
        return _which(req, number, found)
    return _send_duplicate(req, found[0])


def _within(found: list[Document], customer: Customer | None) -> list[Document]:
    """The document of the customer number the reply names, when it has that number; else all found."""
    named = [doc for doc in found if customer is not None and doc.customer_id == customer.id]
    return named or found


def _which(req: Request, number: str, found: list[Document]) -> Result:
    """The same number under several customer numbers (two issuers): ask, never guess whose."""
    choices = ", ".join(f"{doc.customer.number} ({i18n.nested(doc.customer.company)})" for doc in found)
    text = req._("Document %(number)s exists for several of your customer numbers: %(choices)s. Please write "
                 "the customer number after the document number, for example: DUPLICATE %(number)s %(example)s.",
                 number=number, choices=choices, example=found[-1].customer.number)
    return Result(text, f"duplicate {number}: under {len(found)} customer numbers, asked which")


def _send_duplicate(req: Request, document: Document) -> Result:
    number = document.number
    try:
        request = actions.duplicate(req.rt, req.user, document.id, "mail", in_reply_to=req.in_reply_to)
    except RateLimited:
        limit = req.rt.config.limits.duplicates_per_document_per_day
        return Result(req._("You have already asked for %(limit)s duplicates of %(number)s today. Please try "
                            "again tomorrow.", limit=limit, number=number), f"duplicate {number}: rate-limited")
    req.budget.spend()
    return Result(req._("We sent you the duplicate of %(number)s in a separate mail.", number=number),
                  f"duplicate {number} ({document.customer.number}) mailed", True, request.outbox)


def customer_scope(commands: list[Requested], user: User) -> tuple[list[Requested], Customer | None]:
    """Where DUPLICATE looks: a customer number the user sees, written as such ("client DL5765432") or where
    document numbers go (`DUPLICATE F2026-0042 DL5765432`), says where to look rather than naming a document."""
    visible = {c.number: c for c in customers_of(user)}
    written = [c.customer for c in commands if c.customer in visible]
    named = [c for c in commands if c.name == CommandName.DUPLICATE and c.args and c.args[0] in visible]
    rest = [c for c in commands if c not in named]
    if named and rest != commands:
        return rest, visible[named[0].args[0]]
    return commands, visible[written[0]] if written else None


# A clause asking for a summary or a rhythm ("die Zusammenfassung nur noch monatlich schicken") asks no copy
_NOT_OUR_DOCUMENTS = {Cue.COMPLAINT, Cue.ADDRESS, Cue.ELSEWHERE, Cue.FUTURE, Cue.PAPER, Cue.EMAIL, Cue.CONTRACT,
                      Cue.PAYMENT, "activation", "login", "password", "code", Cue.LINK, "stop-verb", "unsubscribe",
                      "remove-me", Cue.SUMMARY, "daily", "weekly", "monthly"}
register(Command(
    CommandName.DUPLICATE,
    "DUPLICATE <number>: receive a copy of a document with its PDF, for example DUPLICATE F2026-0042.",
    eml_duplicate, takes=Takes.DOCUMENTS,
    words={
        KEYWORD: {"en": ("duplicate", "copy"), "fr": ("duplicata", "copie", "duplicat"),
                  "nl": ("duplicaat", "kopie", "duplicata"), "de": ("duplikat", "kopie", "zweitschrift")},
        "copy": {"en": ("copy", "copies", "duplicate", "duplicates", "second copy", "reprint", "pdf copy"),
                 "fr": ("copie", "copies", "duplicata", "duplicatas", "double", "un double", "duplicat",
                        "seconde copie", "exemplaire", "un autre exemplaire"),
                 "nl": ("kopie", "kopieën", "kopij", "duplicaat", "duplicaten", "afschrift", "duplicata",
                        "*kopie", "exemplaar"),
                 "de": ("kopie", "kopien", "duplikat", "duplikate", "duplikats", "duplikates", "duplikaten",
                        "zweitschrift", "abschrift", "zweitausfertigung",
                        "*kopie", "*duplikat", "ausfertigung", "exemplar")},
        # "no attachment on your mail, could you try again?" in answer to a duplicate: that mail, once more
        "retry": {"en": ("try again", "retry", "try once more", "have another go", "give it another try"),
                  "fr": ("réessayer", "réessayez", "essayer à nouveau", "retenter", "essayer encore"),
                  "nl": ("opnieuw proberen", "nog eens proberen", "probeer opnieuw", "probeer nog eens",
                         "nog een keer proberen", "proberen"),
                  "de": ("probieren", "versuchen", "erneut versuchen", "nochmal probieren", "noch einmal versuchen",
                         "probieren sie es")},
        # "Bedankt voor het duplicaat. Mag ik hetzelfde voor F2026-0063?": what was done, for other documents
        "same": {"en": ("the same", "same thing", "likewise"), "fr": ("la même chose", "de même", "idem", "pareil"),
                 "nl": ("hetzelfde", "hetzelfde doen", "idem", "net zo"),
                 "de": ("dasselbe", "das gleiche", "das selbe", "ebenso", "genauso")},
    },
    rules=(
        rule("keyword", 1.0, {"keyword:duplicate"}, keyword=True),
        rule("try-again", 0.9, ASKS, {"retry"}, topic={"keyword:duplicate"}, off_topic={Cue.LINK}),
        rule("same-for-others", 0.85, {"same"}, {Cue.NUMBER}, ASKS, topic={"keyword:duplicate"}),
        rule("ask-to-send", 0.95, ASKS, {Cue.SEND}),
        rule("ask-for-copy", 0.95, ASKS | {Cue.GET}, {"copy"}),
        rule("copy-of-number", 0.85, {"copy"}, {Cue.NUMBER}),
        rule("ask-again", 0.9, ASKS, {Cue.AGAIN}, {Cue.NUMBER}),
        # "bräuchte die Rechnung nochmal", "la facture encore svp": no verb, so only when nothing else is said
        rule("document-again", 0.9, ASKS, {Cue.AGAIN}, {Cue.DOCUMENT, "copy"}, plain=True),
        rule("ask-to-get-again", 0.85, ASKS, {Cue.AGAIN, Cue.NEW}, {Cue.GET, Cue.RECEIVED}, {Cue.DOCUMENT, "copy"}),
        rule("number-again", 0.85, {Cue.NUMBER}, {Cue.AGAIN}, {Cue.REQUEST, Cue.SEND, Cue.GET}),
        rule("want-number", 0.85, {Cue.WANT}, {Cue.NUMBER}, plain=True),
        # "kan ik deze factuur intussen gewoon als pdf krijgen?": the document itself, nothing else said
        rule("ask-to-get", 0.85, ASKS, {Cue.GET}, {Cue.THIS_DOCUMENT, Cue.NUMBER}, plain=True),
        rule("send-number", 0.8, {Cue.SEND}, {Cue.NUMBER}),
        rule("never-got-it", 0.6, {Cue.NEVER_GOT}, {Cue.NUMBER, Cue.DOCUMENT}, vetoes={Cue.MAIL},
             allows={Cue.NEGATION, Cue.STATEMENT}),
        rule("number-please", 0.6, {Cue.NUMBER}, {Cue.REQUEST}),
        rule("document-please", 0.6, {Cue.DOCUMENT}, {Cue.REQUEST, Cue.WANT}),
    ),
    vetoes=frozenset(_NOT_OUR_DOCUMENTS),
))


# --- frequency ----------------------------------------------------------------------------------------------

HOW_OFTEN = {"immediate": "as soon as they are published", "daily": "once a day", "weekly": "once a week",
             "monthly": "once a month"}


def eml_frequency(req: Request, args: list[str]) -> list[Result]:
    frequency = args[0] if args and args[0] in HOW_OFTEN else None
    if frequency is None:
        return [Result(req._("Please write IMMEDIATE, DAILY, WEEKLY or MONTHLY."), "frequency refused: no value")]
    actions.set_frequency(req.rt, req.user, frequency, req.customer)
    text = req._("From now on you will be told about new documents %(how)s, for %(scope)s.",
                 how=req._(HOW_OFTEN[frequency]), scope=_scope(req))
    return [Result(text, f"frequency set to {frequency} for {_staff_scope(req)}")]


FREQUENCY_TAGS = tuple(HOW_OFTEN)
# "Surtout ne changez rien", "keep it as it is": whatever else the message says, no setting is asked to change
_AS_IT_IS = frozenset({Cue.KEEP})
register(Command(
    CommandName.FREQUENCY,
    "IMMEDIATE, DAILY, WEEKLY or MONTHLY: choose how often you are told about new documents.",
    eml_frequency, takes=Takes.FREQUENCY,
    words={
        "immediate": {"en": ("immediate", "immediately", "each time", "every time", "for each invoice",
                             "for every invoice", "for each document", "one email per invoice", "one mail per invoice",
                             "as soon as", "individual", "separately", "each invoice", "every invoice", "real time",
                             "for each new invoice", "for every new invoice", "each new invoice", "every new invoice",
                             "right away",
                             "straight away", "whenever", "the moment", "as soon as it"),
                      "fr": ("immédiat", "immédiatement", "à chaque facture", "pour chaque facture",
                             "pour chaque document", "à chaque document", "un mail par facture",
                             "un e-mail par facture", "dès que", "dès qu'", "individuel", "individuels",
                             "séparément", "chaque facture", "en temps réel", "à chaque fois", "chaque fois",
                             "à chaque nouvelle facture", "pour chaque nouvelle facture", "chaque nouvelle facture",
                             "à chaque nouveau document"),
                      "nl": ("onmiddellijk", "meteen", "direct", "bij elke factuur", "voor elke factuur",
                             "per factuur", "elke factuur", "één mail per factuur", "een mail per factuur", "zodra",
                             "afzonderlijk", "apart", "telkens", "elke keer", "iedere factuur", "per document",
                             "bij elke nieuwe factuur", "voor elke nieuwe factuur", "elke nieuwe factuur"),
                      "de": ("sofort", "sofortig", "sofortige", "bei jeder rechnung", "für jede rechnung",
                             "jede rechnung", "eine mail pro rechnung", "pro rechnung", "sobald", "einzeln",
                             "einzelne", "jedes mal", "jedes dokument", "umgehend", "bei jeder neuen rechnung",
                             "für jede neue rechnung", "jede neue rechnung", "für jede rechnung")},
        "daily": {"en": ("daily", "every day", "each day", "once a day", "per day", "a day"),
                  "fr": ("quotidien", "quotidienne", "quotidiennement", "chaque jour", "tous les jours",
                         "une fois par jour", "par jour", "journalier", "journalière"),
                  "nl": ("dagelijks", "dagelijkse", "elke dag", "iedere dag", "per dag", "één keer per dag",
                         "een keer per dag", "eens per dag", "1x per dag", "dag overzicht"),
                  "de": ("täglich", "tägliche", "täglichen", "jeden tag", "einmal am tag", "einmal täglich",
                         "pro tag", "tagesweise", "einmal pro tag")},
        "weekly": {"en": ("weekly", "every week", "each week", "once a week", "per week", "a week"),
                   "fr": ("hebdomadaire", "hebdomadaires", "hebdo", "chaque semaine", "toutes les semaines",
                          "une fois par semaine", "par semaine", "une fois la semaine"),
                   "nl": ("wekelijks", "wekelijkse", "elke week", "iedere week", "per week", "één keer per week",
                          "een keer per week", "eens per week", "1x per week", "weekoverzicht"),
                   "de": ("wöchentlich", "wöchentliche", "wöchentlichen", "jede woche", "einmal pro woche",
                          "einmal die woche", "einmal in der woche", "pro woche", "wochenweise",
                          "wochenübersicht")},
        "monthly": {"en": ("monthly", "every month", "each month", "once a month", "per month", "a month"),
                    "fr": ("mensuel", "mensuelle", "mensuellement", "chaque mois", "tous les mois",
                           "une fois par mois", "par mois", "une fois le mois"),
                    "nl": ("maandelijks", "maandelijkse", "elke maand", "iedere maand", "per maand",
                           "één keer per maand", "een keer per maand", "eens per maand", "1x per maand",
                           "maandoverzicht"),
                    "de": ("monatlich", "monatliche", "monatlichen", "jeden monat", "einmal im monat",
                           "einmal pro monat", "pro monat", "monatsweise", "monatsübersicht")},
    },
    rules=(
        rule("keyword", 1.0, FREQUENCY_TAGS, keyword=True),
        rule("summary", 0.9, FREQUENCY_TAGS, {Cue.SUMMARY, Cue.MAIL},
             ASKS | {Cue.SUFFICE, Cue.PREFER, Cue.ONLY, Cue.INSTEAD, Cue.GET}, off_topic=_AS_IT_IS),
        rule("is-enough", 0.9, FREQUENCY_TAGS, {Cue.SUFFICE, Cue.PREFER, Cue.INSTEAD}, off_topic=_AS_IT_IS),
        rule("summary-named", 0.85, FREQUENCY_TAGS, {Cue.SUMMARY}, plain=True,  # "Un récapitulatif quotidien, merci."
             off_topic=_AS_IT_IS),
        # "ne les recevoir qu'une fois par mois", "nur noch einmal im Monat bitte"
        rule("only-how-often", 0.85, FREQUENCY_TAGS, {Cue.ONLY}, ASKS | {Cue.GET}, off_topic=_AS_IT_IS),
        rule("documents-how-often", 0.6, FREQUENCY_TAGS, {Cue.DOCUMENT}, ASKS | {Cue.GET}, off_topic=_AS_IT_IS),
    ),
    # "wir bekommen momentan für jede Rechnung eine Mail" tells how it is, not how it should be; "I'm happy to get
    # an email for every invoice" that it is fine so
    vetoes=frozenset({Cue.PAYMENT, Cue.CONTRACT, Cue.COMPLAINT, Cue.PAPER, Cue.ADDRESS, Cue.ELSEWHERE,
                      Cue.NUMBER, Cue.CURRENT, Cue.SATISFIED}),
))


# --- stop ---------------------------------------------------------------------------------------------------

def eml_stop(req: Request, args: list[str]) -> list[Result]:
    actions.set_frequency(req.rt, req.user, "off", req.customer)
    text = req._("You will no longer receive notifications by mail for %(scope)s. To turn them back on, reply "
                 "IMMEDIATE, DAILY, WEEKLY or MONTHLY, or change your settings at %(url)s.",
                 scope=_scope(req), url=req.rt.url("settings"))
    return [Result(text, f"notifications off for {_staff_scope(req)}")]


def _scope(req: Request) -> str:
    if req.customer is None:
        return req._("all your customer numbers")
    return req._("customer number %(number)s", number=req.customer.number)


def _staff_scope(req: Request) -> str:
    return req.customer.number if req.customer else "all customer numbers"


# "Bitte aus dem Verteiler nehmen": out of the list says both what and which way
_OUT_OF_THE_LIST = ("aus dem verteiler", "aus ihrem verteiler", "aus der liste", "aus ihrer liste",
                    "aus der mailingliste", "aus dem e-mail-verteiler", "aus dem mailverteiler")
register(Command(
    CommandName.STOP, "STOP: no more notifications by mail.", eml_stop,
    words={
        KEYWORD: {"en": ("stop", "unsubscribe", "opt out", "opt-out"),
                  "fr": ("stop", "désinscrire", "désabonner", "désinscription", "désabonnement", "stopper"),
                  "nl": ("stop", "afmelden", "uitschrijven", "afmelding", "uitschrijving", "stoppen"),
                  "de": ("stop", "abmelden", "abbestellen", "abmeldung", "austragen", "stopp")},
        "unsubscribe": {"en": ("unsubscribe", "opt out", "opt-out", "unsubscribed", "unsubscribing", "opt me out",
                               "opt us out", "sign me off", "sign me out of"),
                        "fr": ("désinscrire", "désabonner", "désinscription", "désabonnement", "désinscrit",
                               "me désinscrire", "me désabonner", "désinscrivez", "désabonnez"),
                        "nl": ("afmelden", "uitschrijven", "afmelding", "uitschrijving", "uitgeschreven",
                               "afgemeld", "schrijf me uit", "meld me af", "uit te schrijven", "af te melden",
                               "schrijf mij uit", "meld mij af"),
                        "de": ("abmelden", "abbestellen", "abmeldung", "austragen", "abbestellung", "abbestellt",
                               "abgemeldet", "tragen sie mich aus", "melden sie mich ab", "melde mich ab",
                               "abzumelden", "abzubestellen", "auszutragen", "tragen sie mich", "austragen lassen",
                               "ausgetragen", "gestrichen werden", "entfernt werden")},
        "stop-verb": {"en": ("stop", "cease", "quit", "halt", "discontinue", "turn off", "switch off", "disable",
                             "deactivate"),
                      "fr": ("arrêter", "arrêtez", "cesser", "cessez", "stopper", "stoppez", "stop", "arrête",
                             "désactiver", "désactivez", "couper", "coupez"),
                      "nl": ("stoppen", "stop", "stopt", "ophouden", "hou op", "beëindigen", "stopzetten",
                             "uitschakelen", "uitzetten", "afzetten", "schakel uit", "zet uit"),
                      "de": ("aufhören", "hören sie auf", "einstellen", "stoppen", "stoppen sie", "beenden",
                             "unterlassen", "stopp", "hören sie bitte auf", "hört auf", "hört bitte auf",
                             "abstellen", "ausschalten", "abschalten", "deaktivieren")},
        "remove-me": {"en": ("remove me", "take me off", "delete me", "remove my address", "remove my email",
                             "taken off", "be removed", "removed from", "take my address off"),
                      "fr": ("retirez-moi", "retirer de", "supprimez-moi", "enlevez-moi", "retirer mon adresse",
                             "supprimer mon adresse", "me retirer", "me supprimer"),
                      "nl": ("haal mij", "haal me", "verwijder mij", "verwijder me", "schrap mij", "schrap me",
                             "mij verwijderen", "me verwijderen", "te halen"),
                      "de": ("streichen sie mich", "entfernen sie mich", "löschen sie mich", "mich entfernen",
                             "mich löschen", "mich streichen")},
        "list": {"en": ("list", "mailing list", "distribution list", "mailing lists"),
                 "fr": ("liste", "liste de diffusion", "liste d'envoi"),
                 "nl": ("lijst", "mailinglijst", "verzendlijst", "mailinglist", "adressenlijst"),
                 "de": ("liste", "verteiler", "verteilerliste", "mailingliste", "e-mail-verteiler", "*verteiler",
                        "empfängerliste", "adressliste", *_OUT_OF_THE_LIST)},
        # "streichen Sie meine Adresse aus dem Verteiler": to take off a list, the list named
        "remove": {"en": ("remove", "delete", "take off", "drop", "erase"),
                   "fr": ("retirer", "retirez", "supprimer", "supprimez", "enlever", "enlevez", "rayer", "rayez",
                          "radier", "radiez"),
                   "nl": ("verwijderen", "verwijder", "te verwijderen", "schrappen", "schrap", "te schrappen",
                          "halen", "haal", "te halen", "af te voeren", "afvoeren"),
                   "de": ("streichen", "entfernen", "löschen", "herausnehmen", "rausnehmen", "zu streichen",
                          "zu entfernen", "zu löschen", *_OUT_OF_THE_LIST)},
    },
    rules=(
        rule("keyword", 1.0, {"keyword:stop"}, keyword=True),
        rule("unsubscribe", 0.95, {"unsubscribe"}, ASKS | {Cue.MAIL}, off_topic=_AS_IT_IS),
        rule("how-to-unsubscribe", 0.85, {"unsubscribe"}, {Cue.HOW}, allows={Cue.QUESTION_FORM}, off_topic=_AS_IT_IS),
        # "I don't need the login link any more, …the link in the notification": no more of a link, not of mail
        rule("no-more-mail", 0.95, {Cue.NO_MORE}, {Cue.MAIL}, ASKS | {Cue.GET, Cue.SEND, Cue.NEGATION},
             vetoes={Cue.LINK, "login", "activation", "password"}, allows={Cue.NEGATION}, off_topic=_AS_IT_IS),
        rule("stop-sending", 0.9, {"stop-verb"}, {Cue.SEND, Cue.MAIL}, off_topic=_AS_IT_IS),
        rule("remove-from-list", 0.9, {"remove-me"}, {"list", Cue.MAIL}, off_topic=_AS_IT_IS),
        rule("take-off-list", 0.9, {"remove"}, {"list"}, ASKS, off_topic=_AS_IT_IS),
    ),
    # Looking for a mail, another person's address, a move, "ik krijg geen mails meer" (a complaint that they
    # stopped): not the end of the notices
    vetoes=frozenset({Cue.PAPER, Cue.CONTRACT, Cue.PAYMENT, Cue.ELSEWHERE, Cue.COMPLAINT, Cue.NUMBER,
                      Cue.DOCUMENT, "copy", Cue.FIND, Cue.NEVER_GOT, Cue.ADDRESS, Cue.EMAIL, Cue.CURRENT}),
))


# --- activation code ----------------------------------------------------------------------------------------

def eml_code(req: Request, args: list[str]) -> list[Result]:
    customer = req.scope or req.customer  # a number the person sees, written, or that of the mail answered
    if customer is None:
        return [Result(req._("Please write which customer number, for example: CODE client DL2123456."),
                       "activation code refused: no customer number")]
    if not req.budget.available():
        return [Result(None, f"activation code for {customer.number} not sent: daily answer limit reached")]
    mine = customer.primary_user_id == req.user.id
    out = activation.mail_code(req.rt, customer, req.user.email, req.in_reply_to if mine else None)
    req.budget.spend()
    if mine:
        return [Result(req._("We sent you a new activation code for %(number)s in a separate mail. Earlier codes "
                             "no longer work.", number=customer.number), f"activation code for {customer.number} "
                                                                         "mailed", True, out)]
    return [Result(req._("A new activation code for %(number)s was sent to its primary contact, who can use it "
                         "or pass it on.", number=customer.number),
                   f"activation code for {customer.number} mailed to its primary contact")]


# Only a valid reply token from the person's own address (not public): a new code voids the one of the letter.
register(Command(
    CommandName.CODE,
    "CODE: a new paperless activation code for the customer number of the mail you answer (or write it: CODE "
    "client DL2123456), mailed to the primary contact of that number.",
    eml_code,
    words={
        KEYWORD: {"en": ("code", "activation code"), "fr": ("code", "code d'activation", "code activation"),
                  "nl": ("code", "activeringscode", "activatiecode"), "de": ("code", "aktivierungscode")},
        "code": {"en": ("codes", "activation codes"), "fr": ("codes", "codes d'activation"),
                 "nl": ("codes", "activatiecodes", "activeringscodes"),
                 "de": ("codes", "aktivierungscodes")},
        # what the code is for: "pour repasser au sans-papier" says no 'sans' (no negation), no paper
        "paperless": {"en": ("paperless", "paper-free", "paper free"),
                      "fr": ("sans papier", "zéro papier", "zero papier"),
                      "nl": ("papierloos", "papierloze", "papiervrij"),
                      "de": ("papierlos", "papierlose", "papierlosen", "papierloses", "papierfrei")},
        # a code is made, not sent again: "générer un nouveau code", "een nieuwe code aanmaken"
        "make": {"en": ("generate", "create", "issue", "make"),
                 "fr": ("générer", "créer", "établir", "émettre", "générez", "créez"),
                 "nl": ("aanmaken", "genereren", "maken", "aan te maken", "maak", "maakt"),
                 "de": ("erstellen", "generieren", "erzeugen", "ausstellen", "ausgeben")},
    },
    rules=(
        rule("keyword", 1.0, {"keyword:code"}, keyword=True),
        rule("ask-for-code", 0.9, {"keyword:code", "code"}, ASKS, {Cue.SEND, Cue.GET, Cue.AGAIN, Cue.NEW, "make"}),
        # "… le code reçu n'est plus valable. Pourriez-vous nous en générer un nouveau ?", "Can we get a new one?"
        # in a message about the code, naming nothing else
        rule("another-one", 0.85, ASKS, {Cue.NEW, "make"}, topic={"code", "keyword:code"},
             vetoes={Cue.DOCUMENT, Cue.NUMBER, "copy", Cue.LINK, "login", Cue.MAIL, Cue.SUMMARY, "activation"}),
    ),
    vetoes=frozenset({Cue.COMPLAINT, Cue.PAYMENT, Cue.CONTRACT, Cue.ELSEWHERE, Cue.NEVER_GOT, "login", "password"}),
))


def refused(req: Request, name: str, reason: str | None) -> Result:
    """A command that needs a valid reply token from its own user, given without one: staff decide."""
    if reason == "expired":
        line = req._("The reply address of the mail you answered has expired, so we did not carry out your "
                     "request. Please reply to a more recent mail from us. Your message has been passed on "
                     "to our support team.")
    else:
        line = req._("We can only carry out this request when you reply to one of our mails from the address "
                     "it was sent to. Your message has been passed on to our support team.")
    return Result(line, f"{name} not acted on: reply token {reason or 'missing'}; sent to staff")
