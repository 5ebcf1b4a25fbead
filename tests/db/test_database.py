"""The database layer on every configured engine (SQLite always; PostgreSQL when
TVMS_TEST_DATABASE_URL names a server)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import tvms.db
from tests.db.conftest import SERVER_URL
from tvms.db import Database, DatabaseError, IntegrityError, open_database
from tvms.db._base import to_positional

pytestmark = pytest.mark.anyio


SCHEMA = [
    "CREATE TABLE owners (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE TABLE items (id TEXT PRIMARY KEY, owner_id TEXT NOT NULL REFERENCES owners (id),"
    " qty INTEGER NOT NULL CHECK (qty >= 0), note TEXT, created_at BIGINT NOT NULL)",
    "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
    "INSERT INTO counter (id, n) VALUES (1, 0)",
]


@pytest.fixture
async def db(database: Database) -> Database:
    """The database with SCHEMA applied."""
    for statement in SCHEMA:
        await database.execute(statement)
    return database


async def add_owner(db: Database, owner_id: str, name: str | None = None) -> None:
    await db.execute(
        "INSERT INTO owners (id, name) VALUES (:id, :name)", {"id": owner_id, "name": name or owner_id}
    )


def test_public_surface() -> None:
    assert sorted(tvms.db.__all__) == sorted(
        ["Database", "Transaction", "Row", "DatabaseError", "IntegrityError", "open_database", "migrate"]
    )
    assert issubclass(IntegrityError, DatabaseError)


def test_rewrite_named_parameters() -> None:
    sql = "SELECT a::text, ':no', 'it''s :no' FROM t WHERE x = :x AND y = :y OR z = :x -- :c"
    assert to_positional(sql) == (
        "SELECT a::text, ':no', 'it''s :no' FROM t WHERE x = $1 AND y = $2 OR z = $1 -- :c",
        ("x", "y"),
    )
    assert to_positional('SELECT ":q" FROM t /* :c */ WHERE id = :id::bigint') == (
        'SELECT ":q" FROM t /* :c */ WHERE id = $1::bigint',
        ("id",),
    )
    assert to_positional("SELECT a[1:2] FROM t") == ("SELECT a[1:2] FROM t", ())


async def test_open_is_lazy(database: Database) -> None:
    assert database.open_connections == 0  # type: ignore[attr-defined]
    await database.ping()
    assert database.open_connections >= 1  # type: ignore[attr-defined]


async def test_open_rejects_bad_urls(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="memory"):
        await open_database("sqlite:///:memory:")
    with pytest.raises(ValueError, match="scheme"):
        await open_database("mysql://localhost/x")
    with pytest.raises(ValueError, match="SQLite URL"):
        await open_database("sqlite://relative.db")


async def test_relative_and_absolute_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = await open_database("sqlite:///nested/dir/rel.db")
    absolute = await open_database(f"sqlite:///{tmp_path / 'abs.db'}")
    try:
        assert not (tmp_path / "nested").exists()  # lazy: not even the directory yet
        await relative.execute("CREATE TABLE t (x INTEGER)")
        await absolute.execute("CREATE TABLE t (x INTEGER)")
    finally:
        await relative.close()
        await absolute.close()
    assert (tmp_path / "nested" / "dir" / "rel.db").is_file()
    assert (tmp_path / "abs.db").is_file()


async def test_unreachable_database_raises_database_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    broken = [await open_database(f"sqlite:///{tmp_path / 'file' / 'x.db'}")]
    if SERVER_URL is not None:
        broken.append(await open_database("postgresql://postgres@127.0.0.1:1/nothing"))
    for db in broken:
        with pytest.raises(DatabaseError) as info:
            await db.ping()
        assert info.value.__cause__ is not None
        await db.close()


async def test_named_parameters(db: Database) -> None:
    await add_owner(db, "o1", "Ann")
    await db.execute(
        "INSERT INTO items (id, owner_id, qty, note, created_at)"
        " VALUES (:id, :owner, :qty, 'a:b :qty ''x''', :at)",
        {"id": "i1", "owner": "o1", "qty": 3, "at": 1_700_000_000_000, "unused": 1},
    )
    row = await db.fetchrow(
        "SELECT id, note, created_at FROM items WHERE qty = :q OR qty = :q + 100 AND id <> ':q'",
        {"q": 3},
    )
    assert row is not None
    assert (row["id"], row["note"], row["created_at"]) == ("i1", "a:b :qty 'x'", 1_700_000_000_000)
    with pytest.raises(DatabaseError, match="owner"):
        await db.fetch("SELECT id FROM items WHERE owner_id = :owner", {})
    with pytest.raises(DatabaseError, match="owner"):
        await db.fetch("SELECT id FROM items WHERE owner_id = :owner")


async def test_colons_in_literals_and_casts(db: Database) -> None:
    assert await db.fetchval("SELECT :n || ':x::int'", {"n": "42"}) == "42:x::int"
    if db.engine == "postgresql":  # `::` casts are PostgreSQL syntax
        assert await db.fetchval("SELECT :n::text || ':x::int'", {"n": "42"}) == "42:x::int"
        assert await db.fetchval("SELECT n::text FROM counter WHERE id = :id::int", {"id": 1}) == "0"


async def test_fetch_execute_executemany(db: Database) -> None:
    await db.executemany(
        "INSERT INTO owners (id, name) VALUES (:id, :name)",
        [{"id": f"o{i}", "name": f"name {i}"} for i in range(3)],
    )
    await db.executemany("INSERT INTO owners (id, name) VALUES (:id, :name)", [])
    rows = await db.fetch("SELECT id, name FROM owners ORDER BY id")
    assert [dict(r) for r in rows] == [{"id": f"o{i}", "name": f"name {i}"} for i in range(3)]
    assert await db.execute("UPDATE owners SET name = name || '!' WHERE id <> :id", {"id": "o0"}) == 2
    assert await db.execute("DELETE FROM owners WHERE id = :id", {"id": "nope"}) == 0
    assert await db.fetchval("SELECT COUNT(*) FROM owners") == 3
    assert await db.fetchval("SELECT name FROM owners WHERE id = :id", {"id": "o2"}) == "name 2!"
    assert await db.fetchval("SELECT name FROM owners WHERE id = :id", {"id": "none"}) is None
    assert await db.fetchrow("SELECT name FROM owners WHERE id = :id", {"id": "none"}) is None
    assert await db.fetch("SELECT name FROM owners WHERE id = :id", {"id": "none"}) == []


async def test_transaction_commits(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO owners (id, name) VALUES ('o1', 'a')")
        await tx.executemany("INSERT INTO owners (id, name) VALUES (:id, :id)", [{"id": "o2"}, {"id": "o3"}])
        assert await tx.fetchval("SELECT COUNT(*) FROM owners") == 3  # own writes visible
        assert await db.fetchval("SELECT COUNT(*) FROM owners") == 0  # others see nothing yet
    assert await db.fetchval("SELECT COUNT(*) FROM owners") == 3


async def test_transaction_rolls_back_on_exception(db: Database) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO owners (id, name) VALUES ('o1', 'a')")
            await tx.execute("UPDATE counter SET n = 99")
            raise Boom
    with pytest.raises(IntegrityError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO owners (id, name) VALUES ('o2', 'b')")
            await tx.execute("INSERT INTO owners (id, name) VALUES ('o3', 'b')")
    assert await db.fetchval("SELECT COUNT(*) FROM owners") == 0
    assert await db.fetchval("SELECT n FROM counter") == 0
    async with db.transaction() as tx:  # the connection is usable again
        await tx.execute("INSERT INTO owners (id, name) VALUES ('o4', 'c')")
    assert await db.fetchval("SELECT COUNT(*) FROM owners") == 1


async def test_other_tasks_writes_stay_out_of_a_transaction(db: Database) -> None:
    # Another task's write while a transaction is open must not become part of it (on SQLite
    # it waits for the writer lock), so the rollback keeps it.
    inside = anyio.Event()

    async def other_writer() -> None:
        await inside.wait()
        await add_owner(db, "other")

    async def aborted_transaction() -> None:
        with pytest.raises(RuntimeError, match="abort"):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO owners (id, name) VALUES ('mine', 'mine')")
                inside.set()
                for _ in range(20):
                    await anyio.lowlevel.checkpoint()
                raise RuntimeError("abort")

    async with anyio.create_task_group() as tg:
        tg.start_soon(other_writer)
        tg.start_soon(aborted_transaction)
    rows = await db.fetch("SELECT id FROM owners")
    assert [r["id"] for r in rows] == ["other"]


async def test_writing_through_db_inside_its_transaction_is_refused(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO owners (id, name) VALUES ('o1', 'a')")
        with pytest.raises(DatabaseError, match="Transaction object"):
            await db.execute("INSERT INTO owners (id, name) VALUES ('o2', 'b')")
        with pytest.raises(DatabaseError, match="nest"):
            async with db.transaction():
                pass
    assert await db.fetchval("SELECT COUNT(*) FROM owners") == 1


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("INSERT INTO owners (id, name) VALUES (:id, 'taken')", {"id": "o2"}),  # unique
        ("INSERT INTO owners (id, name) VALUES (:id, 'x')", {"id": "o1"}),  # primary key
        (
            "INSERT INTO items (id, owner_id, qty, created_at) VALUES ('i', :owner, 1, 0)",
            {"owner": "ghost"},
        ),  # foreign key
        ("INSERT INTO items (id, owner_id, qty, created_at) VALUES ('i', 'o1', -1, 0)", None),
    ],
    ids=["unique", "primary-key", "foreign-key", "check"],
)
async def test_constraint_violations_raise_integrity_error(
    db: Database, sql: str, params: dict[str, Any] | None
) -> None:
    await add_owner(db, "o1", "taken")
    with pytest.raises(IntegrityError) as info:
        await db.execute(sql, params)
    assert info.value.args and info.value.args[0]
    assert info.value.__cause__ is not None
    with pytest.raises(IntegrityError):
        async with db.transaction() as tx:
            await tx.execute(sql, params)


async def test_other_errors_raise_database_error(db: Database) -> None:
    with pytest.raises(DatabaseError) as info:
        await db.fetch("SELECT nope FROM missing_table")
    assert not isinstance(info.value, IntegrityError)
    assert info.value.__cause__ is not None


async def test_deleting_a_referenced_row_raises_integrity_error(db: Database) -> None:
    await add_owner(db, "o1")
    await db.execute("INSERT INTO items (id, owner_id, qty, created_at) VALUES ('i', 'o1', 1, 0)")
    with pytest.raises(IntegrityError):
        await db.execute("DELETE FROM owners WHERE id = 'o1'")


async def test_concurrent_read_modify_write_transactions(db: Database) -> None:
    # PostgreSQL runs READ COMMITTED: the read must lock the row. SQLite serialises writers.
    lock = " FOR UPDATE" if db.engine == "postgresql" else ""

    async def bump() -> None:
        async with db.transaction() as tx:
            n = await tx.fetchval(f"SELECT n FROM counter WHERE id = 1{lock}")
            await anyio.lowlevel.checkpoint()  # let the other tasks run in between
            await tx.execute("UPDATE counter SET n = :n WHERE id = 1", {"n": n + 1})

    async def insert(i: int) -> None:
        await add_owner(db, f"o{i}")

    async with anyio.create_task_group() as tg:
        for i in range(32):
            tg.start_soon(bump)
            tg.start_soon(insert, i)
    assert await db.fetchval("SELECT n FROM counter WHERE id = 1") == 32
    assert await db.fetchval("SELECT COUNT(*) FROM owners") == 32


async def test_readers_see_committed_writes(db: Database) -> None:
    # Open reader connections first so that a stale snapshot would show.
    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(db.fetchval, "SELECT COUNT(*) FROM owners")
    for i in range(5):
        await add_owner(db, f"o{i}")
        counts = []

        async def count() -> None:
            counts.append(await db.fetchval("SELECT COUNT(*) FROM owners"))  # noqa: B023

        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(count)
        assert counts == [i + 1] * 6


async def test_closed_database_refuses_queries(database: Database) -> None:
    await database.ping()
    await database.close()
    with pytest.raises(DatabaseError, match="closed"):
        await database.fetchval("SELECT 1")
    with pytest.raises(DatabaseError, match="closed"):
        await database.execute("SELECT 1")
    await database.close()  # idempotent


SRC_DIR = str(Path(tvms.db.__file__).resolve().parents[2])
SECOND_WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from tvms.db import open_database

    async def main(url: str, rounds: int) -> None:
        db = await open_database(url)
        longest = 0.0
        try:
            for i in range(rounds):
                started = time.monotonic()
                async with db.transaction() as tx:
                    n = await tx.fetchval("SELECT n FROM counter WHERE id = 1")
                    await tx.execute("UPDATE counter SET n = :n WHERE id = 1", {"n": n + 1})
                    await tx.execute("INSERT INTO owners (id, name) VALUES (:id, :id)",
                                     {"id": f"p{i}"})
                longest = max(longest, time.monotonic() - started)
                if i == 0:
                    print("writing", flush=True)
                await asyncio.sleep(0.005)  # keep writing for a while: the parent holds the lock meanwhile
        finally:
            await db.close()
        print(f"longest {longest:.3f}", flush=True)

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


async def test_second_process_writing_the_same_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    db = await open_database(url)
    rounds = 300
    try:
        for statement in SCHEMA:
            await db.execute(statement)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC_DIR, os.environ.get("PYTHONPATH", "")])}
        async with await anyio.open_process(
            [sys.executable, "-W", "error", "-c", SECOND_WRITER, url, str(rounds)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            assert (await proc.stdout.receive()).startswith(b"writing")
            # Hold the write lock while the other process is writing: it must wait, not fail.
            async with db.transaction() as tx:
                n = await tx.fetchval("SELECT n FROM counter WHERE id = 1")
                await anyio.sleep(0.5)
                await tx.execute("UPDATE counter SET n = :n WHERE id = 1", {"n": n + 1})
            for i in range(1, rounds):
                async with db.transaction() as tx:
                    n = await tx.fetchval("SELECT n FROM counter WHERE id = 1")
                    await tx.execute("UPDATE counter SET n = :n WHERE id = 1", {"n": n + 1})
                await add_owner(db, f"o{i}")
            await proc.wait()
            output = b"".join([chunk async for chunk in proc.stdout]).decode()
            errors = b"".join([chunk async for chunk in proc.stderr]).decode()
        assert proc.returncode == 0, errors
        assert await db.fetchval("SELECT n FROM counter WHERE id = 1") == 2 * rounds
        # The other process really met the held lock: one of its transactions waited for it.
        longest = float(output.split("longest")[-1])
        assert longest >= 0.3, output
    finally:
        await db.close()


COUNT_TO = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :to) SELECT COUNT(*) FROM n"
)


async def sqlite_db(tmp_path: Path, **options: Any) -> Any:
    from tvms.db._sqlite import SqliteDatabase

    db = SqliteDatabase(str(tmp_path / "inline.db"), **options)
    for statement in SCHEMA:
        await db.execute(statement)
    return db


async def test_sqlite_short_reads_run_on_the_loop_long_ones_on_a_reader_thread(tmp_path: Path) -> None:
    db = await sqlite_db(tmp_path)
    try:
        await add_owner(db, "o1")
        before = db.reads_deferred
        assert await db.fetchval("SELECT name FROM owners WHERE id = :id", {"id": "o1"}) == "o1"
        assert [row["id"] for row in await db.fetch("SELECT id FROM owners")] == ["o1"]
        assert db.reads_inline == 2
        assert db.reads_deferred == before
        # ~3 million VM steps is far over the 1 ms budget: interrupted, then run on a reader
        # thread, which returns the complete answer.
        assert await db.fetchval(COUNT_TO, {"to": 3_000_000}) == 3_000_000
        assert db.reads_inline == 2
        assert db.reads_deferred == before + 1
        # The interrupted statement left nothing open: the next short read is inline again.
        assert await db.fetchrow("SELECT n FROM counter WHERE id = 1") is not None
        assert db.reads_inline == 3
        # The slow statement is not tried inline for its next 32 runs, even when they are short.
        for _ in range(32):
            assert await db.fetchval(COUNT_TO, {"to": 10}) == 10
        assert (db.reads_inline, db.reads_deferred) == (3, before + 33)
        assert await db.fetchval(COUNT_TO, {"to": 10}) == 10  # then it is tried again
        assert (db.reads_inline, db.reads_deferred) == (4, before + 33)
    finally:
        await db.close()


async def test_sqlite_inline_reads_see_every_committed_write(tmp_path: Path) -> None:
    db = await sqlite_db(tmp_path)
    try:
        for i in range(20):
            async with db.transaction() as tx:
                await tx.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
            assert await db.fetchval("SELECT n FROM counter WHERE id = 1") == i + 1
        assert db.reads_inline == 20
    finally:
        await db.close()


async def test_sqlite_inline_connection_never_writes(tmp_path: Path) -> None:
    # A write sent through a read method is refused instead of bypassing the writer's lock.
    db = await sqlite_db(tmp_path)
    try:
        await db.ping()
        with pytest.raises(DatabaseError, match="readonly"):
            await db.fetch("INSERT INTO owners (id, name) VALUES ('x', 'x') RETURNING id")
        assert await db.fetchval("SELECT COUNT(*) FROM owners") == 0
    finally:
        await db.close()


async def test_sqlite_locked_inline_read_moves_to_a_reader_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The inline connection never waits for a lock (busy_timeout 0): a read that meets one is run
    # again on a reader thread, which may wait. A real lock that stops WAL readers is not easy to
    # hold from a test, so the inline connection is made to report SQLITE_BUSY.
    from tvms.db import _sqlite

    db = await sqlite_db(tmp_path)
    try:
        assert (await db.fetchval("PRAGMA busy_timeout")) == 0  # inline: never waits
        real = _sqlite._fetchval
        seen: list[str] = []

        def fetchval(raw: sqlite3.Connection, sql: str, params: Any) -> Any:
            inline = isinstance(raw, _sqlite._InlineConnection)
            seen.append("inline" if inline else "thread")
            if inline:
                busy = sqlite3.OperationalError("database is locked")
                busy.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
                raise busy
            return real(raw, sql, params)

        monkeypatch.setattr(_sqlite, "_fetchval", fetchval)
        deferred = db.reads_deferred
        assert await db.fetchval("PRAGMA busy_timeout") == 5000  # answered by a reader thread
        assert seen == ["inline", "thread"]
        assert db.reads_deferred == deferred + 1
    finally:
        await db.close()


async def test_sqlite_inline_reads_can_be_switched_off(tmp_path: Path) -> None:
    db = await sqlite_db(tmp_path, inline_budget_s=0)
    try:
        assert await db.fetchval("SELECT COUNT(*) FROM owners") == 0
        assert db.reads_inline == 0
        assert db.reads_deferred >= 1
    finally:
        await db.close()


async def test_sqlite_checkpoints_run_off_the_writer(tmp_path: Path) -> None:
    # The writer only checkpoints by itself at 10,000 WAL pages; a background connection copies
    # committed pages into the database file shortly after the writes.
    db = await sqlite_db(tmp_path)
    path = tmp_path / "inline.db"
    try:
        async with db.transaction() as tx:
            assert await tx.fetchval("PRAGMA wal_autocheckpoint") == 10_000
        for n in range(20):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO owners (id, name) VALUES (:id, :id)", {"id": f"o{n}"})
        for _ in range(500):  # 0.1 s after the last commit, normally
            if db.checkpoints:
                break
            await anyio.sleep(0.02)
        assert db.checkpoints >= 1
        # The database file alone (its WAL ignored) now holds the committed rows.
        file_only = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            assert file_only.execute("SELECT COUNT(*) FROM owners").fetchone() == (20,)
        finally:
            file_only.close()
    finally:
        await db.close()


async def test_sqlite_close_drops_a_pending_checkpoint_and_keeps_the_data(tmp_path: Path) -> None:
    db = await sqlite_db(tmp_path)
    await add_owner(db, "o1")
    await db.close()  # a checkpoint was still waiting: cancelled, no error
    assert db.checkpoints == 0
    reopened = await open_database(f"sqlite:///{tmp_path / 'inline.db'}")
    try:
        assert await reopened.fetchval("SELECT name FROM owners") == "o1"
    finally:
        await reopened.close()


async def test_inline_reads_never_see_half_a_transaction(db: Database) -> None:
    # Writers move quantity between two rows in transactions; every read, inline or on a
    # thread, must see the total unchanged (each statement reads one committed snapshot).
    await add_owner(db, "o1")
    for item in ("a", "b"):
        await db.execute(
            "INSERT INTO items (id, owner_id, qty, created_at) VALUES (:id, 'o1', 500, 0)", {"id": item}
        )
    totals: list[int] = []

    async def move(rounds: int) -> None:
        for n in range(rounds):
            async with db.transaction() as tx:
                await tx.execute("UPDATE items SET qty = qty - :n WHERE id = 'a'", {"n": n % 5})
                await anyio.lowlevel.checkpoint()  # let the readers in mid-transaction
                await tx.execute("UPDATE items SET qty = qty + :n WHERE id = 'b'", {"n": n % 5})

    async def read(rounds: int) -> None:
        for _ in range(rounds):
            totals.append(int(await db.fetchval("SELECT SUM(qty) FROM items")))
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(move, 100)
        for _ in range(3):
            tg.start_soon(read, 200)
    assert totals == [1000] * 600
    assert await db.fetchval("SELECT qty FROM items WHERE id = 'b'") > 500  # the writers did run


def test_sqlite_close_during_a_checkpoint_leaves_no_thread_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Closing while a checkpoint opens its connection cancels it there: the connection's thread
    # must still not finish after the event loop closed (it would fail to report to it).
    from tvms.db import _sqlite

    monkeypatch.setattr(_sqlite, "_CHECKPOINT_DELAY_S", 0)
    thread_errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: thread_errors.append(args.exc_value))

    async def write_then_close(n: int) -> None:
        db = _sqlite.SqliteDatabase(str(tmp_path / f"{n}.db"))
        await db.execute("CREATE TABLE t (x INTEGER)")
        for _ in range(n % 4):  # close at different points of the checkpoint
            await asyncio.sleep(0)
        await db.close()

    for n in range(12):
        asyncio.run(write_then_close(n))  # the loop closes right after the database
    time.sleep(0.3)  # a thread still running after its loop closed would fail by now
    assert thread_errors == []


def test_sqlite_close_waits_for_a_connection_its_cancelled_caller_was_opening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read cancelled while its reader connection opens (a client gone) must not leave that
    # connection behind: its thread would outlive the event loop and fail to report to it.
    from tvms.db import _sqlite

    thread_errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: thread_errors.append(args.exc_value))

    async def cancel_then_close(n: int) -> None:
        db = _sqlite.SqliteDatabase(str(tmp_path / f"{n}.db"), inline_budget_s=0)  # reads on threads
        await db.execute("CREATE TABLE t (x INTEGER)")
        read = asyncio.ensure_future(db.fetch("SELECT x FROM t"))
        for _ in range(n % 4):  # cancel at different points of the opening
            await asyncio.sleep(0)
        read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await read
        await db.close()
        assert db.open_connections == 0

    for n in range(12):
        asyncio.run(cancel_then_close(n))  # the loop closes right after the database
    time.sleep(0.3)  # a thread still running after its loop closed would fail by now
    assert thread_errors == []


async def test_a_small_pool_serves_many_concurrent_reads_and_transactions(database_url: str) -> None:
    # PostgreSQL keeps connections between queries outside asyncpg's pool (`_lease`); a caller
    # waiting for a connection must never be passed over for a parked one, whatever the mix.
    db = await open_database(database_url, pool_size=2)
    try:
        for statement in SCHEMA:
            await db.execute(statement)

        async def reader() -> int:
            done = 0
            for _ in range(20):
                done += int(await db.fetchval("SELECT n FROM counter WHERE id = 1") >= 0)
                await anyio.lowlevel.checkpoint()
            return done

        async def writer() -> None:
            for _ in range(10):
                async with db.transaction() as tx:
                    n = await tx.fetchval(
                        "SELECT n FROM counter WHERE id = 1"
                        + (" FOR UPDATE" if db.engine == "postgresql" else "")
                    )
                    await tx.execute("UPDATE counter SET n = :n WHERE id = 1", {"n": n + 1})

        with anyio.fail_after(30):
            results = await asyncio.gather(*[reader() for _ in range(20)], *[writer() for _ in range(4)])
        assert results[:20] == [20] * 20
        assert await db.fetchval("SELECT n FROM counter WHERE id = 1") == 40
        assert db.open_connections <= 2 + (db.engine == "sqlite") * 3  # type: ignore[attr-defined]
    finally:
        await db.close()


async def test_a_cancelled_query_leaves_no_connection_behind(database: Database) -> None:
    # A caller cancelled mid-query (a client gone, a timeout) must not hand the next caller a
    # connection that is still busy with it ("another operation is in progress").
    slow = (
        "SELECT pg_sleep(0.5)"
        if database.engine == "postgresql"
        else "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
        "SELECT MAX(x) FROM c"
    )
    for _ in range(3):
        task = asyncio.ensure_future(database.fetchval(slow))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [await database.fetchval("SELECT :n || ''", {"n": str(n)}) for n in range(5)] == list("01234")
    async with database.transaction() as tx:
        assert await tx.fetchval("SELECT 7") == 7
