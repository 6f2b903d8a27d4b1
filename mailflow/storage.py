"""PDF storage on disk, named by SHA-256 so the same file is kept once and never half-written."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from mailflow.config import Config
from mailflow.errors import NotFound, ValidationError

MAX_PDF_BYTES = 50 * 1024 * 1024


def pdf_path(config: Config, sha256: str) -> Path:
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise NotFound("no such PDF")
    return config.path(config.storage.pdf_dir) / sha256[:2] / f"{sha256}.pdf"


def check_pdf(content: bytes, name: str) -> None:
    if not content.startswith(b"%PDF-"):
        raise ValidationError(f"{name} is not a PDF file", field="pdf")
    if len(content) > MAX_PDF_BYTES:
        raise ValidationError(f"{name} is larger than {MAX_PDF_BYTES // 1_048_576} MB", field="pdf")


def store_pdf(config: Config, content: bytes, name: str = "PDF") -> str:
    """Write the PDF atomically (temp file + rename) and return its SHA-256."""
    check_pdf(content, name)
    sha = hashlib.sha256(content).hexdigest()
    target = pdf_path(config, sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)
    return sha


def read_pdf(config: Config, sha256: str) -> bytes:
    try:
        return pdf_path(config, sha256).read_bytes()
    except FileNotFoundError:
        raise NotFound("the PDF of this document is missing from storage") from None


def delete_pdf(config: Config, sha256: str) -> None:
    pdf_path(config, sha256).unlink(missing_ok=True)
