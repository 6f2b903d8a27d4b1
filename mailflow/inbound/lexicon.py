"""The words of FR, NL, EN and DE that tell a request from a remark: cues, their matching, and typo tolerance."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["CONTRAST", "COUNTS", "INFINITIVE_MARKS", "Cue", "Entry", "GENERIC_VETOES", "Lexicon", "Rule", "SIGNAL", "WORDS", "asks_politely",
           "build", "fold", "rule", "words_of"]

Words = Mapping[str, tuple[str, ...]]  # language → forms: "word", "several words", "stem*", "*suffix"


class Cue(StrEnum):
    """What a word says about the sentence it is in. Commands add their own (see commands.py)."""

    REQUEST = "request"  # please, svp, graag, bitte, thanks in advance
    MODAL = "modal"  # could you, pourriez-vous, kunt u, können Sie, is it possible
    WANT = "want"  # I'd like, je voudrais, ik wil, ich möchte, I need
    SEND = "send"  # send, renvoyer, sturen, zusenden (the forms that ask, not the past)
    GET = "get"  # receive, recevoir, krijgen, erhalten
    AGAIN = "again"  # again, à nouveau, nog eens, erneut
    NEW = "new"  # new, another, nouvelle, nieuwe, neue: again for a link or a copy, not for "the new invoice"
    DOCUMENT = "document"  # invoice, facture, factuur, Rechnung
    NEGATION = "negation"
    WHY = "why"
    QUESTION = "question"  # when, where, is it, est-ce que, wanneer, wann
    HOW = "how"
    COMPLAINT = "complaint"  # paid, too high, wrong, twice
    THANKS = "thanks"  # thanks for, merci pour: about something done, not asked
    PAST = "past"  # I have, j'ai, ik heb, ich habe; sent, reçu, gekregen
    ADDRESS = "address"  # a move, an address: staff's work
    ELSEWHERE = "elsewhere"  # to my accountant, à ma collègue: mail to someone else
    FUTURE = "future"  # from now on, désormais, voortaan, künftig: a standing instruction
    PAPER = "paper"  # paper, par la poste, per post
    MAIL = "mail"  # mails, notifications, berichten, Benachrichtigungen
    LINK = "link"
    CANT = "cant"  # I can't, je n'arrive pas à, lukt niet, klappt nicht
    BROKEN = "broken"  # does not work, ne fonctionne pas, werkt niet, funktioniert nicht
    EXPIRED = "expired"
    NEVER_GOT = "never-got"  # never received, pas reçu, niet ontvangen, nicht erhalten
    NO_MORE = "no-more"  # anymore, ne … plus, meer, mehr
    INSTEAD = "instead"  # instead of, au lieu de, in plaats van, statt
    SUFFICE = "suffice"  # is enough, me suffit, volstaat, reicht
    PREFER = "prefer"
    ONLY = "only"  # only, seulement, enkel, nur
    SUMMARY = "summary"  # a digest: summary, récapitulatif, overzicht, Zusammenfassung
    PAYMENT = "payment"  # monthly payment, loyer, huur, Rate: not about mail
    CUSTOMER = "customer"  # customer number, numéro client, klantnummer, Kundennummer
    NUMBER_MARK = "number-mark"  # n°, nr., no., #
    GREETING = "greeting"  # hello, bonjour, cordialement, mvg, Grüße
    HYPOTHESIS = "hypothesis"  # if, si, als, wenn, falls: not (yet) a request, unless it asks ("if you could")
    CONTRACT = "contract"  # the lease itself: stop the contract is not stop the mail
    URL = "url"
    EMAIL = "email"
    RECEIVED = "received"  # received, reçu, ontvangen, erhalten: what came, or did not
    OTHER_DOCUMENTS = "other-documents"  # all invoices, October's, the previous one: not the one answered
    SELF_ADDRESS = "self-address"  # to this address: the sender's own mailbox, not a move
    LIST_INTRO = "list-intro"  # the following documents: their numbers come on the lines below
    CLOSING = "closing"  # kind regards, cordialement, mvg, MfG: the signature follows
    NUMBER = "number"  # a document number, set by the reader
    # Set by the reader from where words stand, not from what they are:
    IMPERATIVE = "imperative"  # the clause opens with a verb that asks: "Renvoyez-moi…", "Send…", "Stuur…"
    QUESTION_FORM = "question-form"  # ends with "?" or opens with a question word, and asks nothing
    STATEMENT = "statement"  # tells what happened (j'ai reçu, I have paid) and asks nothing
    DENIED = "denied"  # the object of a denial before it: "Ich finde es nicht gut, jeden Tag eine Mail zu bekommen"
    SOON = "soon"  # as soon as possible: urgency, not a frequency
    MISHAP = "mishap"  # by mistake, par erreur: how something got lost, not a complaint
    THIS_DOCUMENT = "this-document"  # this invoice, cette facture: the one of the mail answered
    MAILBOX = "mailbox"  # inbox, boîte mail, Postfach: where mail is, not mail itself
    FIND = "find"  # find, retrouver, vinden, finden: looking for something, not refusing it
    CURRENT = "current"  # we get, nous recevons, momentan: how things are now, not how they should be
    ABILITY = "ability"  # can I, kann ich, puis-je: asks for something, or what the person may do (with SELF)
    SELF = "self"  # selbst, myself, moi-même, zelf, somewhere: what the person would do on their own
    OPEN = "open"  # open, load, ouvrir, openen, öffnen: a document or page that shows nothing, not a way in
    KEEP = "keep"  # don't change anything, laat het zo, lassen Sie es so: no setting is to change
    SATISFIED = "satisfied"  # I'm happy with, nous convient très bien, tevreden: how things are, and fine
    CANCEL = "cancel"  # forget my request, oubliez ma demande, laat maar: an earlier request withdrawn
    THESE = "these"  # all three, both, les trois, alle drei: the documents just named, not other ones


_THE_DOCUMENT = {"fr": ("la facture", "le document", "la note de crédit", "le pdf"),
                 "nl": ("de factuur", "het document", "de creditnota", "de pdf"),
                 "en": ("the invoice", "the document", "the credit note", "the pdf"),
                 "de": ("die rechnung", "das dokument", "die gutschrift", "das pdf")}

# Shared cue words, by language. Folding makes accents and case irrelevant; a form with a space is a phrase.
WORDS: dict[Cue, Words] = {
    Cue.REQUEST: {
        "fr": ("svp", "stp", "s'il vous plaît", "s'il vous plait", "s'il te plaît", "sil vous plait", "merci de",
               "merci d'avance", "merci par avance", "merci à l'avance", "d'avance merci", "par avance merci",
               "veuillez", "veuillez svp", "bien vouloir", "vouloir bien", "demande de", "ma demande", "je demande",
               "je sollicite", "svpl", "merci de bien vouloir", "avec mes remerciements anticipés",
               "je vous serais reconnaissant", "je vous serais reconnaissante", "nous vous serions reconnaissants",
               "auriez-vous l'amabilité", "auriez-vous la gentillesse", "auriez vous la gentillesse",
               "auriez vous l'amabilité", "je vous prie de", "ayez l'obligeance", "prière de", "je vous saurais gré", "nous vous saurions gré", "vous saurions gré",
               "saurions gré", "saurais gré",
               "ce serait gentil", "ce serait sympa",
               "je serais content", "je serais contente", "je serais ravi", "je serais ravie", "nous serions ravis",
               "nous serions contents"),
        "nl": ("aub", "a.u.b", "a u b", "alstublieft", "alsjeblieft", "graag", "gelieve", "ajb", "svp", "zoudt u",
               "wil je", "wil jij", "mag ik vragen", "zou je", "vraag ik", "ik vraag", "wij vragen", "we vragen",
               "vriendelijk verzoek",
               "verzoek", "aanvraag", "alvast bedankt", "bedankt alvast", "alvast dank", "dank bij voorbaat",
               "bij voorbaat dank", "mvg alvast", "wil u", "wilt u", "zou u zo vriendelijk",
               "zou u zo vriendelijk willen zijn",
               "ik zou u dankbaar zijn", "wij zouden u dankbaar zijn", "liefst", "bij voorkeur", "zou fijn zijn",
               "zou leuk zijn", "vriendelijk gevraagd",
               "zou blij zijn", "ik zou blij zijn", "zou tof zijn", "op prijs stellen", "op prijs stelt"),
        "en": ("please", "pls", "plz", "kindly", "request", "requesting", "thanks in advance", "thank you in advance",
               "many thanks in advance", "appreciate it if", "would appreciate", "grateful if", "asap",
               "i would be grateful", "we would be grateful", "would you be so kind", "be so kind as to",
               "any chance", "i'd appreciate", "is there any way", "any way to",
               "appreciate it", "would be happy", "i'd be happy", "we'd be happy", "i would be happy",
               "we would be happy", "would be great", "would be nice"),
        "de": ("bitte", "bitten", "bitte um", "ich bitte", "wir bitten", "danke im voraus", "vielen dank im voraus",
               "besten dank im voraus", "im voraus vielen dank", "anfrage", "ersuche", "ersuchen", "gerne", "gern",
               "wir wären ihnen dankbar", "ich wäre ihnen dankbar", "wären sie so freundlich",
               "wären sie so nett", "seien sie so freundlich", "dankbar", "danke vorab", "vorab danke",
               "vorab vielen dank", "würde mich freuen", "wäre nett", "wäre super", "wäre toll", "wäre klasse",
               "wäre schön", "wäre prima", "wäre lieb", "wäre hilfreich", "wäre froh", "wäre ich froh",
               "wäre ihnen dankbar", "wären ihnen dankbar", "mit der bitte"),
    },
    Cue.MODAL: {
        "fr": ("pourriez-vous", "pourriez vous", "pouvez-vous", "pouvez vous", "pourrais-je", "puis-je", "pourriez",
               "pouvez", "pourrais", "pourrait-on", "peux-tu", "pourrais-tu", "est-il possible", "serait-il possible",
               "est-ce possible", "possible de", "auriez-vous", "voudriez-vous", "voulez-vous", "pouvez-vous svp",
               "serait-ce possible", "est ce que vous pouvez", "est-ce que vous pourriez", "vous serait-il possible",
               "tu peux", "tu pourrais", "vous pouvez", "vous pourriez",
               "sauriez-vous", "sauriez vous", "savez-vous", "savez vous", "tu sais", "tu saurais", "saurais-tu",
               "vous sauriez", "sauriez"),
        "nl": ("kunt u", "kan u", "kunnen jullie", "kunnen u", "kun je", "kan je", "zou u", "zouden jullie",
               "mogen wij",
               "kunt u mij", "kan ik", "kunnen we", "zou ik", "zouden wij", "zouden we", "mogen we", "zoudt", "kunt",
               "kunnen", "kun", "wilt", "mogen jullie", "mag u", "moogt u", "mag je", "mogen jullie mij",
               "zou je", "mag ik", "kan ik", "is het mogelijk", "zou het mogelijk zijn", "kunt", "mogelijk om",
               "kunde gij", "kunde ge", "kunde", "kunt gij", "kunt ge", "zoudt gij", "zoudt ge", "zou de gij",
               "zoude gij", "wilt gij", "wilde gij", "moogt gij", "kunnen jullie mij"),
        "en": ("could you", "can you", "would you", "will you", "could i", "can i", "may i", "could we", "can we",
               "is it possible", "would it be possible", "possible to", "would you mind", "can u", "could u",
               "could you possibly",
               "can i get", "could i get", "can i have", "could i have", "can i please", "could you please",
               "do you mind", "mind sending", "mind shooting", "mind resending", "mind re-sending",
               "mind forwarding", "mind emailing", "would you be able to", "are you able to",
               "could ya", "can ya", "would ya", "could yer", "cud u", "cn u"),
        "de": ("könnten sie", "können sie", "würden sie", "könntet ihr", "könnt ihr", "kannst du", "könntest du",
               "kann ich", "könnte ich", "dürfte ich", "darf ich", "wäre es möglich", "ist es möglich", "möglich",
               "würden sie mir", "könnten", "können", "könnt ihr", "könntet", "wäre es möglich", "kannst",
               "könntest", "würdest", "würden", "dürfte", "wäre", "wären", "hätten sie", "hättest du", "hättet ihr",
               "haben sie vielleicht", "hast du vielleicht",
               "chönnted", "chönntet", "chönnt", "chönd", "chasch", "chönntsch", "könnt ma", "könnt mer", "kinnts",
               "kinntn", "kenntn", "könnts", "könntn", "tätet ihr", "täten sie", "würdet ihr"),
    },
    Cue.WANT: {
        "fr": ("je voudrais", "je souhaite", "je souhaiterais", "j'aimerais", "je désire", "je désirerais",
               "je veux", "je voulais", "nous voudrions", "nous souhaitons", "nous souhaiterions", "nous aimerions",
               "j'ai besoin", "nous avons besoin", "il me faut", "il me faudrait", "voudrais", "souhaite",
               "souhaiterais", "aimerais", "souhaiterions", "je préférerais recevoir", "me faudrait"),
        "nl": ("ik wil", "ik zou graag", "ik wens", "wij willen", "we willen", "wij zouden graag", "we zouden graag",
               "ik had graag", "ik heb nodig", "nodig", "ik wou", "ik zou willen", "wij wensen", "zou ik graag",
               "had ik graag", "wil ik", "wil ik graag", "wens ik", "zou graag", "wou graag", "wilde graag",
               "nodig hebben", "hebben nodig", "wensen"),
        "en": ("i would like", "i'd like", "id like", "i want", "i need", "we need", "we would like", "we'd like",
               "i wish", "we want", "i wanted", "i was wondering if", "i'd love", "need", "would like", "i require",
               "looking for", "i'd rather", "i would rather", "we'd rather", "we would rather"),
        "de": ("ich möchte", "wir möchten", "ich hätte gerne", "ich hätte gern", "wir hätten gerne", "ich brauche",
               "wir brauchen", "ich benötige", "wir benötigen", "ich wünsche", "ich will", "möchte", "möchten",
               "hätte gerne", "hätte gern", "brauche", "benötige", "benötigen", "bräuchte", "hätten gerne",
               "bräuchten", "brauchen", "wünschen", "würde gern", "würde gerne", "wollen", "möchtest"),
    },
    Cue.SEND: {
        "fr": ("envoyer", "renvoyer", "réenvoyer", "ré-envoyer", "envoyez", "renvoyez", "réexpédier", "transmettre",
               "retransmettre", "transmettez", "faire parvenir", "faites parvenir", "adresser", "expédier",
               "envoyez-moi", "renvoyez-moi", "renvoi", "m'envoyer", "me renvoyer",
               "mailer", "envoyer à nouveau", "réexpédiez", "fournir", "fournissez", "envoyez moi", "renvoyez moi",
               "transférer", "transférez", "renvoyer à nouveau", "réenvoyez", "communiquer", "communiquez",
               "faire suivre", "faites suivre", "adressez", "adressez-moi", "me transmettre", "me faire parvenir",
               "envoi", "réexpédition", "retransmission", "renvoyer", "réenvoi", "renvoie", "renvoies",
               "envoie", "envoies", "envoie-moi", "renvoie-moi"),
        "nl": ("sturen", "versturen", "opsturen", "doorsturen", "toesturen", "nasturen", "terugsturen", "stuur",
               "stuurt", "zenden", "verzenden", "toezenden", "zend", "mailen", "doormailen", "bezorgen", "bezorg",
               "bezorgt", "overmaken", "opnieuw sturen", "opnieuw versturen", "door te sturen", "toe te sturen",
               "te sturen", "te versturen", "te bezorgen", "op te sturen", "mailt", "verstuur", "verstuurt",
               "zendt", "doen toekomen", "toekomen", "laten geworden", "te mailen", "bezorg me", "stuur me",
               "toezending", "verzending", "herzending", "doorsturen aub", "door te mailen", "op te sturen"),
        "en": ("send", "resend", "re-send", "forward", "email me", "e-mail me", "mail me", "email it", "mail it",
               "re-issue", "reissue", "provide", "share", "sending", "resending", "forwarding", "emailing",
               "send over",
               "send through", "email it to me", "pass on", "get me", "send me", "shoot me",
               "shoot", "shooting", "shoot over", "send across"),
        "de": ("senden", "zusenden", "zuschicken", "schicken", "schicken sie", "senden sie", "übersenden",
               "übermitteln", "zukommen lassen", "nachsenden", "mailen", "zumailen", "weiterleiten", "sende",
               "schickt", "sendet", "schick", "send", "zuzusenden", "zuzuschicken", "zu senden", "zu schicken",
               "schicke", "sendest", "schickst", "zusende", "zusendet", "zuschicke", "zuschickt", "übersende",
               "übersendet", "übermittle", "nachschicken", "nachreichen", "zustellen", "weiterleiten",
               "erneut senden", "nochmal senden", "nochmals senden", "zusendung", "zuschicken lassen",
               "zu übermitteln", "zukommen zu lassen", "zu übersenden", "nachzusenden", "zuzumailen", "zukommen",
               "zusenden lassen", "übersenden sie", "neu zusenden", "neu senden", "neu schicken",
               # the nouns of officialese: "bitte um Übermittlung", "ersuche um Zusendung"
               "übermittlung", "übersendung", "zustellung", "nachsendung", "zuschickung", "schicke mir",
               "schick mir", "schicken sie mir", "versand", "neuversand", "neuzustellung", "*schicken", "*senden"),
    },
    Cue.GET: {
        "fr": ("recevoir", "obtenir", "avoir", "récupérer", "disposer"),
        "nl": ("krijgen", "ontvangen", "bekomen", "hebben", "verkrijgen"),
        "en": ("get", "receive", "have", "obtain", "need", "could i have", "can i have", "can i get", "could i get",
               "may i have"),
        "de": ("erhalten", "bekommen", "haben", "kriegen"),
    },
    Cue.RECEIVED: {
        "fr": ("reçu", "reçue", "reçus", "reçues", "eu", "obtenu"),
        "nl": ("ontvangen", "gekregen", "binnengekregen"),
        "en": ("received", "got", "gotten"),
        "de": ("erhalten", "bekommen", "gekriegt", "empfangen"),
    },
    Cue.AGAIN: {
        "fr": ("encore", "à nouveau", "de nouveau", "une nouvelle fois", "re", "une seconde fois",
               "encore une fois", "une fois de plus", "une deuxième fois", "derechef"),
        "nl": ("nog eens", "nogmaals", "opnieuw", "nog een keer", "terug", "weer", "nog maar eens", "nog ne keer",
               "ne keer", "nen keer", "nog 1 keer", "nog eventjes", "hernieuwd", "hernieuwde",
               "opnieuw sturen"),  # a keyword's phrase keeps what its words say
        "en": ("again", "once more", "one more time", "a second time", "once again", "afresh", "anew", "resent"),
        "de": ("erneut", "nochmal", "nochmals", "noch einmal", "noch mal", "wieder", "abermals", "nochmalige",
               "nochmaligen", "nochmaliges", "nochmaliger", "erneute", "erneuten", "erneuter", "neuerlich",
               "neuerliche", "neuerlichen", "neuerlicher",
               "wiederholt", "nomol", "nomal", "erneut senden", "nochmal senden"),
    },
    # "new" asks again only for what can be had twice (a link, a copy): "the new invoice" is another document
    Cue.NEW: {
        "fr": ("nouveau", "nouvelle", "nouvel", "une autre", "un autre", "deuxième", "second", "seconde"),
        "nl": ("nieuwe", "nieuw", "nog een", "tweede", "andere"),
        "en": ("another", "new", "a second", "fresh", "one more", "second"),
        "de": ("neue", "neuen", "neuer", "neues", "neu", "zweites", "zweite", "weitere", "weiteres", "weiteren"),
    },
    Cue.DOCUMENT: {
        "fr": ("facture", "factures", "note de crédit", "notes de crédit", "document", "documents", "pdf",
               "pièce", "fichier", "facture n°", "la facture", "cette facture", "ce document", "relevé",
               "pièce jointe", "pj", "annexe", *_THE_DOCUMENT["fr"],
               # 'avoir' alone is "to have" ("j'aimerais avoir la liste"): a credit note with its article
               "un avoir", "l'avoir", "cet avoir", "les avoirs", "avoirs", "votre avoir", "en pdf",
               "en pièce jointe"),
        "nl": ("factuur", "facturen", "creditnota", "creditnota's", "kredietnota", "nota", "document", "documenten",
               "pdf", "deze factuur", "dit document", "bestand", "rekening", "*factuur", "bijlage", "pdf'je",
               *_THE_DOCUMENT["nl"],
               "als pdf", "als pdf'je", "als bijlage"),
        "en": ("invoice", "invoices", "credit note", "credit notes", "document", "documents", "pdf", "bill",
               "statement", "file", "this invoice", "the invoice", "credit memo", "attachment", "attached file",
               *_THE_DOCUMENT["en"],
               "as a pdf", "as pdf"),
        "de": ("rechnung", "rechnungen", "gutschrift", "gutschriften", "dokument", "dokumente", "beleg", "belege",
               "pdf", "datei", "diese rechnung", "*rechnung", "rechnungs*", "anhang", "anlage", "faktura",
               *_THE_DOCUMENT["de"],
               "als pdf", "als anhang"),
    },
    Cue.OTHER_DOCUMENTS: {
        "fr": ("factures", "documents", "toutes", "tous", "précédente", "précédent", "autre", "autres", "janvier",
               "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre",
               "décembre", "l'an dernier", "l'année passée", "anciennes", "ancienne"),
        "nl": ("facturen", "documenten", "alle", "vorige", "andere", "januari", "februari", "maart", "april", "mei",
               "juni", "juli", "augustus", "september", "oktober", "november", "december", "oude", "vorig jaar"),
        "en": ("invoices", "documents", "all", "previous", "other", "older", "january", "february", "march",
               "april", "june", "july", "august", "september", "october", "november", "december", "last year"),
        "de": ("rechnungen", "dokumente", "alle", "aller", "vorige", "vorherige", "andere", "anderen", "januar",
               "februar", "märz", "april", "mai", "juni", "juli", "august", "september", "oktober", "november",
               "dezember", "alten", "letztes jahr", "vorjahr"),
    },
    Cue.NEGATION: {
        "fr": ("ne", "n'", "pas", "jamais", "aucun", "aucune", "rien", "sans", "non", "inutile", "pas besoin",
               "pas la peine", "pas nécessaire", "ne plus nécessaire", "ne plus", "n'ai plus", "plus besoin",
               "nulle part", "plus aucun", "plus aucune"),
        "nl": ("niet", "geen", "nooit", "niets", "hoeft niet", "hoeven niet", "nee", "hoeft", "onnodig", "nergens",
               "niet meer", "geen meer", "niet langer",
               "zonder"),
        "en": ("not", "n't", "don't", "dont", "do not", "doesn't", "doesnt", "didn't", "didnt", "won't", "wont",
               "never", "no", "nothing", "neither", "nor", "isn't", "aren't", "shouldn't", "no need", "not needed",
               "unnecessary", "no more", "no longer", "nowhere", "no further",
               "without"),
        "de": ("nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie", "niemals", "nichts",
               "nein", "nicht nötig", "unnötig", "erledigt", "hat sich erledigt", "müssen nicht", "müssen mir keine",
               "nicht mehr", "keine mehr", "nicht länger", "nirgends", "nirgendwo", "keine weiteren",
               "keine weitere", "keinerlei",
               "ohne"),
    },
    Cue.WHY: {
        "fr": ("pourquoi", "comment se fait-il", "comment ça se fait", "comment expliquer"),
        "nl": ("waarom", "hoe komt het", "hoe kan het", "hoezo"),
        "en": ("why", "how come", "what is the reason"),
        "de": ("warum", "wieso", "weshalb", "weswegen", "wie kommt es", "wie kann es sein"),
    },
    Cue.QUESTION: {
        "fr": ("quand", "où est", "où sont", "où puis-je", "où trouver", "quel", "quelle", "combien de temps",
               "pendant combien de temps", "depuis quand", "quels", "quelles", "combien", "est-ce", "qui", "est-elle",
               "est-il", "ai-je", "avez-vous", "dois-je", "faut-il", "s'agit-il", "sera-t-elle", "comment",
               "je voudrais savoir", "j'aimerais savoir", "je souhaiterais savoir", "voudrais savoir",
               "aimerais savoir", "faites-moi savoir"),
        "nl": ("wanneer", "waar", "wat", "welke", "hoeveel", "wie", "is het", "klopt het", "heb ik", "hebt u",
               "hoe lang", "hoelang", "hoe vaak", "hoe komt",
               "heeft u", "moet ik", "kunnen jullie bevestigen",
               "ik zou graag weten", "zou graag weten", "ik wil graag weten", "wil graag weten", "ik wil weten",
               "laten weten", "graag weten"),
        "en": ("when", "where", "what", "which", "who", "how much", "is it", "is this", "are", "did", "does",
               "how long", "how often", "how many",
               "has", "have you", "do i", "should i", "am i", "is there",
               "i'd like to know", "i would like to know", "like to know", "want to know", "let me know", "i wonder"),
        "de": ("wann", "wo", "was", "welche", "welcher", "wie viel", "wieviel", "wer", "ist die", "ist das",
               "wie lange", "wie oft", "wie viele", "seit wann",
               "haben sie", "muss ich", "stimmt es", "gibt es",
               "ich möchte wissen", "möchte wissen", "ich würde gerne wissen", "würde gerne wissen", "wüsste gerne",
               "ich wüsste gern", "wissen lassen"),
    },
    Cue.HOW: {
        "fr": ("comment", "de quelle manière", "la marche à suivre", "la procédure"),
        "nl": ("hoe", "op welke manier"),
        "en": ("how", "how do i", "how can i", "how to", "what do i do", "the way to"),
        "de": ("wie", "wie kann ich", "auf welche weise"),
    },
    Cue.COMPLAINT: {
        "fr": ("payé", "payée", "réglé", "réglée", "versé", "viré", "trop élevé", "trop élevée", "trop cher",
               "élevé", "élevée", "erroné", "erronée", "erreur", "incorrect", "incorrecte", "faux", "fausse",
               "mauvaise", "mauvais",
               "contester", "conteste", "réclamation", "deux fois", "en double", "double facturation", "litige",
               "pas d'accord", "rappel", "remboursement", "rembourser", "montant", "corriger", "rectifier",
               "vérifier", "correction", "annuler"),
        "nl": ("betaald", "voldaan", "overgemaakt", "te hoog", "hoog", "duur", "fout", "foutief", "foute",
               "verkeerd", "verkeerde",
               "onjuist", "vergissing", "betwist", "betwisten", "klacht", "dubbel", "twee keer", "tweemaal",
               "klopt niet", "niet akkoord", "herinnering", "aanmaning", "terugbetaling", "bedrag", "corrigeren",
               "nakijken", "controleren", "rechtzetten", "verbeteren", "annuleren"),
        "en": ("paid", "settled", "too high", "too much", "expensive", "wrong", "incorrect", "error", "mistake",
               "dispute", "disputing", "complaint", "twice", "double charged", "overcharged", "reminder",
               "refund", "amount", "charged", "correct", "correction", "check", "verify", "look into"),
        "de": ("bezahlt", "beglichen", "überwiesen", "zu hoch", "hoch", "teuer", "falsch", "fehler", "fehlerhaft",
               "inkorrekt", "widerspruch", "einspruch", "reklamation", "beschwerde", "doppelt", "zweimal",
               "stimmt nicht", "mahnung", "erinnerung", "rückerstattung", "betrag", "korrigieren", "berichtigen",
               "prüfen", "überprüfen", "nachprüfen", "korrektur", "stornieren", "storno", "nicht bestellt"),
    },
    Cue.THANKS: {
        "fr": ("merci pour", "merci beaucoup pour", "merci bien pour", "je vous remercie pour", "merci du",
               "merci de votre", "merci pour votre", "merci de m'avoir", "merci d'avoir", "bien reçu", "bien reçue",
               "merci de la", "merci des", "merci de l'"),
        "nl": ("bedankt voor", "dank voor", "dank u voor", "dank je voor", "hartelijk dank voor", "dankjewel voor",
               "goed ontvangen", "in goede orde ontvangen", "dank u wel voor"),
        "en": ("thanks for", "thank you for", "many thanks for", "thanks a lot for", "got it", "well received",
               "thanks so much for", "cheers for"),
        "de": ("danke für", "vielen dank für", "besten dank für", "herzlichen dank für", "danke schön für",
               "dankeschön für", "gut erhalten", "erhalten danke", "habe ich erhalten"),
    },
    Cue.PAST: {
        "fr": ("j'ai", "ai", "avons", "avez", "ont", "avait", "avais", "reçu", "reçue", "reçus", "envoyé",
               "envoyée", "renvoyé", "renvoyée", "transmis", "transmise", "eu", "obtenu", "est arrivée",
               "est arrivé", "réussi", "j'ai pu", "ai pu"),
        "nl": ("heb", "hebben", "heeft", "had", "hadden", "gekregen", "gestuurd", "verstuurd", "opgestuurd",
               "doorgestuurd", "ontvangen heb", "toegestuurd", "bezorgd", "gelukt", "geslaagd"),
        "en": ("have", "has", "had", "received", "got", "sent", "forwarded", "did", "was", "were", "already",
               "managed", "succeeded"),
        "de": ("habe", "haben", "hat", "hatte", "hatten", "gesendet", "geschickt", "zugesandt", "zugeschickt",
               "bekommen habe", "erhalten habe", "weitergeleitet", "übermittelt", "schon", "bereits", "geklappt",
               "gelungen", "erledigt", "reingekommen", "hineingekommen"),
    },
    Cue.ADDRESS: {
        "fr": ("adresse", "adresses", "déménagé", "déménagement", "déménageons", "nouvelle adresse", "rue",
               "avenue", "chaussée", "boulevard", "siège social", "code postal"),
        "nl": ("adres", "adressen", "verhuisd", "verhuizing", "verhuizen", "nieuw adres", "adreswijziging",
               "straat", "laan", "steenweg", "maatschappelijke zetel", "postcode", "*straat", "*laan"),
        "en": ("address", "moved", "relocated", "relocation", "new address", "street", "avenue", "road", "zip",
               "postcode", "head office"),
        "de": ("adresse", "anschrift", "umgezogen", "umzug", "neue adresse", "neue anschrift", "straße", "strasse",
               "adressänderung", "postleitzahl", "*straße", "*strasse", "firmensitz", "sitz"),
    },
    Cue.LIST_INTRO: {
        "fr": ("suivants", "suivantes", "suivant", "ci-dessous", "ci-après", "les documents suivants"),
        "nl": ("volgende", "hieronder", "onderstaande", "de volgende documenten"),
        "en": ("following", "below", "listed below", "the following documents"),
        "de": ("folgende", "folgender", "folgenden", "nachstehende", "untenstehende", "unten"),
    },
    Cue.SELF_ADDRESS: {
        "fr": ("cette adresse", "cette adresse mail", "cette adresse e-mail", "mon adresse", "à moi", "ici",
               "mon adresse mail", "mon adresse e-mail", "mon adresse email", "mon e-mail", "la présente adresse",
               "notre adresse mail", "notre adresse e-mail", "cette même adresse"),
        "nl": ("dit adres", "dit e-mailadres", "dit mailadres", "mijn adres", "naar mij", "mijn e-mailadres",
               "mijn mailadres", "mijn emailadres", "ons e-mailadres", "ons mailadres", "dit zelfde adres"),
        "en": ("this address", "this email address", "this e-mail address", "my address", "to me", "here",
               "my email address", "my e-mail address", "my email", "our email address", "this same address"),
        "de": ("diese adresse", "diese e-mail-adresse", "diese mailadresse", "meine adresse", "an mich",
               "meine e-mail-adresse", "meine mailadresse", "meine emailadresse", "meine e-mail adresse",
               "unsere e-mail-adresse", "unsere mailadresse", "diese e-mail adresse"),
    },
    Cue.ELSEWHERE: {
        "fr": ("mon comptable", "ma comptable", "notre comptable", "mon collègue", "ma collègue", "notre service",
               "la comptabilité", "notre comptabilité", "mon associé", "ma fiduciaire", "notre fiduciaire",
               "mon épouse", "mon mari", "au comptable", "à la comptabilité", "au service comptable", "en copie",
               "à notre", "à nos", "au siège"),
        "nl": ("mijn boekhouder", "onze boekhouder", "de boekhouding", "onze boekhouding", "mijn collega",
               "onze collega", "mijn accountant", "onze accountant", "het secretariaat", "mijn vrouw", "mijn man",
               "in kopie", "in cc", "naar onze", "naar ons", "aan onze", "het hoofdkantoor"),
        "en": ("my accountant", "our accountant", "my colleague", "our accounting", "accounts department",
               "my assistant", "my wife", "my husband", "in cc", "to cc", "accounts payable", "the accounting",
               "to our", "to my boss", "to my manager", "our head office"),
        "de": ("meinen steuerberater", "meine steuerberaterin", "unseren steuerberater", "unsere buchhaltung",
               "die buchhaltung", "meinen kollegen", "meine kollegin", "meine frau", "meinen mann", "in kopie",
               "in cc", "an die buchhaltung", "unsere kollegin", "unseren kollegen", "an unsere", "an unseren",
               "an unser", "an meinen chef", "an meine chefin", "unsere zentrale"),
    },
    Cue.FUTURE: {
        "fr": ("désormais", "dorénavant", "à l'avenir", "à partir de maintenant", "à partir d'aujourd'hui",
               "à partir du", "dès maintenant", "pour les prochaines", "les prochaines", "pour la suite"),
        "nl": ("voortaan", "in de toekomst", "vanaf nu", "vanaf heden", "vanaf vandaag", "in het vervolg",
               "de volgende", "toekomstige", "vanaf", "van nu af aan", "van nu af"),
        "en": ("from now on", "in future", "in the future", "going forward", "henceforth", "from today",
               "future", "next ones", "all future", "starting"),
        "de": ("künftig", "zukünftig", "in zukunft", "ab jetzt", "ab sofort", "ab heute", "von nun an",
               "fortan", "ab dem", "künftige"),
    },
    Cue.PAPER: {
        "fr": ("papier", "version papier", "par la poste", "par courrier", "courrier postal", "par voie postale",
               "format papier", "imprimé", "imprimée"),
        "nl": ("papier", "papieren", "op papier", "per post", "met de post", "per brief", "papieren versie",
               "geprint"),
        "en": ("paper", "by post", "by mail post", "hard copy", "printed", "postal", "snail mail", "by letter"),
        "de": ("papier", "papierform", "per post", "auf papier", "postalisch", "per brief", "ausgedruckt",
               "in papierform"),
    },
    Cue.MAIL: {
        "fr": ("mail", "mails", "e-mail", "e-mails", "email", "emails", "courriel", "courriels", "message",
               "messages", "notification", "notifications", "notif", "notifs", "avis", "alerte", "alertes",
               "ces mails", "ces messages", "envois", "ces envois", "newsletter", "*mail", "*mails", "averti",
               "avertie",
               "avertir", "prévenu", "prévenue", "prévenir", "informé", "informée", "informer", "notifié",
               "notifiée", "notifier", "nouvelles factures", "nouveaux documents",
               "par mail", "par e-mail", "par courriel", "par email"),
        "nl": ("mail", "mails", "e-mail", "e-mails", "email", "emails", "mailtjes", "bericht", "berichten",
               "melding", "meldingen", "notificatie", "notificaties", "mailings", "*mail", "*mails", "*meldingen",
               "*berichten", "nieuwsbrief", "verwittigd", "verwittigen", "geïnformeerd", "informeren", "op de hoogte",
               "gemaild", "verwittiging", "nieuwe facturen", "nieuwe documenten", "melden", "gemeld",
               "via mail", "per mail", "via e-mail", "per e-mail", "via email", "per email"),
        "en": ("mail", "mails", "e-mail", "e-mails", "email", "emails", "message", "messages", "notification",
               "notifications", "alerts", "alert", "notices", "notice", "newsletter", "mailings", "notify",
               "notified",
               "inform", "informed", "alerted", "emailed", "new invoices", "new documents",
               "by email", "by e-mail", "by mail", "via email", "over email", "per email"),
        "de": ("mail", "mails", "e-mail", "e-mails", "email", "emails", "nachricht", "nachrichten",
               "benachrichtigung", "benachrichtigungen", "mitteilung", "mitteilungen", "*mail", "*mails",
               "*benachrichtigungen", "*nachrichten", "newsletter", "hinweise", "infomails", "informieren",
               "informiert",
               "benachrichtigen", "benachrichtigt", "verständigen", "verständigt", "neue rechnungen",
               "neuen rechnungen", "neue dokumente", "neuen dokumenten",
               "per mail", "per e-mail", "via mail", "per email", "via e-mail"),
    },
    Cue.LINK: {
        "fr": ("lien", "liens", "url", "bouton"),
        "nl": ("link", "links", "koppeling", "url", "knop", "*link"),
        "en": ("link", "links", "url", "button"),
        "de": ("link", "links", "url", "schaltfläche", "button", "*link"),
    },
    Cue.CANT: {
        "fr": ("je n'arrive pas", "n'arrive pas", "je ne parviens pas", "ne parviens pas", "impossible",
               "je ne peux pas", "ne peux pas", "je n'y arrive pas", "pas moyen", "je n'ai pas réussi",
               "n'arrivons pas", "ne pouvons pas", "ne peut pas", "pas accès", "pas d'accès", "plus accès",
               "n'arrive plus", "j'arrive plus", "j'arrive pas", "je n'arrive plus"),
        "nl": ("lukt niet", "lukt me niet", "lukt het niet", "kan niet", "kan ik niet", "kunnen niet",
               "onmogelijk", "raak niet", "geraak niet", "krijg het niet", "het lukt niet", "lukte niet",
               "kan me niet", "kan mij niet", "slaag er niet in", "geen toegang"),
        "en": ("can't", "cant", "cannot", "can not", "unable", "impossible", "couldn't", "couldnt", "could not",
               "not able", "no way to", "fail to", "failed to", "won't let me", "no access", "don't have access"),
        "de": ("kann nicht", "kann mich nicht", "kann ich nicht", "können nicht", "klappt nicht", "gelingt nicht",
               "unmöglich", "schaffe es nicht", "komme nicht", "geht nicht", "nicht möglich", "konnte nicht",
               "konnte mich nicht", "keinen zugang", "kein zugang", "nicht geklappt"),
    },
    Cue.BROKEN: {
        "fr": ("ne fonctionne pas", "ne fonctionne plus", "fonctionne pas", "ne marche pas", "ne marche plus",
               "marche pas", "n'est pas valide", "n'est plus valide", "invalide", "ne s'ouvre pas", "erreur",
               "message d'erreur", "ne fonctionnait pas", "ne répond pas", "est cassé", "hs",
               # "le message que le lien a expiré": an error shown, not a mail
               "message disant", "message indiquant", "le message que", "un message qui dit"),
        "nl": ("werkt niet", "werkt niet meer", "doet het niet", "is ongeldig", "ongeldig", "foutmelding",
               "niet geldig", "niet meer geldig", "gaat niet open", "opent niet", "werkte niet", "kapot",
               "melding dat", "de melding dat", "een melding dat", "met de melding"),
        "en": ("doesn't work", "does not work", "doesnt work", "not working", "isn't working", "is broken",
               "broken", "invalid", "no longer valid", "not valid", "won't open", "error message", "didn't work",
               "did not work", "stopped working", "is dead", "message saying", "message that says",
               "the message that", "a message that"),
        "de": ("funktioniert nicht", "funktioniert nicht mehr", "geht nicht", "ungültig", "nicht gültig",
               "nicht mehr gültig", "fehlermeldung", "öffnet sich nicht", "funktionierte nicht", "kaputt",
               "meldung dass", "die meldung dass", "mit der meldung"),
    },
    Cue.EXPIRED: {
        "fr": ("expiré", "expirée", "a expiré", "est expiré", "périmé", "périmée", "plus valable",
               "n'est plus valable"),
        "nl": ("verlopen", "vervallen", "is verlopen", "niet meer geldig", "verstreken"),
        "en": ("expired", "has expired", "is expired", "timed out", "out of date", "outdated"),
        "de": ("abgelaufen", "ist abgelaufen", "verfallen", "nicht mehr gültig", "veraltet"),
    },
    Cue.NEVER_GOT: {
        "fr": ("jamais reçu", "pas reçu", "n'ai pas reçu", "n'ai jamais reçu", "pas eu", "rien reçu",
               "n'avons pas reçu", "n'avons jamais reçu", "jamais eu", "égaré", "égarée", "perdu", "perdue",
               "supprimé", "supprimée", "effacé", "effacée", "introuvable", "ne retrouve pas", "ne trouve pas",
               "il me manque", "me manque", "manque", "manquent", "nous manque", "il nous manque", "manquante",
               "manquantes", "a disparu", "disparu", "disparue"),
        "nl": ("niet ontvangen", "nooit ontvangen", "niet gekregen", "nooit gekregen", "kwijt", "verloren",
               "gewist", "verwijderd", "vind niet", "vind ik niet", "niet terugvinden", "niets ontvangen",
               "ontbreekt", "ontbreken", "verdwenen", "verloren gegaan"),
        "en": ("never received", "not received", "didn't receive", "did not receive", "didnt receive",
               "never got", "didn't get", "did not get", "haven't received", "have not received", "lost",
               "deleted", "can't find", "cannot find", "misplaced", "haven't got",
               "missing", "get lost", "gets lost", "got lost", "went missing", "disappeared"),
        "de": ("nicht erhalten", "nie erhalten", "nicht bekommen", "nie bekommen", "nichts erhalten", "verloren",
               "gelöscht", "finde nicht", "finde sie nicht", "nicht mehr finden", "nicht auffindbar", "verlegt",
               "nicht angekommen",
               "fehlt", "fehlen", "verschwunden"),
    },
    Cue.NO_MORE: {
        "fr": ("plus", "plus jamais", "plus de", "ne plus", "n'ai plus", "plus besoin", "plus aucun",
               "plus aucune", "aucun autre", "aucune autre"),
        "nl": ("meer", "langer", "niet meer", "geen meer", "niet langer", "geen verdere", "geen andere",
               "geen nieuwe"),
        "en": ("anymore", "any more", "any longer", "no more", "no longer", "no further", "no other"),
        "de": ("mehr", "länger", "nicht mehr", "keine mehr", "nicht länger", "keine weiteren", "keine weitere",
               "keinerlei", "keine neuen"),
    },
    Cue.INSTEAD: {
        "fr": ("au lieu de", "au lieu d'", "plutôt que", "à la place de", "plutôt qu'", "mieux que", "mieux qu'"),
        "nl": ("in plaats van", "i.p.v", "ipv", "eerder dan", "liever dan", "beter dan", "handiger dan"),
        "en": ("instead of", "rather than", "in place of", "than"),
        "de": ("statt", "anstatt", "anstelle", "an stelle", "statt einer", "lieber als", "besser als"),
    },
    Cue.SUFFICE: {
        "fr": ("suffit", "suffira", "suffirait", "suffisant", "suffisante", "ça me va", "me convient",
               "conviendrait", "me suffit", "nous suffit", "largement assez", "assez", "parfait", "serait parfait",
               "idéal", "très bien", "ça ira", "ok", "ça peut être"),
        "nl": ("volstaat", "voldoende", "genoeg", "is genoeg", "volstaan", "past me", "past beter", "prima",
               "is prima", "ok", "oké", "in orde", "perfect", "voldoet", "zou volstaan", "ruim voldoende",
               "zou genoeg zijn", "past ons", "mag het", "mag dat", "mag het ook", "mag gerust"),
        "en": ("enough", "is enough", "sufficient", "will do", "suffices", "is plenty", "plenty", "works for me",
               "works for us", "suits me", "suits us", "suit me", "suit us", "would suit", "suffice",
               "would suffice", "would do", "can be",
               "is fine", "fine", "ok", "okay", "perfect", "would be better", "better"),
        "de": ("reicht", "reicht mir", "genügt", "ausreichend", "reicht völlig", "genügt mir", "reichen", "ok",
               "ist ok", "passt", "perfekt", "besser", "genügen", "ausreichen", "würde reichen", "würde genügen",
               "reicht aus", "langt", "würde passen", "wäre mir lieber", "wäre besser", "darf es", "kann es gerne",
               "darf gerne"),
    },
    Cue.PREFER: {
        "fr": ("préfère", "préférerais", "préférons", "préférerions", "plutôt", "de préférence", "mieux",
               "serait mieux", "passer à", "passer en", "basculer", "à la place", "plus pratique",
               "plus commode", "plus simple"),
        "nl": ("liever", "verkies", "verkiezen", "bij voorkeur", "voorkeur", "liefst", "het liefst", "beter",
               "zou beter zijn", "overschakelen", "overschakelen naar", "omzetten naar", "in de plaats", "handiger",
               "praktischer", "eenvoudiger"),
        "en": ("prefer", "rather", "would prefer", "preferably", "preference", "switch to", "switch me to",
               "change to", "change me to", "move me to", "put me on", "instead", "move to", "more practical",
               "more convenient", "better", "easier", "handier"),
        "de": ("lieber", "bevorzuge", "bevorzugen", "vorzugsweise", "am liebsten", "umstellen", "umstellen auf",
               "stattdessen", "umgestellt werden", "praktischer", "bequemer", "besser", "einfacher"),
    },
    Cue.ONLY: {
        "fr": ("seulement", "uniquement", "juste", "que", "ne recevoir qu'", "ne recevoir que", "n'en recevoir qu'",
               "ne plus recevoir qu'", "n'avoir qu'"),
        "nl": ("enkel", "alleen", "slechts", "maar", "alleen nog", "enkel nog", "nog maar"),
        "en": ("only", "just", "only ever"),
        "de": ("nur", "lediglich", "bloß", "nur noch", "nur mehr"),
    },
    Cue.SUMMARY: {
        "fr": ("récapitulatif", "récap", "recap", "résumé", "synthèse", "relevé", "regroupé", "regroupés",
               "groupé", "groupés", "un seul mail", "un seul e-mail", "un mail récapitulatif", "digest", "bilan",
               "aperçu", "récapitulatifs", "résumés", "récaps"),
        "nl": ("overzicht", "samenvatting", "overzichtsmail", "verzamelmail", "gebundeld", "gebundelde",
               "één mail", "een mail", "digest", "*overzicht", "bundel", "overzichten", "samenvattingen"),
        "en": ("summary", "digest", "overview", "recap", "roundup", "round-up", "one email", "one mail",
               "single email", "bundled", "grouped", "batch", "summaries", "digests", "overviews", "recaps"),
        "de": ("zusammenfassung", "übersicht", "sammelmail", "gebündelt", "gesammelt", "eine mail", "eine e-mail",
               "digest", "*übersicht", "*zusammenfassung", "auflistung", "zusammenfassungen", "übersichten",
               "*übersichten", "*zusammenfassungen", "gesammelt", "sammel*"),
    },
    Cue.PAYMENT: {
        "fr": ("loyer", "mensualité", "mensualités", "payer", "paiement", "paiements", "prélèvement",
               "domiciliation", "virement", "paye", "payons", "facturation"),
        "nl": ("huur", "betaling", "betalingen", "betalen", "domiciliëring", "overschrijving", "afbetaling",
               "termijn", "gefactureerd", "facturatie", "betaal", "betalen we"),
        "en": ("rent", "payment", "payments", "pay", "instalment", "installment", "direct debit", "billed",
               "billing", "charge", "transfer"),
        "de": ("miete", "rate", "raten", "zahlung", "zahlungen", "bezahlen", "zahlen", "lastschrift",
               "überweisung", "abbuchung", "abgerechnet", "abrechnung", "leasingrate"),
    },
    Cue.CUSTOMER: {
        "fr": ("client", "numéro client", "numéro de client", "n° client", "compte client", "dossier",
               "référence client", "clients",
               "n° de client", "numéro de dossier", "réf client"),
        "nl": ("klant", "klantnummer", "klantennummer", "klantnr", "dossier", "klantnummers", "klanten",
               "klant nr", "klantennr", "dossiernummer"),
        "en": ("customer", "customer number", "account", "account number", "client number", "client",
               "customer no", "account no", "client no", "customer ref"),
        "de": ("kunde", "kundennummer", "kundennr", "kundenkonto", "kunden",
               "kd nr", "kdnr", "kd", "kunden nr", "kunden-nr"),
    },
    Cue.NUMBER_MARK: {
        "fr": ("n°", "no", "num", "numéro", "nr", "réf", "référence", "#"),
        "nl": ("nr", "nummer", "no", "ref", "referentie", "#"),
        "en": ("no", "nr", "number", "num", "ref", "reference", "#"),
        "de": ("nr", "nummer", "no", "ref", "referenz", "#"),
    },
    Cue.GREETING: {
        "fr": ("bonjour", "bonsoir", "madame", "monsieur", "cordialement", "bien cordialement", "salutations",
               "bien à vous", "merci", "merci beaucoup", "merci bien", "bonne journée", "bonne soirée", "salut",
               "chère", "cher", "mesdames", "messieurs", "bàv", "bav", "cdlt", "cdt", "amicalement", "merci encore",
               "slt", "coucou", "merci d'avance", "bisous", "bonne fin de journée", "merci à vous"),
        "nl": ("goedemorgen", "goedemiddag", "hallo", "beste", "geachte", "dag", "met vriendelijke groet",
               "met vriendelijke groeten", "vriendelijke groeten", "mvg", "groeten", "bedankt", "dank u",
               "dank je", "dank u wel", "hartelijk dank", "fijne dag", "mevrouw", "meneer", "heer", "dames en heren",
               "groetjes", "hoi", "hey", "hallo allemaal", "thx", "merci", "dank", "dankjewel", "dankuwel"),
        "en": ("hello", "hi", "dear", "good morning", "good afternoon", "regards", "kind regards", "best regards",
               "best", "thanks", "thank you", "many thanks", "cheers", "sir", "madam", "team", "sincerely",
               "have a nice day", "greetings", "all the best", "hey", "thx", "ta", "hiya", "thanks again",
               "hey folks", "hi folks", "hi all", "hi team", "hello all"),
        "de": ("hallo", "guten tag", "guten morgen", "sehr geehrte", "sehr geehrter", "liebe", "lieber",
               "damen und herren", "mit freundlichen grüßen", "freundliche grüße", "viele grüße", "beste grüße",
               "mfg", "vg", "lg", "danke", "vielen dank", "danke schön", "dankeschön", "herzlichen dank", "gruß",
               "grüße", "schönen tag", "frau", "herr", "moin", "servus", "grüezi", "grüß gott", "grüss gott",
               "hallöchen", "hi", "hey", "merci", "merci vielmal", "besten dank", "danke dir", "danke euch",
               "thx", "tschüss", "ciao",
               "hoi zäme", "hoi zämme", "hoi", "grüessech", "sali", "grüezi mitenand"),
    },
    Cue.CLOSING: {
        "fr": ("cordialement", "bien cordialement", "salutations", "bien à vous", "bàv", "bav", "cdlt", "cdt",
               "amicalement", "sincères salutations", "salutations distinguées", "meilleures salutations",
               "bonne journée", "bonne soirée", "merci d'avance", "d'avance merci"),
        "nl": ("met vriendelijke groet", "met vriendelijke groeten", "vriendelijke groeten", "mvg", "groeten",
               "groetjes", "hartelijke groeten", "beste groeten", "fijne dag", "alvast bedankt"),
        "en": ("regards", "kind regards", "best regards", "warm regards", "sincerely", "yours sincerely",
               "yours faithfully", "best wishes", "cheers", "all the best", "many thanks", "thanks in advance",
               "best"),
        "de": ("mit freundlichen grüßen", "freundliche grüße", "viele grüße", "beste grüße", "liebe grüße",
               "mfg", "lg", "vg", "gruß", "grüße", "herzliche grüße", "schöne grüße", "vielen dank im voraus"),
    },
    Cue.HYPOTHESIS: {
        # "si je réponds STOP à ce mail, est-ce que…": the way of replying named is a condition too
        "fr": ("si", "au cas où", "dans le cas où", "si jamais", "éventuellement", "si je réponds"),
        "nl": ("als", "indien", "mocht", "ingeval", "eventueel", "als ik antwoord", "als ik reageer"),
        "en": ("if", "in case", "whether", "should i need", "eventually", "if i reply", "when i reply"),
        "de": ("wenn", "falls", "sofern", "ob", "eventuell", "gegebenenfalls", "wenn ich antworte"),
    },
    Cue.CONTRACT: {
        # the lease's other services ("the login for the fuel card website"): not mailflow's
        "fr": ("contrat", "leasing", "location", "véhicule", "voiture", "abonnement", "prélèvements",
               "carte carburant", "carte essence"),
        "nl": ("contract", "leasing", "huurcontract", "wagen", "auto", "voertuig", "abonnement",
               "domiciliëring", "overeenkomst", "tankkaart"),
        "en": ("contract", "lease", "leasing", "vehicle", "car", "subscription", "agreement", "debit", "fuel card"),
        "de": ("vertrag", "leasing", "leasingvertrag", "fahrzeug", "auto", "wagen", "abonnement", "abo",
               "lastschriften", "dauerauftrag", "tankkarte"),
    },
    # "The invoice" in a reply to the notice of one invoice is that one (the same words are DOCUMENT too)
    Cue.THIS_DOCUMENT: {
        "fr": ("cette facture", "ce document", "cette note de crédit", "celle-ci", "cette facture-ci", "ce pdf",
               *_THE_DOCUMENT["fr"]),
        "nl": ("deze factuur", "dit document", "deze creditnota", "deze pdf", "die factuur", *_THE_DOCUMENT["nl"]),
        "en": ("this invoice", "this document", "this credit note", "this one", "this pdf", "that invoice",
               *_THE_DOCUMENT["en"]),
        "de": ("diese rechnung", "dieses dokument", "diese gutschrift", "dieses pdf", "die rechnung hier",
               *_THE_DOCUMENT["de"]),
    },
    Cue.MISHAP: {
        # and the writer's own doubt ("I apologise if I am doing this wrong"): no complaint either
        "fr": ("par erreur", "par mégarde", "par accident", "sans le vouloir", "si je fais mal",
               "si je m'y prends mal", "si je me trompe"),
        "nl": ("per ongeluk", "per vergissing", "bij vergissing", "zonder het te willen", "verkeerd doe",
               "iets verkeerd doe", "als ik me vergis"),
        "en": ("by mistake", "by accident", "accidentally", "in error", "doing this wrong", "doing it wrong",
               "doing something wrong"),
        "de": ("versehentlich", "aus versehen", "irrtümlich", "aus irrtum", "falsch mache", "etwas falsch mache"),
    },
    Cue.MAILBOX: {
        "fr": ("boîte mail", "boîte e-mail", "boîte de réception", "boîte aux lettres", "messagerie",
               "boîte mail pro", "dossier spam", "spams", "courrier indésirable", "courriers indésirables"),
        "nl": ("mailbox", "inbox", "postvak", "postvak in", "spammap", "spamfolder", "mailbox van", "spam"),
        "en": ("inbox", "mailbox", "spam folder", "my emails", "my email", "email account", "spam"),
        "de": ("postfach", "posteingang", "e-mail-postfach", "mailpostfach", "spamordner", "spam-ordner",
               "*postfach", "spam"),
    },
    Cue.FIND: {
        "fr": ("trouve", "trouver", "retrouve", "retrouver", "retrouvé", "retrouvée", "trouvé", "trouvée"),
        "nl": ("vind", "vinden", "terugvinden", "terug te vinden", "gevonden", "teruggevonden"),
        "en": ("find", "found", "locate", "located", "track down"),
        "de": ("finde", "finden", "gefunden", "wiedergefunden", "auffinden", "wiederfinden"),
    },
    Cue.CURRENT: {
        "fr": ("je reçois", "nous recevons", "on reçoit", "actuellement", "en ce moment", "pour l'instant",
               "pour le moment", "à l'heure actuelle", "reçois", "recevons", "reçoit", "ne reçois",
               "ne recevons"),
        "nl": ("ik krijg", "we krijgen", "wij krijgen", "ik ontvang", "we ontvangen", "wij ontvangen",
               "momenteel", "op dit moment", "nu krijg", "nu krijgen", "op het moment", "krijg geen", "ontvang geen",
               "krijgen geen", "ontvangen geen", "krijg ik geen", "ontvang ik geen"),
        "en": ("i get", "we get", "i receive", "we receive", "currently", "at the moment", "right now",
               "at present", "i'm getting", "we're getting", "we are getting", "i am getting", "don't get",
               "do not get", "don't receive", "do not receive", "no longer get", "no longer receive",
               "not getting", "not receiving", "stopped getting", "stopped receiving"),
        "de": ("ich bekomme", "wir bekommen", "ich erhalte", "wir erhalten", "momentan", "derzeit", "zurzeit",
               "aktuell", "im moment", "bekommen wir", "erhalten wir", "bekomme ich", "erhalte ich", "bekomme keine",
               "erhalte keine", "bekommen keine", "erhalten keine"),
    },
    # "Kann ich eine Kopie bekommen?" asks for a copy; "Kann ich die Benachrichtigungen selbst einstellen?" asks
    # what one may do oneself (see clauses._ability)
    Cue.SELF: {
        "fr": ("moi-même", "nous-mêmes", "moi même", "quelque part", "par moi-même", "seul", "seule"),
        "nl": ("zelf", "ergens", "zelf ook", "op eigen houtje"),
        "en": ("myself", "ourselves", "somewhere", "on my own", "by myself", "yourself"),
        "de": ("selbst", "selber", "irgendwo", "eigenständig", "selbstständig", "selbständig"),
    },
    Cue.ABILITY: {
        "fr": ("puis-je", "pourrais-je", "je peux", "je pourrais", "est-ce que je peux", "est-ce que je pourrais",
               "pouvons-nous", "nous pouvons", "on peut"),
        "nl": ("kan ik", "kunnen we", "kunnen wij", "mag ik", "zou ik", "kan ik ook"),
        "en": ("can i", "could i", "may i", "can we", "could we", "am i able"),
        "de": ("kann ich", "könnte ich", "darf ich", "dürfte ich", "können wir", "könnten wir", "kann man"),
    },
    Cue.SOON: {
        "fr": ("dès que possible", "au plus vite", "au plus tôt", "rapidement", "asap", "en urgence", "urgent",
               "avec effet immédiat", "à effet immédiat"),
        "nl": ("zo snel mogelijk", "zo spoedig mogelijk", "zsm", "dringend", "spoedig", "asap",
               "met onmiddellijke ingang", "met directe ingang"),
        "en": ("as soon as possible", "asap", "urgently", "urgent", "quickly", "at your earliest convenience",
               "with immediate effect", "effective immediately"),
        "de": ("so schnell wie möglich", "so bald wie möglich", "schnellstmöglich", "möglichst bald", "dringend",
               "umgehend", "asap", "baldmöglichst", "zeitnah", "mit sofortiger wirkung"),
    },
    # "je n'arrive pas à l'ouvrir depuis le portail": a document that does not open asks for the document
    Cue.OPEN: {
        "fr": ("ouvrir", "l'ouvrir", "ouvre", "s'ouvre", "s'ouvrir", "charger", "se charge", "afficher",
               "s'affiche", "télécharger", "page blanche", "reste blanche"),
        "nl": ("openen", "opent", "te openen", "laden", "laadt", "downloaden", "openklikken"),
        "en": ("open", "opens", "opening", "load", "loads", "loading", "download", "downloading"),
        "de": ("öffnen", "öffnet", "öffne", "zu öffnen", "laden", "lädt", "herunterladen", "runterladen",
               "anzeigen"),
    },
    # What is to stay as it is: no frequency or stop is asked for anywhere in the message
    Cue.KEEP: {
        "fr": ("ne changez rien", "ne rien changer", "ne modifiez rien", "ne rien modifier", "laissez comme",
               "laissez tout comme", "laissez les choses comme", "tel quel", "telle quelle",
               "comme c'est actuellement", "comme c'est maintenant", "pas changer", "pas modifier",
               "pas besoin de changer", "inutile de changer"),
        "nl": ("laat het zo", "laat het maar zo", "laat het zoals", "laat het maar zoals", "zoals het nu is",
               "zoals het is", "verander niets", "niets veranderen", "niets wijzigen", "wijzig niets", "hou het zo",
               "houd het zo", "hoeft niet aangepast", "hoeft niet veranderd", "hoeft niet gewijzigd", "niet aangepast", "niet aanpassen", "niet veranderen", "niet veranderd", "niet wijzigen",
               "niet gewijzigd"),
        "en": ("keep it as it is", "keep it as is", "leave it as it is", "leave it as is", "keep things as they are",
               "leave things as they are", "don't change anything", "do not change anything", "as it is",
               "no change", "no changes", "don't change", "do not change", "not to change", "no need to change"),
        "de": ("lassen sie es so", "lassen sie es bitte so", "so wie es ist", "wie es ist", "nichts ändern",
               "nichts umstellen", "ändern sie nichts", "wie bisher", "so lassen", "beim alten", "belassen",
               "nicht ändern", "nicht umstellen", "nicht anpassen", "nicht geändert", "nicht umgestellt"),
    },
    # Content with how things are ("recevoir un mail à chaque facture nous convient très bien"): no change asked.
    # A wish in the conditional ("I'd be happy to get…") is a request (Cue.REQUEST).
    Cue.SATISFIED: {
        "fr": ("convient très bien", "convient parfaitement", "nous convient très bien", "me convient très bien",
               "satisfait", "satisfaite", "satisfaits", "content", "contente", "contents", "nous va très bien",
               "me va très bien", "ravi", "ravie"),
        "nl": ("tevreden", "blij met", "bevalt", "bevalt ons", "bevalt me", "prima zo", "goed zo", "is prima zo",
               "is goed zo"),
        "en": ("happy", "i'm happy", "i am happy", "we're happy", "we are happy", "happy with", "content",
               "satisfied", "pleased with"),
        "de": ("zufrieden", "passt so", "passt uns so", "passt mir so", "gefällt uns", "gefällt mir"),
    },
    # An earlier request withdrawn: what it asked (often the subject, "RE: duplicata") is not to be done
    Cue.CANCEL: {
        "fr": ("oubliez ma", "oubliez mon", "oubliez mes", "oubliez ce", "oubliez cette", "ignorez ma",
               "ignorez mon", "ignorez mes", "ignorez ce", "ignorez cette", "n'en tenez pas compte",
               "ne tenez pas compte", "laissez tomber", "annulez ma demande", "ma demande est annulée",
               "pas besoin de", "inutile de"),
        "nl": ("vergeet mijn", "vergeet het", "negeer mijn", "negeer", "laat maar", "laat maar zitten",
               "mijn vraag vervalt", "mag u negeren", "mag genegeerd worden", "hoeft niet", "hoeven niet"),
        "en": ("forget my", "forget about my", "forget that", "ignore my", "ignore that", "please ignore",
               "disregard", "please disregard", "never mind", "nevermind", "cancel my request", "cancel that",
               "scratch that", "don't need to", "do not need to", "no need to"),
        "de": ("vergessen sie meine", "vergessen sie die", "vergessen sie das", "vergessen sie es",
               "ignorieren sie meine", "ignorieren sie", "bitte ignorieren", "hat sich erledigt", "gegenstandslos",
               "ziehe ich zurück", "vergiss es",
               # not to be done: "Sie müssen … nicht schicken" ("ich brauche … nicht mehr" may be about the mails)
               "nicht nötig", "brauchen sie nicht", "müssen sie nicht"),
    },
    # The documents just named, counted: "Can you resend all three?"
    Cue.THESE: {
        "fr": ("les trois", "les deux", "les quatre", "tous les trois", "toutes les trois", "tous les deux",
               "toutes les deux", "ces trois", "ces deux"),
        "nl": ("alle drie", "alle twee", "alle vier", "allebei", "alle beide", "deze drie", "die drie", "beide"),
        "en": ("all three", "all four", "all five", "all two", "both", "both of them", "all of them", "them all",
               "these three", "those three"),
        "de": ("alle drei", "alle beide", "alle vier", "alle zwei", "beide", "beiden", "diese drei", "die drei"),
    },
}

@dataclass(frozen=True)
class Rule:
    """One way of asking for a command: a cue from each group of `needs`, none of `vetoes`.

    The reader also refuses every rule on a clause that is a question, a negation, a thank-you, a hypothesis
    or a statement of the past (GENERIC_VETOES), unless the rule `allows` it: "the link has expired" is a
    statement that asks for a new link, "how do I log in?" a question that asks for a login link.
    """

    name: str
    confidence: float
    needs: tuple[frozenset[str], ...]
    vetoes: frozenset[str] = frozenset()
    allows: frozenset[str] = frozenset()
    keyword: bool = False  # the sentence is the command word and little else: "STOP", "Duplicata F2026-0042 svp"
    refers: frozenset[str] = frozenset()  # what the clause, or the 'it' it says, must be about
    plain: bool = False  # holds only when the clause says nothing else (no unknown words)
    # A link asked for without saying which is the kind of link the message is about: what the message (any
    # sentence, or the subject of the mail answered) must name for the rule to hold, and what it must not.
    topic: frozenset[str] = frozenset()
    off_topic: frozenset[str] = frozenset()


def rule(name: str, confidence: float, *needs: Iterable[str], vetoes: Iterable[str] = (),
         allows: Iterable[str] = (), keyword: bool = False, refers: Iterable[str] = (), plain: bool = False,
         topic: Iterable[str] = (), off_topic: Iterable[str] = ()) -> Rule:
    return Rule(name, confidence, tuple(frozenset(group) for group in needs), frozenset(vetoes),
                frozenset(allows), keyword, frozenset(refers), plain, frozenset(topic), frozenset(off_topic))


SIGNAL = frozenset({Cue.REQUEST, Cue.MODAL, Cue.WANT, Cue.IMPERATIVE})  # something is being asked
# Words that open a clause of their own ('…, but I don't need the paper one'): what follows is something else
CONTRAST = frozenset({"mais", "but", "maar", "aber", "however", "cependant", "toutefois", "echter", "jedoch"})


def asks_politely(tags: set[str]) -> bool:
    """A condition that asks ('If you could send…', 'Wäre nett, wenn…') rather than one about what happened:
    'Si vous avez reçu une demande de désabonnement' names a request, it makes none."""
    return bool(tags & SIGNAL) and not (Cue.PAST in tags and not tags & {Cue.MODAL, Cue.WANT})
GENERIC_VETOES = frozenset({Cue.WHY, Cue.THANKS, Cue.HYPOTHESIS, Cue.NEGATION, Cue.QUESTION_FORM, Cue.STATEMENT,
                            Cue.CANCEL, Cue.DENIED})


# German umlauts are spelled out rather than dropped: 'hätte' (would have) must not read as 'hatte' (had), nor
# 'würde' as 'wurde', 'könnten' as 'konnten'. The lexicon also holds each form without them (see Lexicon.add).
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def fold(text: str) -> str:
    """Lower case without accents or curly quotes, so 'Désinscrire', 'TÄGLICH' and 'immédiat' compare; German
    umlauts spelled out ('täglich' is 'taeglich')."""
    composed = unicodedata.normalize("NFC", text.replace("’", "'").replace("‘", "'")).translate(_UMLAUTS)
    decomposed = unicodedata.normalize("NFKD", composed)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


_TOKEN = re.compile(r"[^\W_]+|[#°]", re.UNICODE)


def words_of(text: str) -> list[str]:
    """A form's words as the reader sees them: folded, split at spaces, apostrophes and hyphens."""
    return [fold(m.group(0)) for m in _TOKEN.finditer(text)]


