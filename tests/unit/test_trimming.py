"""Reply trimming: only what the sender typed survives, across clients and languages."""

from __future__ import annotations

import pytest

from mailflow.inbound.parsing import parse_message
from mailflow.inbound.trimming import LineKind, classify_line, trim_reply


def test_french_outlook_reply_above_a_de_envoye_block() -> None:
    text = (
        "DUPLICATA F2026-0042\n"
        "\n"
        "Cordialement,\n"
        "Jean\n"
        "\n"
        "De : Portail Factures <noreply@portal.example.com>\n"
        "Envoyé : lundi 2 novembre 2026 10:00\n"
        "À : Jean Dupré <jean@client.example>\n"
        "Objet : Nouvelle facture disponible\n"
        "\n"
        "Bonjour,\n"
        "Une nouvelle facture est disponible.\n"
        "> older quoted text\n"
    )
    assert trim_reply(text) == "DUPLICATA F2026-0042\n\nCordialement,\nJean"


def test_gmail_french_attribution() -> None:
    text = (
        "HEBDOMADAIRE\n\n"
        "Le lun. 2 nov. 2026 à 10:00, Portail <noreply@portal.example.com> a écrit :\n\n"
        "> Bonjour,\n> Une nouvelle facture est disponible.\n"
    )
    assert trim_reply(text) == "HEBDOMADAIRE"


def test_gmail_attribution_wrapped_over_two_lines() -> None:
    text = "stop\n\nLe lun. 2 nov. 2026 à 10:00, Portail Factures <\nnoreply@portal.example.com> a écrit :\n\n> Bonjour\n"
    assert trim_reply(text) == "stop"


def test_dutch_attribution() -> None:
    text = "Wekelijks graag.\n\nOp ma 2 nov. 2026 om 10:00 schreef Portaal <noreply@portal.example.com>:\n\n> Beste klant,\n"
    assert trim_reply(text) == "Wekelijks graag."


def test_german_attribution() -> None:
    text = "Hilfe\n\nAm Mo., 2. Nov. 2026 um 10:00 Uhr schrieb Portal <noreply@portal.example.com>:\n> Sehr geehrte Kundin,\n"
    assert trim_reply(text) == "Hilfe"


@pytest.mark.parametrize(
    "banner",
    ["-----Original Message-----", "-----Message d'origine-----", "-----Oorspronkelijk bericht-----",
     "-----Ursprüngliche Nachricht-----", "---------- Forwarded message ---------"],
)
def test_original_message_banners(banner: str) -> None:
    text = f"login\n\n{banner}\nFrom: Portal\nSent: Monday\nTo: x\nSubject: y\n\nold body\n"
    assert trim_reply(text) == "login"


@pytest.mark.parametrize(
    "block",
    [
        "From: Portal <noreply@portal.example.com>\nSent: Monday, November 2, 2026 10:00 AM\nTo: Jan\nSubject: New invoice",
        "Van: Portaal <noreply@portal.example.com>\nVerzonden: maandag 2 november 2026 10:00\nAan: Jan\nOnderwerp: Factuur",
        "Von: Portal <noreply@portal.example.com>\nGesendet: Montag, 2. November 2026 10:00\nAn: Jan\nBetreff: Rechnung",
        "*From:* Portal\n*Sent:* 2026-11-02\n*To:* jan@client.example\n*Subject:* New invoice",
    ],
)
def test_outlook_header_blocks_in_several_languages(block: str) -> None:
    assert trim_reply(f"RESEND\n\n{block}\n\nHello,\nyour invoice\n") == "RESEND"


def test_outlook_html_reply_through_the_parser() -> None:
    raw = (
        b"Content-Type: text/html; charset=utf-8\n\n"
        b"<html><body><div>DAILY</div><div><br></div>"
        b'<hr style="display:inline-block;width:98%">'
        b'<div id="divRplyFwdMsg"><b>From:</b> Portal &lt;noreply@portal.example.com&gt;<br>'
        b"<b>Sent:</b> Monday, November 2, 2026 10:00 AM<br><b>To:</b> Jan<br>"
        b"<b>Subject:</b> New invoice</div><div>Hello, your invoice is ready.</div></body></html>"
    )
    assert trim_reply(parse_message(raw).text) == "DAILY"


def test_outlook_desktop_html_without_a_rule() -> None:
    raw = (
        "Content-Type: text/html; charset=utf-8\n\n"
        "<p class=MsoNormal>Weekly please</p><p class=MsoNormal>&nbsp;</p>"
        "<div style='border-top:solid #E1E1E1 1.0pt'><p class=MsoNormal><b>De&nbsp;:</b> Portail"
        "<br><b>Envoyé&nbsp;:</b> lundi 2 novembre 2026 10:00<br><b>À&nbsp;:</b> Jean"
        "<br><b>Objet&nbsp;:</b> Facture</p></div><p class=MsoNormal>Bonjour</p>"
    ).encode()
    assert trim_reply(parse_message(raw).text) == "Weekly please"


