"""Moving a live store from DynamoDB to PostgreSQL and back, with writes going on, and faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from secrets import token_hex
from typing import Any

import boto3
import psycopg2
import pytest

from cloudshelf.domain import books as book_rules
from cloudshelf.domain.caller import Caller
from cloudshelf.domain.carts import CartRules, set_quantity
from cloudshelf.domain.orders import checkout
from cloudshelf.domain.users import get_profile, update_profile
from cloudshelf.errors import VersionConflict
from cloudshelf.migration import journal
from cloudshelf.migration.backfill import backfill
from cloudshelf.migration.reconcile import reconcile
from cloudshelf.migration.records import RESOURCES
from cloudshelf.migration.verify import verify
from cloudshelf.models.books import BookInput
from cloudshelf.models.users import ProfileUpdate
from cloudshelf.repositories import factory
from cloudshelf.repositories.postgres.migrate import apply_migrations
from cloudshelf_dev.moto_server import LockedMotoServer
from cloudshelf_dev.postgres import LocalPostgres
from cloudshelf_dev.tables import TABLE_ENV, create_tables, local_table_names
from tests.integration.conftest import reset_caches, truncate

RULES = CartRules(ttl=timedelta(days=7), max_lines=50, max_quantity=20, currency="USD")
STAGES = ("dynamodb", "dual-write", "postgres-read", "postgres")


class Store:
    """A store on a locked moto server and a PostgreSQL, switchable between stages."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, dsn: str) -> None:
        self.monkeypatch = monkeypatch
        self.dsn = dsn

    def stage(self, mode: str, **resources: str) -> None:
        """Put every resource (or the named ones) in ``mode``, as a redeploy with new settings would."""
        for resource in RESOURCES:
            self.monkeypatch.setenv(f"CLOUDSHELF_{resource.upper()}_STORE", resources.get(resource, mode))
        reset_caches()

    def book(self, title: str, stock: int = 50, price: str = "10.00") -> str:
        data = BookInput(title=title, author="Migration Author", category="Fiction", price=price, stock=stock,  # type: ignore[arg-type]
                         isbn="9780306406157")  # fmt: skip
        return book_rules.create_book(factory.book_repository(), data).bookId

    def buy(self, user: str, book_id: str, quantity: int = 1) -> str:
        set_quantity(user, book_id, quantity, factory.cart_repository(), factory.book_repository(), RULES)
        order = checkout(user, token_hex(8), note=None, expected_total=None, rules=RULES, attempts=3,
                         carts=factory.cart_repository(), books=factory.book_repository(),
                         orders=factory.order_repository(), checkout_repo=factory.checkout_repository())  # fmt: skip
        return order.orderId

    def pg_count(self, table: str) -> int:
        conn = psycopg2.connect(self.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - test constant
                return int(cur.fetchone()[0])
        finally:
            conn.close()


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, postgres: LocalPostgres) -> Iterator[Store]:
    """Phase 1 data on a locked moto server, an empty migrated PostgreSQL, stage ``dynamodb``."""
    server = LockedMotoServer().start()
    server.reset()
    names = local_table_names("mig")
    for logical_id, variable in TABLE_ENV.items():
        monkeypatch.setenv(variable, names[logical_id])
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", server.url)
    monkeypatch.setenv("CLOUDSHELF_DB_DSN", postgres.dsn)
    create_tables(boto3.client("dynamodb", endpoint_url=server.url), names)
    truncate(postgres.dsn)
    result = Store(monkeypatch, postgres.dsn)
    result.stage("dynamodb")
    yield result
    reset_caches()
    server.stop()


@pytest.fixture
def own_postgres(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalPostgres]:
    """A migrated PostgreSQL of the test's own (it may stop it), in use by the store."""
    server = LocalPostgres().start()
    conn = psycopg2.connect(server.dsn)
    apply_migrations(conn)
    conn.close()
    monkeypatch.setenv("CLOUDSHELF_DB_DSN", server.dsn)
    reset_caches()
    yield server
    server.stop()


def _assert_clean() -> None:
    for resource in RESOURCES:
        drift = verify(resource)
        assert drift.clean, drift.as_dict()