# Dutch and German verbs whose particle goes to the end of the clause ("melden Sie mich bitte ab", "stuur
# me die factuur nog eens door"): the verb means the tag only with its particle after it.
SEPARABLE: dict[tuple[str, str], str] = {
    **{(verb, "ab"): "unsubscribe" for verb in ("melden", "melde", "meldet", "bestellen", "bestelle", "bestellt")},
    **{(verb, "aus"): "unsubscribe" for verb in ("tragen", "trage", "tragt", "trägt")},
    **{(verb, "an"): "login" for verb in ("melden", "melde", "meldet")},
    **{(verb, "ein"): "login" for verb in ("logge", "loggen", "loggt")},
    **{(verb, "ein"): "stop-verb" for verb in ("stellen", "stelle", "stellt")},
    **{(verb, "auf"): "stop-verb" for verb in ("hören", "höre", "hört", "horen", "hoeren")},
    **{(verb, "zukommen"): Cue.SEND for verb in ("lassen", "lasse", "lasst", "läßt")},
    **{(verb, particle): Cue.SEND for verb in ("schicken", "schickt", "senden", "sendet", "schick", "sende")
       for particle in ("zu", "nach")},
    **{(verb, "af"): "unsubscribe" for verb in ("meld", "meldt", "melden")},
    **{(verb, "uit"): "unsubscribe" for verb in ("schrijf", "schrijft", "schrijven")},
    **{(verb, "aan"): "login" for verb in ("meld", "meldt", "melden")},
    **{(verb, "in"): "login" for verb in ("log", "logt", "loggen")},
    **{(verb, particle): Cue.SEND for verb in ("stuur", "stuurt", "sturen", "zend", "zendt", "mail", "mailt")
       for particle in ("door", "op", "na", "toe")},
    **{(verb, "op"): Cue.GET for verb in ("vraag", "vraagt", "vragen")},  # "vraag … op": ask for documents
    **{(verb, particle): "remove" for verb in ("nehmen", "nehmt", "nimm") for particle in ("heraus", "raus")},
    **{(verb, "um"): Cue.PREFER for verb in ("stellen", "stelle", "stellt")},  # "stellen Sie mich auf … um"
    **{(verb, "zu"): Cue.SEND for verb in ("stellen", "stelle", "stellt")},  # "stellen Sie mir die Rechnung zu"
    # a negation at the end of the clause: "ich kann mich im Portal nicht anmelden", "de link werkt bij mij niet"
    **{(verb, "nicht"): Cue.CANT for verb in ("kann", "können", "konnte", "komme", "kommen", "klappt", "gelingt",
                                              "schaffe")},
    **{(verb, "nicht"): Cue.BROKEN for verb in ("funktioniert", "funktionierte", "geht", "öffnet")},
    **{(verb, "niet"): Cue.CANT for verb in ("kan", "kunnen", "lukt", "lukte", "geraak", "raak")},
    **{(verb, "niet"): Cue.BROKEN for verb in ("werkt", "werkte", "opent")},
    **{(verb, particle): "stop-verb" for verb in ("stellen", "stelle", "stellt", "schalten", "schalte", "schaltet")
       for particle in ("ab", "aus")},  # "stellen Sie die Benachrichtigungen ab"
    **{(verb, "uit"): "stop-verb" for verb in ("zet", "zetten", "schakel", "schakelen")},  # "zet de meldingen uit"
    # "passer mes notifications en hebdomadaire", "zet de meldingen op maandelijks": a setting changed to a value
    **{(verb, particle): Cue.PREFER for verb in ("passer", "passez", "mettre", "mettez", "basculer", "basculez")
       for particle in ("en", "sur")},
    **{(verb, particle): Cue.PREFER for verb in ("changer", "changez", "modifier", "modifiez")
       for particle in ("en", "pour")},
    **{(verb, "op"): Cue.PREFER for verb in ("zet", "zetten")},
    # "take this address off your list", "leave me out of these mails"
    **{(verb, "off"): "remove" for verb in ("take", "get", "strike", "cross")},
}

