"""Test environment: configuration, a fresh database per test (SQLite, or PostgreSQL when asked)."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import psycopg2

from mailflow.clock import FrozenClock
from mailflow.config import Config, load_config
from mailflow.models import ALL_MODELS
from tests.support import dns_stub

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
PG_URL = os.environ.get("MAILFLOW_TEST_DATABASE_URL", "")


def test_config(tmp: Path, database_url: str, **outbound: object) -> Config:
    config = load_config(env={})
    config.database.url = database_url
    config.storage.pdf_dir = str(tmp / "pdfs")
    config.outbound = replace(config.outbound, maildir=str(tmp / "maildir"), **outbound)
    config.security.secret_key = "test-secret-key"
    config.web.base_url = "https://portal.example.test"
    config.dns.nameservers = [dns_stub.shared().address]  # never the network: an empty zone unless a test adds
    config.dkim.key_dir = str(dns_stub.shared_keys(config))  # one key per From domain, made once per session
    return config


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'mailflow.sqlite3'}"


class PostgresDatabase:
    """A private database for one test session on the server named by MAILFLOW_TEST_DATABASE_URL."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"mailflow_test_{uuid.uuid4().hex[:10]}"
        base, _, _ = admin_url.rpartition("/")
        self.url = f"{base}/{self.name}"

    def create(self) -> "PostgresDatabase":
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        admin(self.admin_url, statement)


def admin(url: str, statement: str) -> None:
    """One statement outside a transaction (CREATE DATABASE, CREATE ROLE, CREATE EXTENSION …)."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        conn.cursor().execute(statement)
    finally:
        conn.close()


def truncate_all(db) -> None:
    tables = ", ".join(f'"{m._meta.table_name}"' for m in ALL_MODELS)
    db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def frozen_clock() -> FrozenClock:
    return FrozenClock(START)