def test_gmail_html_reply_through_the_parser() -> None:
    raw = (
        b"Content-Type: text/html; charset=utf-8\n\n"
        b'<div dir="ltr">MONTHLY</div><br><div class="gmail_quote"><div class="gmail_attr">'
        b"On Mon, Nov 2, 2026 at 10:00 AM Portal &lt;noreply@portal.example.com&gt; wrote:<br></div>"
        b'<blockquote class="gmail_quote"><div>Your invoice</div></blockquote></div>'
    )
    assert trim_reply(parse_message(raw).text) == "MONTHLY"


@pytest.mark.parametrize(
    "signature",
    ["Sent from my iPhone", "Envoyé de mon iPhone", "Verzonden vanaf mijn iPhone", "Von meinem iPhone gesendet",
     "Get Outlook for iOS<https://aka.ms/o0ukef>", "Envoyé depuis mon appareil mobile", "Sent from Mail for Windows"],
)
def test_phone_and_app_signatures(signature: str) -> None:
    text = f"STOP\n\n{signature}\n\nOn 2 Nov 2026, at 10:00, Portal <noreply@portal.example.com> wrote:\n\n> Hello\n"
    assert trim_reply(text) == "STOP"


def test_signature_delimiter_cuts_the_rest() -> None:
    assert trim_reply("stop please\n\n-- \nJohn Doe\nACME Corp\n+32 2 123 45 67\n") == "stop please"


def test_apple_mail_and_thunderbird_attributions() -> None:
    apple = "Resend please\n\n> On 2 Nov 2026, at 10:00, Portal <noreply@portal.example.com> wrote:\n>\n> Hello\n"
    thunderbird = "Monthly\n\nOn 02/11/2026 10:00, Portal wrote:\n> Hello\n"
    assert trim_reply(apple) == "Resend please"
    assert trim_reply(thunderbird) == "Monthly"


def test_bottom_posting_keeps_only_the_answer() -> None:
    text = "On Mon, Nov 2, 2026 at 10:00 AM Portal <noreply@portal.example.com> wrote:\n> Hello\n> Invoice\n\nDUPLICATE F2026-0042\n"
    assert trim_reply(text) == "DUPLICATE F2026-0042"


def test_inline_answers_keep_their_context() -> None:
    text = "On Mon, Portal wrote:\n> Question one?\nAnswer one.\n> Question two?\nAnswer two.\n> bye\n"
    assert trim_reply(text) == "> Question one?\nAnswer one.\n> Question two?\nAnswer two."


def test_salutation_above_a_selected_quote_means_the_answer_is_below() -> None:
    text = "Bonjour,\n\nLe 2 nov. 2026 à 10:00, Portail a écrit :\n> Choisissez une fréquence.\n\nMENSUEL\n\nJean\n"
    assert trim_reply(text) == "Bonjour,\n\n> Choisissez une fréquence.\n\nMENSUEL\n\nJean"


def test_a_drawn_rule_inside_the_reply_is_not_the_end_of_it() -> None:
    text = "First part.\n\n__________\n\nSecond part.\n\nOn Mon, Portal <noreply@portal.example.com> wrote:\n> old\n"
    assert trim_reply(text) == "First part.\n\n__________\n\nSecond part."
    assert trim_reply("Reply.\n\n--\nJane\n\nOn Mon, Portal wrote:\n> old\n") == "Reply."


def test_a_leading_quote_followed_by_text_is_kept() -> None:
    assert trim_reply("> This is a quote.\n\nAnd this is some text.\n") == "> This is a quote.\n\nAnd this is some text."


def test_only_quotes_means_nothing_was_written() -> None:
    assert trim_reply("> On Mon, X <x@example.com> wrote:\n>\n>> older\n") == ""


def test_code_blocks_and_lists_survive() -> None:
    text = "Look:\n\n```\n---\n# comment\n```\n\n- A\n- B\n\n    indented\n"
    assert trim_reply(text) == text.rstrip()


def test_whitespace_and_line_endings() -> None:
    assert trim_reply("") == ""
    assert trim_reply("  \n\n ") == ""
    assert trim_reply("\n\n  Indented first line\r\nsecond\r\n\r\n") == "  Indented first line\nsecond"


def test_line_kinds() -> None:
    assert classify_line("") is LineKind.EMPTY
    assert classify_line("> quoted") is LineKind.QUOTE
    assert classify_line("-- ") is LineKind.DELIMITER
    assert classify_line("Sent from my iPhone") is LineKind.SIGNATURE
    assert classify_line("-----Original Message-----") is LineKind.MARKER
    assert classify_line("Objet : Facture") is LineKind.HEADER
    assert classify_line("From my point of view, yes.") is LineKind.TEXT