# Month names, folded, in the four languages (and Austria's 'Jänner'): a date's words, not a sentence's end.
MONTHS = frozenset(w for text in (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre "
    "januari februari maart april mei juni juli augustus september oktober november december "
    "january february march april may june july august september october november december "
    "januar jänner februar feber märz april mai juni juli august september oktober november dezember"
).split() for w in words_of(text))

# What opens a clause that is the object of the one before it: "…nicht gut, jeden Tag eine Mail zu bekommen",
# "je ne trouve pas normal, de recevoir…", "I don't like, to get…"
INFINITIVE_MARKS = frozenset(words_of("zu de d to om te"))

# More than one: "trois mails par jour" counts what comes, "un mail par jour" may be what is wanted
COUNTS = frozenset(words_of("deux trois quatre cinq dix plusieurs twee drie vier vijf tien meerdere verschillende "
                            "two three four five ten several multiple zwei drei vier fünf zehn mehrere etliche"))

# Words that open a clause set inside a sentence, between what is asked and the verb that asks it
# ("…, weil ich sie gelöscht habe, …", "…, because I lost it, …", "…, si possible, …").
SUBORDINATORS = frozenset(words_of(
    "weil obwohl nachdem welche welcher welches deren dessen wenn falls sofern "
    "parce puisque car lorsque dont lequel laquelle lesquelles si qui "
    "omdat aangezien hoewel welke indien als "
    "because although though since which whom whose if"))
