"""Engine and transactions for SQLite (embedded) and PostgreSQL (production).

SQLite: WAL, ``synchronous=FULL``, a busy timeout, and ``BEGIN IMMEDIATE`` for every
transaction that may write, so two writers queue instead of failing at commit.
PostgreSQL: READ COMMITTED; optimistic version checks on cases; ``SKIP LOCKED`` for queues.
"""

from __future__ import annotations

import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

_SCOPE: ContextVar[Scope | None] = ContextVar("aftersales_scope", default=None)
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


class JoinedBlockFailed(RuntimeError):
    """A block that joined a request's transaction failed and its caller went on: the
    transaction may hold that block's half-done writes, so it is not committed."""


class Scope:
    """A transaction that every ``write()``/``read()`` joins while it is active: begun by
    the first of them (so a request waiting before its first statement holds no lock) and
    ended once, by whoever opened it. It may be carried from one step of a request to the
    next (the API authenticates in the transaction that then claims the Idempotency-Key)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn: Connection | None = None
        self.poisoned = False

    def connection(self) -> Connection:
        if self.conn is None:
            conn = self.db.engine.connect()
            try:
                conn.begin()
            except BaseException:
                conn.close()
                raise
            self.conn = conn
        return self.conn

    @contextmanager
    def join(self) -> Iterator[Connection]:
        try:
            yield self.connection()
        except BaseException:
            self.poisoned = True
            raise

    @contextmanager
    def active(self) -> Iterator[Connection | None]:
        """Make this scope the one ``write()``/``read()`` join, in this thread."""
        token = _SCOPE.set(self)
        try:
            yield self.conn
        finally:
            _SCOPE.reset(token)

    @property
    def begun(self) -> bool:
        return self.conn is not None

    def end(self, ok: bool) -> None:
        """Commit (``ok``) or roll back, once; a scope never begun ends with nothing."""
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            if ok and not self.poisoned:
                conn.commit()
            else:
                conn.rollback()
        finally:
            conn.close()
        if ok and self.poisoned:
            raise JoinedBlockFailed("a block of this transaction failed; it was rolled back")


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
            # No pre-ping round trip per checkout: a poll of the socket finds the
            # connections the server closed while they sat in the pool (_pg_setup).
            kwargs["pool_size"] = pool_size
            kwargs["pool_recycle"] = 1800
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_setup(self.engine)
        else:
            _pg_setup(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any exception.
        Inside :meth:`transaction` (or :func:`joined`) it joins that transaction instead.

        Hooks bound with :func:`before_commit` run inside it, just before the commit (the
        API uses this to mark an Idempotency-Key as spent together with its effect)."""
        scope = _SCOPE.get()
        if scope is not None and scope.db is self:
            with scope.join() as conn:
                yield conn
            return
        with self.engine.connect() as conn, conn.begin():
            yield conn
            for hook in _BEFORE_COMMIT.get():
                hook(conn)

    @contextmanager
    def transaction(self) -> Iterator[Callable[[], Connection]]:
        """One write transaction for everything inside (a request's): every ``write()``
        and ``read()`` in this context joins it; it begins at the first of them and is
        committed at the end, or rolled back on any exception (or when a joined block
        failed and its caller went on: :class:`JoinedBlockFailed`). Yields a function
        returning its connection (beginning it if nothing has yet)."""
        outer = _SCOPE.get()
        if outer is not None and outer.db is self:
            yield outer.connection
            return
        scope = Scope(self)
        try:
            with scope.active():
                yield scope.connection
        except BaseException:
            scope.end(ok=False)
            raise
        scope.end(ok=True)

    def scope(self) -> Scope:
        """A transaction to carry from one step to the next (see :class:`Scope`)."""
        return Scope(self)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a deferred BEGIN on SQLite: no write lock)."""
        scope = _SCOPE.get()
        if scope is not None and scope.db is self:
            with scope.join() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            conn = conn.execution_options(aftersales_readonly=True)
            with conn.begin():
                yield conn
                conn.rollback()

    def dispose(self) -> None:
        self.engine.dispose()


def tx_memo(conn: Connection, name: str) -> dict[Any, Any]:
    """A memo that lives as long as the connection's current transaction."""
    txn = conn.get_transaction()
    if txn is None:  # no transaction: nothing to remember across
        return {}
    held = conn.info.get(name)
    if held is None or held[0] is not txn:
        held = (txn, {})
        conn.info[name] = held
    memo: dict[Any, Any] = held[1]
    return memo


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


def _pg_setup(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def _alive(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        """An idle connection has nothing to read: when the server closed it while it sat
        in the pool (a restart, a failover, a terminated backend, an idle timeout), its
        goodbye or end-of-file is waiting on the socket. Such a connection is replaced
        before use (the pool connects again on DisconnectionError), so the first request
        after a database restart does not fail, at the cost of a poll instead of a
        round trip."""
        try:
            fd = dbapi_conn.pgconn.socket
        except Exception as exc:  # closed on our side: no socket any more
            raise DisconnectionError("connection closed") from exc
        poll = select.poll()  # not select.select: a descriptor may be above FD_SETSIZE
        poll.register(fd, select.POLLIN)
        if poll.poll(0) or dbapi_conn.closed:
            raise DisconnectionError("the server closed this connection")
