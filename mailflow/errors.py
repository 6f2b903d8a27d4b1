"""The error hierarchy; each edge (SMTP, HTTP, CLI, staff console) translates these codes."""

from __future__ import annotations


class MailflowError(Exception):
    """Base of every error mailflow raises on purpose."""

    exit_code = 1
    http_status = 400
    smtp_reply = "451 4.3.0 Temporary failure, try again later"
    staff_status = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConfigError(MailflowError):
    """A configuration key is missing or has a wrong value."""

    exit_code = 78  # EX_CONFIG


class ValidationError(MailflowError):
    """Input that can never be accepted as given."""

    exit_code = 65  # EX_DATAERR
    http_status = 400
    smtp_reply = "550 5.6.0 Message refused"
    staff_status = "invalid"


class NotFound(MailflowError):
    """The thing asked for does not exist or is not visible to the asker."""

    exit_code = 66  # EX_NOINPUT
    http_status = 404
    staff_status = "not_found"


class Conflict(MailflowError):
    """The change clashes with what is already stored (a duplicate, say)."""

    exit_code = 65
    http_status = 409
    staff_status = "conflict"


class PermissionDenied(MailflowError):
    """The asker may not do this."""

    exit_code = 77  # EX_NOPERM
    http_status = 403
    staff_status = "denied"


class TokenError(MailflowError):
    """A link, reply token or code is invalid, used, superseded or expired."""

    exit_code = 77
    http_status = 410
    staff_status = "token_invalid"

    def __init__(self, message: str, *, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


class RateLimited(MailflowError):
    """Too many attempts in the current window."""

    exit_code = 75  # EX_TEMPFAIL
    http_status = 429
    smtp_reply = "450 4.7.1 Too many messages, slow down"
    staff_status = "rate_limited"


class StorageError(MailflowError):
    """Storing failed for a reason that may pass; the caller should retry."""

    exit_code = 75
    http_status = 503
    smtp_reply = "451 4.3.0 Could not store the message, try again later"
    staff_status = "storage_failed"


class PortInUse(MailflowError):
    """A port mailflow must listen on is taken by another program (or another mailflow)."""

    exit_code = 75  # EX_TEMPFAIL: free the port, or choose another, and start again


class DeliveryError(MailflowError):
    """The relay refused or failed to take a message."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
