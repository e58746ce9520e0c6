"""Creating the tables is safe when several processes start at once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.sql import SQL, Identifier

from common.settings import Settings
from tests.conftest import BASE_DSN
from write_side.bootstrap import bootstrap


def test_processes_starting_together_all_get_their_tables() -> None:
    """Without a lock, concurrent CREATE ... IF NOT EXISTS failed with "tuple
    concurrently updated" (seen when the relay and a query server started together)."""
    name = f"tasktrail_test_{uuid.uuid4().hex[:10]}"
    settings = Settings(env="test", postgres_dsn=make_conninfo(BASE_DSN, dbname=name))
    try:
        with ThreadPoolExecutor(8) as pool:
            sides = list(pool.map(lambda _: bootstrap(settings), range(8)))
        assert all(side.store.head() == 0 for side in sides)
        for side in sides:
            side.close()
    finally:
        with psycopg.connect(BASE_DSN, autocommit=True) as conn:
            conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(name)))
