"""The whole domain as peewee models: issuers, customers, users, documents, mail in and out."""

from __future__ import annotations

from peewee import (
    AutoField, BigIntegerField, BlobField, BooleanField, CharField, DateField, DateTimeField,
    FloatField, ForeignKeyField, IntegerField, Model, TextField,
)

from mailflow.db import database

LANGUAGES = ("fr", "nl", "en", "de")
FREQUENCIES = ("immediate", "daily", "weekly", "monthly", "off")
DOCUMENT_TYPES = ("invoice", "credit_note")
CUSTOMER_KINDS = ("business", "private")  # private customers cannot share (the FAQ's B2C accounts)
CHANNELS = ("both", "portal", "mail")  # how a shared user gets a customer number's documents


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Issuer(BaseModel):
    id = AutoField()
    prefix = CharField(max_length=16, unique=True)
    name = CharField(max_length=200)
    api_key_hash = CharField(max_length=64, null=True)


class User(BaseModel):
    id = AutoField()
    email = CharField(max_length=254, unique=True)  # stored lower-case: one account per address
    first_name = CharField(max_length=100, default="")
    last_name = CharField(max_length=100, default="")
    language = CharField(max_length=2, default="fr")
    activated_at = DateTimeField(null=True)
    is_staff = BooleanField(default=False)
    api_token_hash = CharField(max_length=64, null=True, unique=True)
    merged_into = ForeignKeyField("self", null=True, on_delete="SET NULL")
    created_at = DateTimeField()

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class Customer(BaseModel):
    id = AutoField()
    number = CharField(max_length=32, unique=True)  # issuer prefix + number, e.g. DL2123456
    issuer = ForeignKeyField(Issuer, on_delete="RESTRICT")
    company = CharField(max_length=200)
    enterprise_number = CharField(max_length=12, null=True)
    primary_user = ForeignKeyField(User, on_delete="RESTRICT")
    paperless = BooleanField(default=False)
    kind = CharField(max_length=8, default="business")  # business | private
    created_at = DateTimeField()


class Access(BaseModel):
    """Who may see a customer number's documents; a shared user only for ticked numbers."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE", backref="accesses")
    customer = ForeignKeyField(Customer, on_delete="CASCADE", backref="accesses")
    role = CharField(max_length=8)  # primary | shared
    # both: in the portal and by notification; portal: no notices or digests; mail: notices, not in the viewer
    channels = CharField(max_length=8, default="both")
    granted_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField()

    class Meta:
        indexes = ((("user", "customer"), True), (("customer", "role"), False))


class Share(BaseModel):
    """A primary contact's shared user, kept even while no customer number is ticked."""

    id = AutoField()
    owner = ForeignKeyField(User, on_delete="CASCADE", backref="shares")
    user = ForeignKeyField(User, on_delete="CASCADE")
    created_at = DateTimeField()

    class Meta:
        indexes = ((("owner", "user"), True),)


class Document(BaseModel):
    id = AutoField()
    issuer = ForeignKeyField(Issuer, on_delete="RESTRICT")
    customer = ForeignKeyField(Customer, on_delete="CASCADE", backref="documents")
    number = CharField(max_length=64)
    number_key = CharField(max_length=64)  # letters and digits only: "f2026 0042" finds F2026-0042
    type = CharField(max_length=16)  # invoice | credit_note
    date = DateField()
    amount_cents = BigIntegerField()  # incl. VAT, exact
    currency = CharField(max_length=3, default="EUR")
    pdf_sha256 = CharField(max_length=64)
    pdf_size = IntegerField()
    pdf_name = CharField(max_length=200)
    created_at = DateTimeField()

    class Meta:
        # one index per viewer filter and sort, each led by customer since every query is scoped by it
        indexes = (
            (("issuer", "number"), True),
            (("number_key",), False),
            (("customer", "date"), False),
            (("customer", "number"), False),
            (("customer", "type", "date"), False),
            (("customer", "amount_cents"), False),
            (("date",), False),
            (("pdf_sha256",), False),  # retention deletes a PDF only when no other document shares it
        )