def test_the_full_walk_with_writes_during_backfill_loses_nothing(store: Store) -> None:
    # Given a phase 1 store with a catalog, profiles and orders
    books = [store.book(f"Book {i:02d}") for i in range(30)]
    users = [f"user-{i}" for i in range(6)]
    orders = {store.buy(user, books[i]) for i, user in enumerate(users)}
    for user in users:
        get_profile(Caller(user, f"{user}@example.com"), factory.user_repository())

    # When the store goes to dual-write and keeps taking writes while the backfill runs
    store.stage("dual-write")
    stop = threading.Event()
    changes: dict[str, str] = {}
    lock = threading.Lock()

    def shop(n: int) -> None:
        for i in range(15):
            if stop.is_set():
                return
            order_id = store.buy(users[n], books[(n * 5 + i) % len(books)])
            with lock:
                orders.add(order_id)

    def edit_profiles() -> None:
        for i in range(20):
            user = users[i % len(users)]
            name = f"Name {i}"
            update_profile(
                Caller(user, f"{user}@example.com"), ProfileUpdate(displayName=name), factory.user_repository()
            )
            with lock:
                changes[user] = name

    def edit_catalog() -> None:
        for i in range(20):
            book_id = books[i % len(books)]
            for _ in range(20):  # optimistic: an admin whose save meets a sale reads again and re-applies it
                current = book_rules.get_book(factory.book_repository(), book_id)
                data = BookInput(title=f"Edited {i:02d}", author=current.author, category=current.category,
                                 price=current.price, stock=current.stock + 100, isbn=current.isbn)  # fmt: skip
                try:
                    book_rules.replace_book(factory.book_repository(), book_id, data, current.version)
                    break
                except VersionConflict:
                    continue

    with ThreadPoolExecutor(max_workers=6) as pool:
        writers = [pool.submit(shop, 0), pool.submit(shop, 1), pool.submit(edit_profiles), pool.submit(edit_catalog)]
        results = [backfill(resource, segments=3, page_size=7) for resource in RESOURCES]
        for writer in writers:
            writer.result(timeout=120)
    # Then the backfill completed and the stores agree record by record
    assert all(r.complete for r in results)
    _assert_clean()

    # When reads move to PostgreSQL, then everything moves
    store.stage("postgres-read")
    orders.add(store.buy(users[2], books[3]))
    _assert_clean()
    store.stage("postgres")
    orders.add(store.buy(users[3], books[4]))

    # Then every order made during the walk is in PostgreSQL exactly once, with every change
    assert store.pg_count("orders") == len(orders)
    repo = factory.order_repository()
    found = {o.orderId for user in users for o in repo.list_page(user, 100, None).items}
    assert found == orders
    for user, name in changes.items():
        profile = factory.user_repository().get(user)
        assert profile is not None
        assert profile.displayName == name
    assert book_rules.get_book(factory.book_repository(), books[0]).title.startswith("Edited")


def test_going_back_from_each_stage_loses_nothing(store: Store) -> None:
    book = store.book("Round Trip", stock=20)
    store.buy("walker", book)
    store.stage("dual-write")
    assert all(backfill(r, segments=2).complete for r in RESOURCES)
    store.stage("postgres")
    # Given writes made only in PostgreSQL in the last stage
    late_order = store.buy("walker", book)
    update_profile(Caller("walker", "w@example.com"), ProfileUpdate(displayName="Late"), factory.user_repository())
    # When going back to postgres-read: first copy PostgreSQL's records to DynamoDB, then switch
    for resource in RESOURCES:
        reconcile(resource, source="postgres")
    store.stage("postgres-read")
    _assert_clean()
    # And back to dual-write, then to phase 1
    store.stage("dual-write")
    _assert_clean()
    store.stage("dynamodb")
    # Then DynamoDB alone has every write, including the late ones
    assert factory.order_repository().get("walker", late_order) is not None
    profile = factory.user_repository().get("walker")
    assert profile is not None
    assert profile.displayName == "Late"
    assert book_rules.get_book(factory.book_repository(), book).stock == 18


