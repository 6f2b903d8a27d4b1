"""Versioned schema migrations from db/migrations, applied in order by `init` and `serve`."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from peewee import Database

from mailflow.clock import Clock, naive_utc
from mailflow.config import PROJECT_ROOT
from mailflow.models import SchemaVersion

MIGRATIONS_DIR = PROJECT_ROOT / "db" / "migrations"
_NAME = re.compile(r"^(\d{4})_(\w+)\.py$")


def available(folder: Path = MIGRATIONS_DIR) -> list[tuple[int, str, Path]]:
    found = [(int(m[1]), m[2], path) for path in folder.glob("*.py") if (m := _NAME.match(path.name))]
    return sorted(found)


def current_version(db: Database) -> int:
    if not db.table_exists(SchemaVersion._meta.table_name):
        return 0
    latest = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return latest.version if latest else 0


def missing(db: Database) -> list[str]:
    """The migrations this database has not recorded (all of them when it has no schema at all)."""
    if not db.table_exists(SchemaVersion._meta.table_name):
        return [f"{version:04d}_{name}" for version, name, _ in available()]
    done = {row.version for row in SchemaVersion.select(SchemaVersion.version)}
    return [f"{version:04d}_{name}" for version, name, _ in available() if version not in done]


def apply_migrations(db: Database, clock: Clock) -> list[str]:
    """Apply, in order, every migration the database has not recorded; each in its own transaction.

    Recorded ones, not those above the highest: migrations written side by side take numbers from separate
    ranges and may land in any order, so a lower number that arrives later must still run (each migration
    is idempotent, as it also runs on a database that 0001 made from today's models).
    """
    db.create_tables([SchemaVersion], safe=True)
    done = {row.version for row in SchemaVersion.select(SchemaVersion.version)}
    applied = []
    for version, name, path in available():
        if version not in done:
            with db.atomic():
                _load(path).migrate(db)
                SchemaVersion.create(version=version, name=name, applied_at=naive_utc(clock.now()))
            applied.append(f"{version:04d}_{name}")
    return applied


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"mailflow_migration_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