class View(BaseModel):
    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE")
    document = ForeignKeyField(Document, on_delete="CASCADE")
    viewed_at = DateTimeField()

    class Meta:
        indexes = ((("user", "document"), True), (("document",), False))


class Preference(BaseModel):
    """How often a user hears about one customer number's documents."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE")
    customer = ForeignKeyField(Customer, on_delete="CASCADE")
    frequency = CharField(max_length=10, default="immediate")
    updated_at = DateTimeField()

    class Meta:
        indexes = ((("user", "customer"), True),)


class Outbox(BaseModel):
    """One mail to send; rendered once, so retries send the very same bytes and Message-ID."""

    id = AutoField()
    message_id = CharField(max_length=200, unique=True)
    kind = CharField(max_length=32)
    recipient = CharField(max_length=254)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    customer = ForeignKeyField(Customer, null=True, on_delete="SET NULL", index=False)  # where set, below
    document = ForeignKeyField(Document, null=True, on_delete="SET NULL", index=False)  # where set, below
    subject = TextField(default="")
    raw = BlobField()
    status = CharField(max_length=12, default="queued")  # queued|sending|deferred|sent|failed|suppressed
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField()
    lease_until = DateTimeField(null=True)
    lease_owner = CharField(max_length=64, null=True)
    last_response = TextField(null=True)
    created_at = DateTimeField()
    sent_at = DateTimeField(null=True)
    bounced_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False), (("recipient",), False),
                   (("created_at",), False))


class Digest(BaseModel):
    """One digest per recipient, frequency and period: the unique key makes re-runs harmless."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE", index=False)  # led by the unique key below
    frequency = CharField(max_length=10)
    period_start = DateTimeField()
    period_end = DateTimeField()
    outbox = ForeignKeyField(Outbox, null=True, on_delete="SET NULL")
    created_at = DateTimeField()

    class Meta:
        indexes = ((("user", "frequency", "period_start"), True),)


