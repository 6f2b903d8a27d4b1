"""A shared user who has not activated gets one invitation, not one per document; the primary contact's every
notice carries the activation link until activation, as the FAQ says."""

from __future__ import annotations

from tests.support import factories
from tests.support.outbox import mails_to, text


def test_three_documents_bring_a_shared_user_one_invitation_and_the_primary_contact_three(rt):
    factories.customer(rt, "DL2123456")
    factories.share(rt, "DL2123456")  # shared from the command line: no invitation was sent then
    for number in ("F2026-0042", "F2026-0043", "F2026-0044"):
        factories.document(rt, number=number)
    jan = [text(m) for m in mails_to(factories.JAN.email, "notice")]
    assert len(jan) == 3 and sum("/auth/" in body for body in jan) == 1 and "/auth/" in jan[0]
    assert all("/documents" in body for body in jan[1:])  # the others lead to the viewer and its login
    assert all("/auth/" in text(m) for m in mails_to(factories.MARIE.email, "notice"))
    rt.clock.advance(days=rt.config.security.invitation_days + 1)  # once the link no longer works, a new one
    factories.document(rt, number="F2026-0045")
    assert "/auth/" in text(mails_to(factories.JAN.email, "notice")[-1])
