"""Engine and transactions for SQLite (embedded) and PostgreSQL (production).

SQLite: WAL, ``synchronous=FULL``, a busy timeout, and ``BEGIN IMMEDIATE`` for every
transaction that may write, so two writers queue instead of failing at commit.
PostgreSQL: READ COMMITTED; optimistic version checks on cases; ``SKIP LOCKED`` for queues.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

_BEFORE_COMMIT: ContextVar[tuple[Callable[[Connection], None], ...]] = ContextVar(
    "aftersales_before_commit", default=()
)


@contextmanager
def before_commit(hook: Callable[[Connection], None]) -> Iterator[None]:
    """Run ``hook(conn)`` inside every write transaction opened in this context."""
    token = _BEFORE_COMMIT.set((*_BEFORE_COMMIT.get(), hook))
    try:
        yield
    finally:
        _BEFORE_COMMIT.reset(token)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


class Database:
    def __init__(self, url: str, *, pool_size: int = 5, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            # A small pool of connections that threads may share one at a time; the PRAGMAs
            # run once per connection, not per transaction.
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            kwargs["pool_size"] = pool_size
        else:
            kwargs["pool_size"] = pool_size
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_setup(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any exception.

        Hooks bound with :func:`before_commit` run inside it, just before the commit (the
        API uses this to mark an Idempotency-Key as spent together with its effect)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn
            for hook in _BEFORE_COMMIT.get():
                hook(conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a deferred BEGIN on SQLite: no write lock)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(aftersales_readonly=True)
            with conn.begin():
                yield conn
                conn.rollback()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get("aftersales_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