def test_postgres_down_during_dual_write_is_recorded_and_repaired(store: Store, own_postgres: LocalPostgres) -> None:
    own = own_postgres  # stopped and restarted by the test
    store.stage("dual-write")
    book = store.book("Resilient")
    # Given PostgreSQL stops in dual-write
    own.stop(remove=False)
    # When shoppers and admins keep writing / Then their requests succeed and the failures are recorded
    order = store.buy("patient", book)
    other = store.book("Written While Down")
    update_profile(Caller("patient", "p@example.com"), ProfileUpdate(displayName="P"), factory.user_repository())
    assert set(journal.pending_repairs("books")) >= {book, other}
    assert journal.pending_repairs("orders") == [f"patient/{order}"]
    assert journal.pending_repairs("users") == ["patient"]
    # When PostgreSQL is back and reconcile runs / Then verify is clean and the repairs are gone
    own.restart()
    reset_caches()
    for resource in RESOURCES:
        reconcile(resource)
    _assert_clean()
    assert all(journal.pending_repairs(r) == [] for r in RESOURCES)


def test_a_backfill_stopped_halfway_resumes_without_duplicates(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(40):
        store.book(f"Resume {i:02d}")
    store.stage("dual-write")
    # Given a backfill that dies after a few pages
    from cloudshelf.migration import backfill as module

    pages = {"n": 0}
    real: Callable[..., Any] = module.upsert_postgres

    def dying(*args: Any, **kwargs: Any) -> None:
        pages["n"] += 1
        if pages["n"] > 3:
            raise KeyboardInterrupt("killed")
        real(*args, **kwargs)

    monkeypatch.setattr(module, "upsert_postgres", dying)
    with pytest.raises(KeyboardInterrupt):
        backfill("books", segments=1, page_size=5)
    copied_before = store.pg_count("books")
    assert 0 < copied_before < 40
    # When it runs again / Then it resumes from its checkpoint and finishes, each book once
    monkeypatch.setattr(module, "upsert_postgres", real)
    result = backfill("books", segments=1, page_size=5)
    assert result.complete
    assert result.copied == 40
    assert store.pg_count("books") == 40
    assert verify("books").clean


def test_a_deadline_stops_between_pages_and_the_next_call_continues(store: Store) -> None:
    for i in range(12):
        store.book(f"Chunk {i:02d}")
    store.stage("dual-write")
    # Given a deadline already passed / When backfilling / Then nothing is lost, it just stops
    first = backfill("books", segments=2, page_size=3, deadline=time.monotonic())
    assert not first.complete
    # And the next call (as a Lambda re-invocation would) finishes
    assert backfill("books", segments=2, page_size=3).complete
    assert verify("books").clean


def test_reads_fall_back_to_dynamodb_when_postgres_is_down(
    store: Store, own_postgres: LocalPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = own_postgres  # stopped and restarted by the test
    book = store.book("Fallback")
    store.stage("dual-write")
    assert backfill("books", segments=1).complete
    store.stage("postgres-read")
    # Given PostgreSQL is down in postgres-read
    own.stop(remove=False)
    reset_caches()
    # When a shopper reads / Then DynamoDB answers
    assert book_rules.get_book(factory.book_repository(), book).title == "Fallback"
    assert [b.bookId for b in factory.book_repository().list_page(None, 10, None).items] == [book]
    # And with fallback off, the answer is an honest 503 (StoreUnavailable)
    monkeypatch.setenv("CLOUDSHELF_READ_FALLBACK", "false")
    reset_caches()
    from cloudshelf.errors import StoreUnavailable

    with pytest.raises(StoreUnavailable):
        factory.book_repository().get(book)


def test_verify_reports_missing_extra_and_different(store: Store) -> None:
    a, b = store.book("Alpha"), store.book("Beta")
    store.stage("dual-write")
    assert backfill("books", segments=1).complete
    # Given drift made behind the application's back
    conn = psycopg2.connect(store.dsn)
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE books SET stock = 0 WHERE book_id = %s", (a,))
        cur.execute("DELETE FROM books WHERE book_id = %s", (b,))
        cur.execute(
            "INSERT INTO books (book_id, title, author, category, price, stock, isbn, title_key,"
            " created_at, updated_at)"
            " VALUES ('ghost', 'Ghost', 'X', 'Fiction', 1, 1, '9780306406157', 'ghost', now(), now())"
        )
    conn.close()
    # When verified / Then each kind of drift is named
    drift = verify("books")
    assert (drift.different, drift.only_in_dynamodb, drift.only_in_postgres) == ([a], [b], ["ghost"])
    assert verify("books", sample=2).sampled
    # And reconcile from DynamoDB makes it clean
    assert reconcile("books").copied == 2
    assert verify("books").clean


# ---------------------------------------------------------------- optimistic book writes in every stage


def _pg_book(dsn: str, book_id: str) -> tuple[str, int, int] | None:
    """(title, stock, version) of a book in PostgreSQL, or None."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT title, stock, version FROM books WHERE book_id = %s", (book_id,))
            row = cur.fetchone()
            return (row[0], row[1], row[2]) if row else None
    finally:
        conn.close()


def _typo_fix(opened: Any, stock: int) -> BookInput:
    return BookInput(title="The Time Machine", author=opened.author, category=opened.category, price=opened.price,
                     stock=stock, isbn=opened.isbn)  # fmt: skip


@pytest.mark.parametrize("mode", STAGES)
def test_a_stale_admin_save_is_refused_in_every_stage(store: Store, mode: str) -> None:
    # Given a book with 5 copies in this stage, opened by the admin
    store.stage(mode)
    book_id = store.book("The Tiem Machine", stock=5)
    opened = book_rules.get_book(factory.book_repository(), book_id)
    # And a shopper buys 3 meanwhile
    store.buy("shopper-stale", book_id, 3)
    # When the admin saves a typo fix with the stock and version they read
    with pytest.raises(VersionConflict) as refused:
        book_rules.replace_book(factory.book_repository(), book_id, _typo_fix(opened, 5), opened.version)
    # Then it is refused with the current book, and the stock stays 2 in every store that holds it
    assert (refused.value.details["current"]["stock"], refused.value.version) == (2, opened.version + 1)
    assert book_rules.get_book(factory.book_repository(), book_id).stock == 2
    if mode != "dynamodb":
        assert _pg_book(store.dsn, book_id) == ("The Tiem Machine", 2, opened.version + 1)
    # When they save the fix on the current book / Then it is saved, the sale kept, the mirror too
    latest = book_rules.get_book(factory.book_repository(), book_id)
    saved = book_rules.replace_book(factory.book_repository(), book_id, _typo_fix(latest, latest.stock), latest.version)
    assert (saved.title, saved.stock, saved.version) == ("The Time Machine", 2, latest.version + 1)
    if mode != "dynamodb":
        assert _pg_book(store.dsn, book_id) == ("The Time Machine", 2, latest.version + 1)


def test_a_lagging_mirror_never_decides_a_write(store: Store) -> None:
    # Given a book in postgres-read, whose PostgreSQL copy missed a sale (a failed mirror write, not yet repaired)
    store.stage("dual-write")
    book_id = store.book("The Tiem Machine", stock=5)
    store.stage("postgres-read")
    store.buy("shopper-lag", book_id, 3)
    conn = psycopg2.connect(store.dsn)
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE books SET stock = 5, version = 1 WHERE book_id = %s", (book_id,))
    conn.close()
    # When the admin opens it (read from the mirror: stock 5, version 1) and saves a typo fix
    opened = book_rules.get_book(factory.book_repository(), book_id)
    assert (opened.stock, opened.version) == (5, 1)
    with pytest.raises(VersionConflict) as refused:
        book_rules.replace_book(factory.book_repository(), book_id, _typo_fix(opened, 5), opened.version)
    # Then DynamoDB, the source of truth, decides: refused, with its current book (stock 2, version 2)
    assert (refused.value.details["current"]["stock"], refused.value.version) == (2, 2)
    # And a save on that version goes through, and the mirror catches up
    saved = book_rules.replace_book(factory.book_repository(), book_id, _typo_fix(opened, 2), 2)
    assert (saved.stock, saved.version) == (2, 3)
    assert _pg_book(store.dsn, book_id) == ("The Time Machine", 2, 3)
