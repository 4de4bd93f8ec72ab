"""Database plumbing shared by the stores: engine creation and a per-component migration runner.

Both stores (the tracker and the AS4 receiver's inbound store) use SQLAlchemy Core over SQLite (the
default: one file, nothing to set up) or PostgreSQL (several processes or hosts). :func:`make_engine`
sets SQLite up the same way for everyone: WAL, a busy timeout, foreign keys, and ``BEGIN IMMEDIATE``
for write transactions (a transaction that will write takes the write lock at once, so two processes
never deadlock upgrading a read lock); a connection opened with ``execution_options(pr_read=True)``
begins a plain read transaction instead. Each store picks its durability (``synchronous``) and, for a
large store, the page cache and memory-mapped reads.

:func:`retrying` runs a whole transaction again when it lost a race (:func:`retryable`), so each store's
write path is "one function, one transaction".

:func:`migrate` applies a component's numbered migrations in order, in one transaction, under a lock
(PostgreSQL advisory lock; SQLite's write lock), recording them in ``pr_migration`` (component,
version). Several components can share one database without their versions colliding, and several
processes may open the same store at once. A component that kept its versions elsewhere before
``pr_migration`` existed passes ``adopt``, which carries them over under the same lock.

:class:`GroupCommit` lets the threads of one process share write transactions: each caller still returns
only once its own work is committed, but many callers' work goes into one commit (one fsync) instead of
one commit each.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.pool import StaticPool

from .errors import ConfigError, StoreError

__all__ = ["GroupCommit", "Migration", "make_engine", "migrate", "migration_version", "retryable", "retrying"]

log = logging.getLogger(__name__)
_T = TypeVar("_T")


def make_engine(url: str | sa.Engine, *, synchronous: str = "NORMAL", sqlite_cache_mb: int | None = None,
                sqlite_mmap_mb: int | None = None) -> sa.Engine:
    """An engine for ``url`` (``sqlite:///file.db``, ``sqlite://`` in memory, ``postgresql+psycopg://...``).

    SQLite only (ignored for PostgreSQL): ``synchronous`` is ``PRAGMA synchronous``: ``NORMAL`` survives
    a process crash (WAL), ``FULL`` also a power cut (an fsync per commit). ``sqlite_cache_mb`` is the page
    cache of each connection and ``sqlite_mmap_mb`` how much of the file is read memory-mapped (pages come
    from the OS cache without a read() each; 0 turns it off; not for an in-memory database); None leaves
    SQLite's default. An engine passed in is returned as it is.
    """
    if isinstance(url, sa.Engine):
        return url
    if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ConfigError(f"PRAGMA synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
    for name, value in (("sqlite_cache_mb", sqlite_cache_mb), ("sqlite_mmap_mb", sqlite_mmap_mb)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ConfigError(f"{name} must be a whole number of MiB, 0 or more, not {value!r}")
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"not a database URL: {url!r} ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        if memory:
            engine = sa.create_engine(parsed, poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            engine = sa.create_engine(parsed, connect_args={"timeout": 60, "check_same_thread": False})

        @sa_event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # the driver must not BEGIN on its own; we do, below
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={synchronous.upper()}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            if sqlite_cache_mb is not None:
                cur.execute(f"PRAGMA cache_size={-1024 * sqlite_cache_mb}")  # negative: KiB, not pages
            if sqlite_mmap_mb is not None and not memory:
                cur.execute(f"PRAGMA mmap_size={1024 * 1024 * sqlite_mmap_mb}")
            cur.close()

        @sa_event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            # straight to the driver: SQLAlchemy's statement machinery (contexts, events, result objects) for
            # a bare BEGIN cost as much as the statement of a whole short transaction
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute("BEGIN" if conn.get_execution_options().get("pr_read") else "BEGIN IMMEDIATE")

        return engine
    if backend == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True)
    raise ConfigError(f"the stores support sqlite and postgresql URLs, not {backend!r}")


def retryable(exc: BaseException) -> bool:
    """True for a transaction that lost a race and may simply be run again (PostgreSQL serialization
    failure, deadlock, unique violation; SQLite "database is locked")."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in {"40001", "40P01", "23505"}:
        return True
    text = str(orig or exc).lower()
    return "database is locked" in text or "unique constraint failed" in text


def retrying(transaction: Callable[[], _T], *, what: str, tries: int = 8) -> _T:
    """Run ``transaction`` (one whole transaction, begun and committed inside it) and return its result.

    A run that lost a race (:func:`retryable`) is run again from the start after a short backoff (10 ms,
    doubling, at most 0.5 s), up to ``tries`` runs in all; any other database error, or the last lost
    race, becomes :class:`StoreError` ("``what`` failed: ..."). Errors that are not the database's
    (a :class:`~peppol_response.errors.NotFoundError` raised by the work, say) pass through unchanged.
    """
    delay = 0.01
    for attempt in range(tries):
        try:
            return transaction()
        except sa.exc.DBAPIError as exc:
            if attempt + 1 < tries and retryable(exc):
                log.debug("%s lost a race (%s); running it again", what, type(exc.orig).__name__)
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            raise StoreError(f"{what} failed: {type(exc.orig).__name__}: {exc.orig}") from exc
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"{what} failed: {exc}") from exc
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema step of a component; ``apply`` runs inside the migration transaction."""

    version: int
    description: str
    apply: Callable[[sa.Connection], None]


_meta = sa.MetaData()
migrations_table: Final = sa.Table(
    "pr_migration",
    _meta,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String, nullable=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)


def migration_version(conn: sa.Connection, component: str) -> int:
    """The highest applied version of ``component`` (0 when none)."""
    if not sa.inspect(conn).has_table(migrations_table.name):
        return 0
    found = conn.execute(sa.select(sa.func.max(migrations_table.c.version))
                         .where(migrations_table.c.component == component)).scalar()
    return int(found or 0)


# One lock for every component: they share the pr_migration table, which the first one creates.
_LOCK_KEY: Final = int.from_bytes(hashlib.blake2b(b"pr_migration", digest_size=8).digest(), "big", signed=True)


def migrate(engine: sa.Engine, component: str, migrations: Sequence[Migration], target: int | None = None, *,
            adopt: Callable[[sa.Connection], None] | None = None) -> int:
    """Apply ``component``'s missing ``migrations`` up to ``target`` (default: the last); return the version.

    ``adopt(conn)`` runs first, in the same transaction and under the same lock, once ``pr_migration``
    exists: it carries versions recorded elsewhere by an older release into ``pr_migration`` (so they
    are not applied again). Refuses a store newer than the code (a downgrade would lose data):
    :class:`StoreError`.
    """
    latest = migrations[-1].version if migrations else 0
    goal = latest if target is None else target
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            migrations_table.create(conn, checkfirst=True)
            if adopt is not None:
                adopt(conn)
            current = migration_version(conn, component)
            if current > latest:
                raise StoreError(f"the {component} store has schema version {current}; this release knows up to "
                                 f"{latest}")
            for m in migrations:
                if current < m.version <= goal:
                    m.apply(conn)
                    conn.execute(migrations_table.insert().values(
                        component=component, version=m.version, description=m.description,
                        applied_at=dt.datetime.now(dt.UTC).replace(tzinfo=None)))
                    current = m.version
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"cannot create or upgrade the {component} store: {exc}") from exc
    return current


# ------------------------------------------------------------------------------------------ group commit

@dataclass(eq=False)
class _Job:
    work: Callable[[sa.Connection], Any]
    key: str | None
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    finished: bool = False
    result: Any = None
    error: BaseException | None = None


class GroupCommit:
    """Write transactions from many threads, several to one commit ("group commit"), each caller returning
    only after *its own* work is committed.

    ``transaction(fn)`` runs ``fn(conn)`` in one transaction and commits it (with whatever retrying the store
    does), returning ``fn``'s result or raising. :meth:`run` queues a piece of work; the caller that finds
    nobody committing becomes the *leader*: it takes everything queued so far (at most ``max_batch``), runs
    it in one transaction, commits, hands each caller its result and passes the lead to the oldest caller
    still waiting (so nobody commits for others more than once). Callers arriving while a commit is under
    way queue for the next one — under load the batches grow by themselves; alone, a caller commits at once.

    Within a batch, work with a ``key`` (a MessageId) runs in key order, so two processes batching the same
    keys take their row locks in the same order. If anything in a shared transaction fails, nothing of it
    is committed and every piece of work is run again in a transaction of its own: one caller's failure is
    never another's, and none is committed twice (a failed transaction committed nothing).
    """

    def __init__(self, transaction: Callable[[Callable[[sa.Connection], Any]], Any], *, max_batch: int = 64) -> None:
        if max_batch < 1:
            raise ConfigError(f"max_batch must be at least 1, not {max_batch}")
        self._transaction = transaction
        self.max_batch = max_batch
        self._mutex = threading.Lock()
        self._queue: list[_Job] = []
        self._leading = False
        self.commits = 0
        """Transactions committed so far (shared or single): ``jobs / commits`` is the mean batch size."""
        self.jobs = 0

    def run(self, work: Callable[[sa.Connection], _T], *, key: str | None = None) -> _T:
        """Run ``work(conn)`` in a write transaction (maybe shared with other threads' work) and return its
        result once that transaction is committed; raise what it raised (then nothing of it is committed)."""
        job = _Job(work, key)
        with self._mutex:
            self._queue.append(job)
            if not self._leading:
                self._leading = job.lead = True
        if not job.lead:
            job.done.wait()  # set when our work is finished, or when we are to lead the next batch
        if not job.finished:
            self._lead()
        if job.error is not None:
            raise job.error
        result: _T = job.result
        return result

    def _lead(self) -> None:
        with self._mutex:
            batch = self._queue[:self.max_batch]
            del self._queue[:self.max_batch]
        try:
            self._execute(batch)
        finally:
            with self._mutex:
                if self._queue:
                    nxt = self._queue[0]
                    nxt.lead = True
                    nxt.done.set()
                else:
                    self._leading = False
            for job in batch:
                if not job.finished:  # only on BaseException (KeyboardInterrupt ...): never leave a caller hanging
                    job.error, job.finished = RuntimeError("the group commit was interrupted"), True
                job.done.set()

    def _execute(self, batch: list[_Job]) -> None:
        if len(batch) > 1:
            batch.sort(key=lambda j: j.key or "")  # stable: keyless work keeps its order, first
            try:
                results = self._transaction(lambda conn: [job.work(conn) for job in batch])
            except Exception:  # noqa: S110 - every job is run again alone below, where its own error is kept
                pass
            else:
                self._count(len(batch))
                for job, result in zip(batch, results, strict=True):
                    job.result, job.finished = result, True
                return
        for job in batch:
            try:
                job.result = self._transaction(job.work)
            except Exception as exc:
                job.error = exc
            else:
                self._count(1)
            job.finished = True

    def _count(self, jobs: int) -> None:
        with self._mutex:
            self.commits += 1
            self.jobs += jobs