class Notification(BaseModel):
    """One recipient told about one document, immediately or in a digest."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE", index=False)  # led by the unique key below
    document = ForeignKeyField(Document, on_delete="CASCADE")
    customer = ForeignKeyField(Customer, on_delete="CASCADE")
    frequency = CharField(max_length=10)
    status = CharField(max_length=10, default="pending")  # pending|queued|digested|skipped
    outbox = ForeignKeyField(Outbox, null=True, on_delete="SET NULL")
    digest = ForeignKeyField(Digest, null=True, on_delete="SET NULL")
    created_at = DateTimeField()

    class Meta:
        indexes = ((("user", "document"), True), (("status", "frequency", "user"), False),
                   (("document",), False))


class InboundMessage(BaseModel):
    """A message received through any door; raw bytes first, understanding later."""

    id = AutoField()
    door = CharField(max_length=8)  # smtp | imap | pipe
    dedup_key = CharField(max_length=64, unique=True)
    message_id = CharField(max_length=998, null=True)
    envelope_from = CharField(max_length=254, null=True)
    envelope_to = TextField(default="")
    raw = BlobField(null=True)  # purged after [retention] raw_mail_days
    size = IntegerField()
    received_at = DateTimeField()
    status = CharField(max_length=12, default="received")  # received|processing|processed|staff|ignored|failed
    kind = CharField(max_length=12, null=True)
    from_addr = CharField(max_length=254, null=True)
    subject = TextField(null=True)
    reply_text = TextField(null=True)
    commands = TextField(null=True)  # JSON
    action = TextField(null=True)
    error = TextField(null=True)
    # Indexed only where set (see below): these are empty when the SMTP door stores a message.
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", index=False)
    customer = ForeignKeyField(Customer, null=True, on_delete="SET NULL", index=False)
    outbox = ForeignKeyField(Outbox, null=True, on_delete="SET NULL", index=False)
    attempts = IntegerField(default=0)
    lease_until = DateTimeField(null=True)
    lease_owner = CharField(max_length=64, null=True)  # the worker processing it, which renews lease_until
    processed_at = DateTimeField(null=True)
    raw_purged_at = DateTimeField(null=True)
    client_ip = CharField(max_length=45, null=True)  # the SMTP client, where known: SPF is checked for it
    helo = CharField(max_length=255, null=True)
    authentication = TextField(null=True)  # JSON: DKIM, SPF and DMARC as checked (inbound/authentication.py)

    class Meta:
        indexes = ((("status", "received_at"), False),)


def where_set_index(field: ForeignKeyField) -> None:
    """An index of `field` holding only rows where it is set: inserting a row with it empty writes no index
    page (each page is a WAL frame and fsync'd bytes: the inbound door stores messages with no user yet,
    digests have no single document), and lookups by value and ON DELETE SET NULL still use it."""
    model = field.model
    name = f"{model._meta.table_name}_{field.column_name}_set"
    model.add_index(model.index(field, name=name, where=field.is_null(False)))


for _field in (InboundMessage.user, InboundMessage.customer, InboundMessage.outbox, Outbox.customer,
               Outbox.document):
    where_set_index(_field)


class InboundMention(BaseModel):
    """A customer number or document an inbound message names, so staff find the message from either."""

    id = AutoField()
    inbound = ForeignKeyField(InboundMessage, on_delete="CASCADE", index=False)  # led by the unique key below
    customer = ForeignKeyField(Customer, on_delete="CASCADE")
    document = ForeignKeyField(Document, null=True, on_delete="CASCADE", index=False)

    class Meta:
        indexes = ((("inbound", "customer", "document"), True),)


where_set_index(InboundMention.document)  # retention deletes documents: their mentions go with them


class ImapState(BaseModel):
    id = AutoField()
    mailbox = CharField(max_length=300, unique=True)
    uidvalidity = BigIntegerField(null=True)
    last_uid = BigIntegerField(default=0)
    last_poll_at = DateTimeField(null=True)


class ImapLiveness(BaseModel):
    """One running IMAP poller's signs of life, so /healthz of any process knows whether the mailbox is watched."""

    id = AutoField()
    poller = CharField(max_length=200, unique=True)  # host:pid, one row per poller process
    mailbox = CharField(max_length=300)
    quiet_seconds = IntegerField()  # the longest it stays silent while running (renewal, retry delay)
    started_at = DateTimeField()
    connected_at = DateTimeField(null=True)
    polled_at = DateTimeField(null=True)
    idle_at = DateTimeField(null=True)  # last IDLE renewal or server response while idling
    alive_at = DateTimeField(null=True)  # the latest of the three above
    error = TextField(null=True)
    error_at = DateTimeField(null=True)
    stopped_at = DateTimeField(null=True)  # stopped on purpose: the mailbox is no longer watched by it


class Token(BaseModel):
    """A magic-link or invitation token, stored only as its SHA-256."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE", index=False)  # led by (user, purpose)
    purpose = CharField(max_length=12)  # login | invitation
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField()
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "purpose"), False), (("expires_at",), False))


class Session(BaseModel):
    """A server-side viewer session, so logout and staff can revoke it."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE")
    session_hash = CharField(max_length=64, unique=True)
    csrf_token = CharField(max_length=64)
    created_at = DateTimeField()
    last_seen_at = DateTimeField()
    expires_at = DateTimeField()
    revoked_at = DateTimeField(null=True)


class ActivationCode(BaseModel):
    """Paperless opt-in code for one customer number: single use, 15 weeks."""

    id = AutoField()
    customer = ForeignKeyField(Customer, on_delete="CASCADE")
    code_hash = CharField(max_length=64, unique=True)
    issued_at = DateTimeField()
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    used_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    superseded_at = DateTimeField(null=True)


class PaperlessChange(BaseModel):
    """One opt-in or opt-out of a customer number: when, who and how, for the issuer's back office."""

    id = AutoField()
    customer = ForeignKeyField(Customer, on_delete="CASCADE", index=False)  # led by (customer, at)
    paperless = BooleanField()
    at = DateTimeField()
    actor = CharField(max_length=254)  # an email, "cli" or "staff:<email>"
    via = CharField(max_length=12)  # code | signup | portal | staff | cli

    class Meta:
        indexes = ((("customer", "at"), False), (("at",), False))