# Relative when a subject follows: "die ich nicht mehr finde", "que je ne trouve plus", "that I lost".
RELATIVES = frozenset(words_of("die der das den dem que qu dat that"))
SUBJECT_PRONOUNS = frozenset(words_of("ich wir sie man er je j nous on il elle ils vous ik wij we ze hij u jij "
                                      "i you he she they"))

# Small words that stand for nothing a reply asks about: a clause made only of cues and these names no other
# object, so "pourriez-vous me la renvoyer ?" is about the document the mail is about.
FUNCTION_WORDS = frozenset(w for text in (
    "the a an to me us my our your you it them this that these those of for with by on in at from and or also "
    "just again once more some one mine ours please kindly here there thank thanks hello sir madam "
    "le la les l un une des du de d au aux a à me moi nous vous votre vos mon ma mes notre nos ce cette ces "
    "celle celui ceci cela ça et ou aussi encore svp par pour sur en dans avec m j y il elle on est "
    "de het een mij me ons u uw jullie mijn onze dit dat deze die ze hem het en of ook nog even eens "
    "voor van met op in aan naar per te er is zijn wel dan toch "
    "der die das den dem des ein eine einen einem einer mir mich uns ihnen sie ihr ihre ihren mein meine "
    "meinen unser unsere dies diese dieses diesen es und oder auch noch mal bitte für von mit zu an auf in "
    "per den dem vom zum zur ist sind doch en fait actually eigenlijk eigentlich maar mal eben kurz schon gerne "
    "even effe eens ajb "
    # light verbs and 'all': "was kann ich alles machen" asks about nothing else
    "machen tun do doe doen faire fais alles all tout allemaal "
    # chat: "jla trouve plus", "danke dir", "kannst du", "bräuchte sie"
    "jla jle jles jai dir dich euch du jij je ya u irgendwie somehow höflich höflichst kurz bitteschön "
    # the particles of phrasal and separable verbs: "send it over", "rüberschicken", "stuur ze eens door"
    "over through across back up along rüber herüber her hin door toe na als "
    # fillers of Belgian French ("envoyer une fois", "merci hein"), Flemish ("efkes", "gij"), Bavarian ("ma")
    "fois hein e efkes effekes eventjes gij ge hier ma mer gewoon intussen folks "
    # when, not what: "could I get this invoice in the meantime?", "schon jetzt", "nu al"
    "now meantime meanwhile jetzt nun inzwischen zwischenzeit vorerst maintenant attendant ondertussen "
    "inmiddels nu alvast ihn ihm "
    # 'but' opens a clause of its own (CONTRAST) and names nothing
    "but mais aber however cependant toutefois echter jedoch "
    # modal verbs and politeness that name nothing: "Zou u mij die nog eens willen opsturen?", "bitte schön"
    "willen wilt kan can could schön schoen else"
).split() for w in words_of(text))