def test_a_tracker_mark_alone_on_its_line_is_not_writing() -> None:
    assert trim_reply("WEEKLY\n\n\u1427\n--\nJan\n") == "WEEKLY"
    assert classify_line("\u1427") is LineKind.EMPTY


def test_an_attribution_split_by_blank_lines_is_one_marker() -> None:
    text = ("STOP\n\nOn Mon, 2 Nov 2026 at 10:00 Portal Invoices\n\n<\nmailto:noreply@portal.example.com\n> wrote:\n\n"
            "A new invoice is available.\n")
    assert trim_reply(text) == "STOP"


def test_supercite_initials_quote_like_a_chevron() -> None:
    text = "Before.\nOn Mon, 2 Nov 2026, Portal wrote:\n> Hello\n\nMy answer.\n\nPI> more of the original\nPI>\n"
    assert trim_reply(text) == "Before.\n> Hello\n\nMy answer."
    assert classify_line("JD> quoted") is LineKind.QUOTE and classify_line("x>5 is wrong") is LineKind.TEXT


@pytest.mark.parametrize("attribution", [
    "In data 2 novembre 2026 10:00 \"Portail\" <noreply@portal.example.com> ha scritto:",
    "ma 2. marraskuuta 2026 klo 10.00 Portal\n<noreply@portal.example.com> kirjoitti:",
    "W dniu 02.11.2026 o 10:00 Portal pisze, Portal napisał:",
    "2 lis 2026, o godz. 10:00 Portal <noreply@portal.example.com> napisał(a):",
])
def test_attributions_in_other_languages_by_their_verb_and_date(attribution: str) -> None:
    assert trim_reply(f"DUPLICATE F2026-0042\n\n{attribution}\n\nA new invoice.\n") == "DUPLICATE F2026-0042"


def test_a_sentence_with_a_document_number_is_not_an_attribution() -> None:
    text = "Please resend F2026-0042 as Jan kirjoitti:\nthanks\n"
    assert trim_reply(text) == text.rstrip()


def test_french_webmail_header_block() -> None:
    text = ("Merci, RENVOYER svp\n\n====\n\nMessage du : 02/11/2026 10:00\nDe : \"Portail\" <noreply@portal.example.com>\n"
            "A : jean@client.example\nCopie à : \nSujet : Nouvelle facture\n\nUne nouvelle facture est disponible.\n")
    assert trim_reply(text) == "Merci, RENVOYER svp"


def test_a_titled_rule_above_a_header_block_goes_with_it() -> None:
    text = ("MONTHLY please\n\n-------- Ursprungligt meddelande --------\nFrån: Portal <noreply@portal.example.com>\n"
            "Datum: 2026-11-02 10:00\nTill: jan@client.example\nÄmne: New invoice\n\nA new invoice.\n")
    assert trim_reply(text) == "MONTHLY please"


def test_text_after_a_phone_signature_is_the_unquoted_original() -> None:
    text = "DUPLICATA F2026-0042\n\nEnvoyé de mon iPhone\n\nBonjour, une nouvelle facture est disponible.\n"
    assert trim_reply(text) == "DUPLICATA F2026-0042"
    assert trim_reply("> Une facture.\n\nAIDE\n\nEnvoyé de mon iPhone\n") == "> Une facture.\n\nAIDE"


def test_a_reply_of_quotes_only_reads_as_nothing_written() -> None:
    # discourse's trimmer returns the quote here; mailflow never reads commands from quoted text.
    assert trim_reply("> STOP\n") == ""


def test_text_below_our_unquoted_mail_is_what_the_sender_wrote() -> None:
    from mailflow.inbound.ours import written_text
    body = ("\n________________________________\nVan: Lease Services <documents@lease.example>\n"
            "Verzonden: maandag 2 november 2026 10:02\nAan: Jan <jan@example.be>\n"
            "Onderwerp: Nieuwe factuur F2026-0171 beschikbaar\n\nBeste Jan,\n\n"
            "Er is een nieuw document beschikbaar.\n\n--\n"
            "Antwoord op deze mail met HULP om te zien wat u per mail kunt doen.\n"
            "Deze meldingen stopzetten: https://portal.lease.example/unsubscribe/k3j4h5g6m7n8\n\n\n"
            "Sorry, ik schrijf onderaan: graag een duplicaat van deze factuur.\n\nJan\n")
    assert written_text(body).startswith("Sorry, ik schrijf onderaan: graag een duplicaat van deze factuur.")
    assert written_text("Merci !\n\n> quoted") == "Merci !"