class AddressChange(BaseModel):
    """A user's new address: confirmed from the new mailbox, undone from the old one for a while."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE")
    old_email = CharField(max_length=254)
    new_email = CharField(max_length=254)
    actor = CharField(max_length=254)  # the user, their primary contact, "staff:<email>", or who suggested it
    status = CharField(max_length=10)  # suggested | pending | confirmed | undone | cancelled
    confirm_hash = CharField(max_length=64, null=True, unique=True)
    undo_hash = CharField(max_length=64, null=True, unique=True)
    created_at = DateTimeField()
    expires_at = DateTimeField(null=True)  # of the confirmation link
    confirmed_at = DateTimeField(null=True)
    undo_until = DateTimeField(null=True)
    undone_at = DateTimeField(null=True)


class Suppression(BaseModel):
    """Bounce score and suppression state of one address."""

    id = AutoField()
    email = CharField(max_length=254, unique=True)
    score = FloatField(default=0.0)
    last_bounce_at = DateTimeField(null=True)
    suppressed_at = DateTimeField(null=True)
    reason = TextField(default="")
    lifted_at = DateTimeField(null=True)


class DuplicateRequest(BaseModel):
    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE")
    document = ForeignKeyField(Document, on_delete="CASCADE")
    via = CharField(max_length=8)  # web | mail
    outbox = ForeignKeyField(Outbox, null=True, on_delete="SET NULL")
    requested_at = DateTimeField()

    class Meta:
        indexes = ((("document", "user", "requested_at"), False),)


class RateCounter(BaseModel):
    """Attempts per key and fixed window, for every rate limit."""

    id = AutoField()
    key = CharField(max_length=300)
    window_start = DateTimeField()
    count = IntegerField(default=0)

    class Meta:
        indexes = ((("key", "window_start"), True),)


class LoginRequest(BaseModel):
    """A login link asked for on the web, committed before the visitor is answered; the worker mails it."""

    id = AutoField()
    email = CharField(max_length=254)
    client = CharField(max_length=64)  # the client's address: per-client budgets
    requested_at = DateTimeField()


class Confirmation(BaseModel):
    """A request mailflow was unsure of, asked back to its sender; carried out only on their yes to the question."""

    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE", index=False)  # led by (user, status) below
    customer = ForeignKeyField(Customer, null=True, on_delete="CASCADE")  # the reply token's, when it named one
    commands = TextField()  # JSON [{name, args, customer}]: what the yes will carry out
    inbound = ForeignKeyField(InboundMessage, null=True, on_delete="SET NULL", backref="+")  # read from
    question = CharField(max_length=200, null=True)  # Message-ID of the question mail
    status = CharField(max_length=12, default="pending")  # pending|confirmed|declined|superseded|expired
    created_at = DateTimeField()
    expires_at = DateTimeField()
    answered_at = DateTimeField(null=True)
    answer = ForeignKeyField(InboundMessage, null=True, on_delete="SET NULL", backref="+")  # the yes or no

    class Meta:
        indexes = ((("user", "status"), False), (("status", "expires_at"), False))


class AuditLog(BaseModel):
    id = AutoField()
    at = DateTimeField()
    actor = CharField(max_length=254)  # an email, "system" or "staff:<email>"
    action = CharField(max_length=64)
    subject = CharField(max_length=254, default="")
    detail = TextField(default="")

    class Meta:
        indexes = ((("at",), False), (("action",), False))


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    name = CharField(max_length=200)
    applied_at = DateTimeField()


ALL_MODELS: list[type[BaseModel]] = [
    Issuer, User, Customer, Access, Share, Document, View, Preference, Outbox, Digest,
    Notification, InboundMessage, ImapState, ImapLiveness, Token, Session, ActivationCode, Suppression,
    DuplicateRequest, RateCounter, LoginRequest, AuditLog, PaperlessChange, AddressChange, Confirmation,
    InboundMention,
]