@dataclass(frozen=True)
class Entry:
    """One form of one cue in one language: a word, a phrase, a stem ('factur*') or a suffix ('*link')."""

    words: tuple[str, ...]
    tag: str
    language: str
    stem: str = ""  # "prefix" | "suffix" for one-word forms written with a star


@dataclass
class Lexicon:
    """Every form, indexed for the reader: phrases by first word, stems, and a typo index of long words."""

    phrases: dict[str, list[Entry]] = field(default_factory=dict)
    prefixes: dict[str, list[Entry]] = field(default_factory=dict)  # by first letter
    suffixes: dict[str, list[Entry]] = field(default_factory=dict)  # by last letter
    typos: dict[str, set[str]] = field(default_factory=dict)  # a word with one letter left out → words
    far_typos: dict[str, set[str]] = field(default_factory=dict)  # a long word with two letters left out → words
    fuzzy_tags: frozenset[str] = frozenset()

    def add(self, tag: str, forms: Words) -> None:
        for language, texts in forms.items():
            for text in texts:
                for variant in {text, _without_umlauts(text)}:
                    self._add(Entry(tuple(words_of(variant.strip("*"))), tag, language, _stem(text)))

    def _add(self, entry: Entry) -> None:
        if not entry.words:
            return
        if entry.stem:
            stem = entry.words[0]
            if entry.stem == "prefix":
                self.prefixes.setdefault(stem[0], []).append(entry)
            else:
                self.suffixes.setdefault(stem[-1], []).append(entry)
            return
        self.phrases.setdefault(entry.words[0], []).append(entry)
        if len(entry.words) == 1 and entry.tag in self.fuzzy_tags and len(entry.words[0]) > MIN_TYPO_LENGTH:
            for key in _deletions(entry.words[0]):
                self.typos.setdefault(key, set()).add(entry.words[0])
            if len(entry.words[0]) >= MIN_FAR_TYPO_LENGTH:
                for key in _two_deletions(entry.words[0]):
                    self.far_typos.setdefault(key, set()).add(entry.words[0])

    def starting(self, word: str) -> list[Entry]:
        """Phrases and words that begin with `word`, longest first."""
        return sorted(self.phrases.get(word, ()), key=lambda e: -len(e.words))

    def stems(self, word: str) -> list[Entry]:
        if not word:
            return []
        found = [e for e in self.prefixes.get(word[0], ())
                 if word.startswith(e.words[0]) and len(word) > len(e.words[0])]
        return found + [e for e in self.suffixes.get(word[-1], ())
                        if word.endswith(e.words[0]) and len(word) > len(e.words[0])]

    def corrected(self, word: str) -> str | None:
        """The one known word `word` is a typo of (one letter wrong, missing, extra or swapped; two in a long
        word: 'Benachrichtigunegn', 'Zusammenfasung'), else None."""
        if not MIN_TYPO_LENGTH <= len(word) <= MAX_TYPO_LENGTH or word in self.phrases or not word.isalpha():
            return None
        near = {known for key in _deletions(word) for known in self.typos.get(key, ())}
        near = sorted(known for known in near if _one_edit(word, known))
        if not near and len(word) >= MIN_FAR_TYPO_LENGTH:
            far = {known for key in _two_deletions(word) for known in self.far_typos.get(key, ())}
            near = sorted(known for known in far if known[0] == word[0] and _edits(word, known) <= 2)
        near = [known for known in near if not _other_inflection(word, known)]
        if len({self._meaning(known) for known in near}) == 1:
            return near[0]  # 'duplikaat' is as near Dutch 'duplicaat' as German 'duplikat': a copy either way
        return None  # two words as near that mean different things: no guess

    def _meaning(self, word: str) -> frozenset[str]:
        return frozenset(e.tag for e in self.phrases.get(word, ()) if e.words == (word,))


