"""One transaction per request (store/db.py ``Database.transaction``): every
``write()``/``read()`` inside joins it, it begins at the first of them, and a joined
block that failed and was swallowed keeps it from committing its half-done writes."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from aftersales.store.db import Database, JoinedBlockFailed
from aftersales.store.schema import number_sequences
from tests.roundtrips import count_roundtrips

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def _sequences(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(number_sequences)).scalar_one())


def _insert(db: Database, name: str) -> None:
    with db.write() as conn:
        conn.execute(insert(number_sequences).values(name=name, value=1))


def test_writes_and_reads_inside_a_request_transaction_share_one_commit(db: Database) -> None:
    before = _sequences(db)
    with count_roundtrips(db.engine) as seen, db.transaction():
        _insert(db, "request:a")
        with db.read() as conn:  # joined: sees the uncommitted row
            assert conn.execute(select(func.count()).select_from(number_sequences)).scalar_one()
        _insert(db, "request:b")
    assert seen.transactions == 1, seen.report()
    assert _sequences(db) == before + 2


def test_a_request_transaction_begins_at_its_first_statement(db: Database) -> None:
    with count_roundtrips(db.engine) as seen, db.transaction():
        assert seen.transactions == 0  # a request waiting here holds no lock
    assert seen.transactions == 0 and seen.count == 0


def test_an_exception_rolls_back_every_joined_block(db: Database) -> None:
    before = _sequences(db)
    with pytest.raises(RuntimeError), db.transaction():
        _insert(db, "request:c")
        raise RuntimeError("the request failed")
    assert _sequences(db) == before


def test_a_swallowed_failure_of_a_joined_block_refuses_the_commit(db: Database) -> None:
    before = _sequences(db)
    with pytest.raises(JoinedBlockFailed), db.transaction():
        _insert(db, "request:d")
        try:
            with db.write() as conn:
                conn.execute(insert(number_sequences).values(name="request:e", value=1))
                raise ValueError("half done")
        except ValueError:
            pass  # a caller going on after a failed block
    assert _sequences(db) == before  # neither block's write committed


def test_a_connection_the_server_closed_in_the_pool_is_replaced_before_use(
    pg_db: Database,
) -> None:
    """A PostgreSQL restart or failover closes the connections sitting in the pool; the
    next transaction runs on a new one instead of failing (no ping round trip per
    checkout: the closed socket is seen by a poll)."""
    with pg_db.read() as conn:
        before = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(pg_db.engine.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before})
    finally:
        admin.dispose()
    time.sleep(0.3)  # the server's goodbye reaches the pooled socket
    with count_roundtrips(pg_db.engine) as seen, pg_db.read() as conn:
        after = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert after != before
    assert seen.count == 1, seen.report()  # no ping: only the statement itself
