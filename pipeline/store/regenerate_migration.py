"""Regenerate the single initial migration from the models (development only).

newswatch has not shipped a release, so the schema lives in one migration,
0001_initial, rebuilt from the models until the first release. After that, new
migrations are added with `alembic revision --autogenerate` instead.

Usage: python -m pipeline.store.regenerate_migration
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from pipeline.store.db import make_engine
from pipeline.store.migrate import MIGRATIONS_DIR, alembic_config

INITIAL = MIGRATIONS_DIR / "versions" / "0001_initial.py"


def main() -> None:
    INITIAL.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(
            alembic_config(engine),
            message="initial schema",
            autogenerate=True,
            rev_id="0001",
        )
    generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
    generated.rename(INITIAL)
    print(f"wrote {INITIAL}")


if __name__ == "__main__":
    main()