MIN_TYPO_LENGTH = 5  # shorter words are left alone ("stop", "help"): one letter off, they are other words
MAX_TYPO_LENGTH = 24  # no known word is longer; a 100 kB "word" in hostile mail must cost nothing
MIN_FAR_TYPO_LENGTH = 11  # from this length two letters may be off: long words are far apart from each other


_PLAIN_VOWELS = str.maketrans("äöüÄÖÜ", "aouAOU")


def _without_umlauts(text: str) -> str:
    """German as some keyboards write it: 'können' is also 'konnen' ('koennen' is how fold spells it anyway)."""
    return text.translate(_PLAIN_VOWELS)


def _stem(text: str) -> str:
    if text.endswith("*"):
        return "prefix"
    return "suffix" if text.startswith("*") else ""


def _deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1:] for i in range(len(word))}


# Inflections that make real words: 'noticed' is no typo of 'notices', nor 'sender' of 'senden'.
_ENDINGS = ("ing", "ed", "es", "en", "er", "te", "st")


def _other_inflection(word: str, known: str) -> bool:
    ending = next((e for e in _ENDINGS if word.endswith(e)), None)
    return ending is not None and not known.endswith(ending) and word[:-len(ending)] == known[:len(word) - len(ending)]


def _two_deletions(word: str) -> set[str]:
    return {shorter for once in _deletions(word) for shorter in _deletions(once)}


def _edits(a: str, b: str) -> int:
    """Damerau distance (optimal string alignment): letters wrong, missing, extra or swapped."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _one_edit(a: str, b: str) -> bool:
    """Damerau distance of exactly one: a typo, not another word."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        return len(diff) == 1 or swapped
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def build(groups: Iterable[tuple[str, Words]], fuzzy: Iterable[str]) -> Lexicon:
    """A lexicon of (tag, words per language) groups; words of `fuzzy` tags are found with one typo too."""
    lexicon = Lexicon(fuzzy_tags=frozenset(fuzzy))
    for tag, forms in groups:
        lexicon.add(tag, forms)
    return lexicon

