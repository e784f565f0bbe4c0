"""The reference model of a history and the invariants checked against the stores once it is over.

Every check reads what the clients saw (each exchange with its send and answer time; the test
process records answers that the client then "lost") and what the stores hold at the end (the
source of truth of the stage, and the PostgreSQL mirror in the dual-store stages). Times are
``time.time()`` on one machine, the same clock the server's ``createdAt`` comes from.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import combinations
from typing import Any

from tests.histories.stores import Snapshot, has_mirror

EPS = 0.003  # seconds: createdAt is kept to the millisecond (truncated)
INF = float("inf")

EXPECTED_STATUS: dict[str, set[int]] = {
    "GetCart": {200, 503},
    "PutCartItem": {200, 409, 503},
    "DeleteCartItem": {200, 409, 503},
    "PlaceOrder": {201, 409, 503},
    "ListOrders": {200, 503},
    "GetBook": {200, 503},
    "ReplaceBook": {200, 409, 412, 428, 503},
}
CHECKOUT_CONFLICTS = {
    "CART_EMPTY",
    "OUT_OF_STOCK",
    "PRICE_CHANGED",
    "BOOK_UNAVAILABLE",
    "CART_CHANGED",
    "CHECKOUT_PENDING",
    "IDEMPOTENCY_IN_PROGRESS",
    "IDEMPOTENCY_CONFLICT",
}
EXPECTED_CONFLICTS: dict[str, set[str]] = {
    "PlaceOrder": CHECKOUT_CONFLICTS,
    "PutCartItem": {"OUT_OF_STOCK", "CHECKOUT_PENDING", "CART_CHANGED"},
    "DeleteCartItem": {"CHECKOUT_PENDING", "CART_CHANGED"},
    "ReplaceBook": {"VERSION_CONFLICT"},
}


@dataclass
class Violation:
    """One broken invariant, in words a reader can act on."""

    kind: str
    message: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.message}"


@dataclass
class History:
    """Everything the checker needs about one history."""

    stage: str
    seed: int
    catalog: dict[str, dict[str, Any]]  # bookId -> stock, price, version as created
    exchanges: list[dict[str, Any]]
    writes: list[dict[str, Any]]
    snapshot: Snapshot
    listed: dict[str, list[str]] = field(default_factory=dict)  # shopper -> order ids GET /orders shows at the end


@dataclass
class Key:
    """One checkout (an Idempotency-Key) with all its attempts."""

    key: str
    user: str
    actor: str
    expected_total: str
    attempts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def answered(self) -> set[str]:
        """Order ids the server answered with 201 (whether or not the client got the answer)."""
        return {a["body"]["orderId"] for a in self.attempts if a["status"] == 201 and isinstance(a["body"], dict)}

    @property
    def outcome(self) -> str:
        """ "placed" (the client saw its 201), "refused" (a definite 4xx), or "unknown"."""
        last = self.attempts[-1]
        if last["status"] == 201 and not last["lost"]:
            return "placed"
        if last["lost"] or last["status"] >= 500 or last["code"] == "IDEMPOTENCY_IN_PROGRESS":
            return "unknown"
        return "refused"

    @property
    def window(self) -> tuple[float, float]:
        return self.attempts[0]["sent"] - EPS, self.attempts[-1]["answered"] + EPS

    def unknown_windows(self) -> list[tuple[float, float]]:
        """The attempts whose answer says nothing about a write (5xx, 504): an order may date from them."""
        return [(a["sent"] - EPS, a["answered"] + EPS) for a in self.attempts if a["status"] >= 500]

    def describe(self) -> str:
        answers = ", ".join(
            f"{a['status']}{' ' + a['code'] if a['code'] else ''}{' (lost)' if a['lost'] else ''}"
            for a in self.attempts
        )
        return f"key {self.key} ({self.actor}, expectedTotal {self.expected_total}): {answers}"


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def order_text(order: dict[str, Any]) -> str:
    lines = ", ".join(f"{i['bookId']} x{i['quantity']} @{i['unitPrice']}" for i in order["items"])
    return f"order {order['orderId']} of {order['userId']} at {order['createdAt']}: [{lines}] total {order['total']}"


class Checker:
    """Runs every invariant over one history; ``violations`` and ``notes`` (observations) result."""

    def __init__(self, history: History) -> None:
        self.h = history
        self.violations: list[Violation] = []
        self.notes: list[str] = []
        self.keys: dict[str, Key] = {}
        for exchange in history.exchanges:
            if exchange["route"] == "PlaceOrder" and exchange["key"]:
                key = self.keys.setdefault(
                    exchange["key"],
                    Key(exchange["key"], exchange["user"], exchange["actor"], exchange["expected_total"]),
                )
                key.attempts.append(exchange)
        self.stored = {o["orderId"]: o for o in history.snapshot.orders}
        self.order_key: dict[str, list[Key]] = {}  # stored order id -> the key(s) that may have placed it

    def fail(self, kind: str, message: str) -> None:
        self.violations.append(Violation(kind, message))

    def run(self) -> list[Violation]:
        self.answers()
        self.checkouts()
        self.stored_orders()
        self.carts_bought_once()
        self.prices()
        self.conflicts_have_causes()
        self.stock()
        if has_mirror(self.h.stage):
            self.mirror()
        self.observations()
        return self.violations

    # every answer --------------------------------------------------------------------------------
    def answers(self) -> None:
        for e in self.h.exchanges:
            where = f"{e['actor']} #{e['seq']} {e['route']}"
            status, code = e["status"], e["code"]
            if status == 502:
                self.fail("crash", f"{where}: the handler raised: {e['note'][-1500:]}")
                continue
            if status == 504:
                continue  # a timeout (injected, or the function's deadline): API Gateway's own answer
            if status == 500:
                self.fail("http-500", f"{where}: 500 {e['body']}")
            if status >= 400 and not e["shape_ok"]:
                self.fail("error-shape", f"{where}: {status} with body {str(e['body'])[:300]}")
            if status in (429, 503) and not e["retry_after"]:
                self.fail("no-retry-after", f"{where}: {status} {code} without Retry-After")
            if status not in EXPECTED_STATUS[e["route"]]:
                self.fail("unexpected-status", f"{where}: {status} {code}: {str(e['body'])[:400]}")
            elif status == 409 and code not in EXPECTED_CONFLICTS.get(e["route"], set()):
                self.fail("unexpected-code", f"{where}: 409 {code}: {str(e['body'])[:400]}")
            if code == "IDEMPOTENCY_CONFLICT":
                self.fail("idempotency-conflict", f"{where}: key {e['key']} was only ever sent with one body")
            body = e["body"] if status < 400 and isinstance(e["body"], dict) else {}
            if isinstance(body.get("stock"), int) and body["stock"] < 0:
                self.fail("negative-stock", f"{where}: book {e['book']} answered with stock {body['stock']}")
            for line in body.get("items", []) if e["route"] != "PlaceOrder" else []:
                if isinstance(line, dict) and isinstance(line.get("available"), int) and line["available"] < 0:
                    self.fail("negative-stock", f"{where}: cart shows {line['bookId']} available {line['available']}")

    # each checkout's answers ---------------------------------------------------------------------
    def checkouts(self) -> None:
        owner: dict[str, str] = {}
        for key in self.keys.values():
            answered = key.answered
            if len(answered) > 1:
                self.fail("same-key-two-orders", f"{key.describe()} answered orders {sorted(answered)}")
            for order_id in answered:
                if order_id in owner and owner[order_id] != key.key:
                    self.fail("two-keys-one-order", f"order {order_id} answered to {owner[order_id]} and {key.key}")
                owner[order_id] = key.key
                self.order_key.setdefault(order_id, []).append(key)
            if answered and key.outcome == "refused":
                self.fail(
                    "retry-lost-order",
                    f"{key.describe()}: an attempt was answered 201 {sorted(answered)}, "
                    "then a retry with the same key got a refusal instead of that order",
                )
            for attempt in key.attempts:
                if attempt["status"] == 201 and isinstance(attempt["body"], dict):
                    order = attempt["body"]
                    self.arithmetic(order, f"201 to {key.key}")
                    if money(order["total"]) != money(key.expected_total):
                        self.fail(
                            "total-not-confirmed",
                            f"{key.describe()}: 201 with total {order['total']} though the shopper "
                            f"confirmed {key.expected_total}",
                        )
                    if order.get("userId") != key.user:
                        self.fail("wrong-owner", f"{key.describe()}: 201 with an order of {order.get('userId')}")

    def arithmetic(self, order: dict[str, Any], where: str) -> None:
        total = Decimal("0.00")
        for line in order["items"]:
            expected = money(line["unitPrice"]) * line["quantity"]
            if money(line["lineTotal"]) != expected:
                self.fail("order-arithmetic", f"{where}: {order_text(order)}: line {line} is not price x quantity")
            total += expected
        if money(order["total"]) != total:
            self.fail("order-arithmetic", f"{where}: {order_text(order)}: total is not the sum of the lines {total}")

    # the stored orders against the answers ------------------------------------------------------
    def stored_orders(self) -> None:
        for order_id, keys in self.order_key.items():
            stored = self.stored.get(order_id)
            answers = [a["body"] for a in keys[0].attempts if a["status"] == 201]
            answer = next(a for a in answers if a["orderId"] == order_id)
            if stored is None:
                self.fail("answered-order-missing", f"{keys[0].describe()}: answered {order_text(answer)}, not stored")
            elif _order_core(stored) != _order_core(answer):
                self.fail(
                    "answered-order-differs",
                    f"{keys[0].describe()}: answered {order_text(answer)}; stored {order_text(stored)}",
                )
        unanswered = [o for o in self.h.snapshot.orders if o["orderId"] not in self.order_key]
        for order in unanswered:
            self.arithmetic(order, "stored")
        matched = self._match(unanswered)
        for order in unanswered:
            key = matched.get(order["orderId"])
            if key is None:
                created = epoch(order["createdAt"])
                during = [
                    k
                    for k in self.keys.values()
                    if k.user == order["userId"] and any(lo <= created <= hi for lo, hi in k.unknown_windows())
                ]
                if during:
                    self.fail(
                        "duplicate-order",
                        f"{order_text(order)} was never answered, and the only checkouts in flight when it was "
                        f"priced were answered with other orders or other totals: "
                        + "; ".join(f"{k.describe()} -> {sorted(k.answered)}" for k in during),
                    )
                else:
                    self.fail("unaccounted-order", f"{order_text(order)}: no checkout of this shopper explains it")
                continue
            self.order_key[order["orderId"]] = [key]
            if key.outcome == "refused":
                self.fail(
                    "retry-lost-order",
                    f"{order_text(order)} was placed by an attempt of {key.describe()}; "
                    "the retry with the same key was refused instead of answered with that order",
                )

    def _match(self, orders: list[dict[str, Any]]) -> dict[str, Key]:
        """Orders nobody was answered about -> the distinct checkouts (unknown outcome, same shopper and
        total, an unknown attempt in flight when the order was priced) that placed them."""
        candidates: dict[str, list[Key]] = {}
        for order in orders:
            created = epoch(order["createdAt"])
            candidates[order["orderId"]] = [
                k
                for k in self.keys.values()
                if k.user == order["userId"]
                and not k.answered
                and money(k.expected_total) == money(order["total"])
                and any(lo <= created <= hi for lo, hi in k.unknown_windows())
            ]
        owner: dict[str, str] = {}  # key -> order id

        def assign(order_id: str, seen: set[str], allowed: set[str]) -> bool:
            for key in candidates[order_id]:
                if key.outcome not in allowed or key.key in seen:
                    continue
                seen.add(key.key)
                if key.key not in owner or assign(owner[key.key], seen, allowed):
                    owner[key.key] = order_id
                    return True
            return False

        for allowed in ({"unknown"}, {"unknown", "refused"}):  # prefer checkouts whose client gave up
            for order_id in candidates:
                if order_id not in owner.values():
                    assign(order_id, set(), allowed)
        return {order_id: self.keys[key] for key, order_id in owner.items()}

    # one cart version, one order ---------------------------------------------------------------
    def carts_bought_once(self) -> None:
        """Each checkout empties the cart, so every line of a later order was set by a cart write made
        after the earlier order was priced and before the later one was. Two orders that can't be
        put in either order that way were bought from the same cart contents."""
        puts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in self.h.exchanges:
            if e["route"] == "PutCartItem" and (e["status"] == 200 or e["status"] >= 500):
                puts[e["user"]].append(e)
        by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for order in self.h.snapshot.orders:
            by_user[order["userId"]].append(order)

        def explained(first: dict[str, Any], later: dict[str, Any], writes: list[dict[str, Any]]) -> bool:
            after, before = epoch(first["createdAt"]), epoch(later["createdAt"])
            return all(
                any(
                    w["book"] == line["bookId"]
                    and w["quantity"] == line["quantity"]
                    and w["answered"] + EPS > after
                    and w["sent"] - EPS < before
                    for w in writes
                )
                for line in later["items"]
            )

        for user, orders in by_user.items():
            for a, b in combinations(sorted(orders, key=lambda o: o["createdAt"]), 2):
                if not explained(a, b, puts[user]) and not explained(b, a, puts[user]):
                    keys = [self._key_text(o["orderId"]) for o in (a, b)]
                    self.fail(
                        "cart-bought-twice",
                        f"{order_text(a)} and {order_text(b)}: no cart write between them set the later one's "
                        f"lines ({keys[0]}; {keys[1]})",
                    )

    def _key_text(self, order_id: str) -> str:
        keys = self.order_key.get(order_id)
        return keys[0].describe() if keys else "no checkout accounts for it"

    # prices in force -------------------------------------------------------------------------------
    def price_epochs(self) -> dict[str, list[tuple[str, float, float]]]:
        """Per book: (price, from, until) intervals in which the price may have been in force."""
        epochs: dict[str, list[list[Any]]] = {b: [[c["price"], -INF, INF]] for b, c in self.h.catalog.items()}
        for write in sorted(self.h.writes, key=lambda w: w["first_sent"]):
            if write["applied"] is False:
                continue
            spans = epochs[write["book"]]
            if write["applied"]:
                for span in spans:
                    if span[2] == INF:
                        span[2] = write["resolved_at"] + EPS
            spans.append([write["price"], write["first_sent"] - EPS, INF])
        return {b: [(p, lo, hi) for p, lo, hi in spans] for b, spans in epochs.items()}

    def prices(self) -> None:
        epochs = self.price_epochs()
        for order_id, keys in self.order_key.items():
            order = self.stored.get(order_id)
            if order is None:
                continue
            lo, hi = keys[0].window
            for line in order["items"]:
                spans = epochs.get(line["bookId"], [])
                if not any(money(p) == money(line["unitPrice"]) and start < hi and end > lo for p, start, end in spans):
                    in_force = [(p, round(s - lo, 3), round(e - lo, 3)) for p, s, e in spans]
                    self.fail(
                        "price-not-in-force",
                        f"{order_text(order)}: {line['bookId']} at {line['unitPrice']} was not a price in force "
                        f"during {keys[0].describe()} (prices, from/until relative to its start: {in_force})",
                    )

    # a refusal that says "something changed" needs something that changed ------------------------
    def conflicts_have_causes(self) -> None:
        """CART_CHANGED says the cart or a price changed while checking out (after the checkout re-read
        and retried): another tab of the shopper or the admin must have been writing meanwhile."""
        writers = [
            e for e in self.h.exchanges if e["route"] in ("PutCartItem", "DeleteCartItem", "PlaceOrder", "ReplaceBook")
        ]
        for e in self.h.exchanges:
            if e["route"] != "PlaceOrder" or e["code"] != "CART_CHANGED":
                continue
            causes = [
                w
                for w in writers
                if w["actor"] != e["actor"]
                and (w["user"] == e["user"] or w["route"] == "ReplaceBook")
                and w["sent"] - EPS < e["answered"]
                and w["answered"] + EPS > e["sent"]
            ]
            if not causes:
                self.fail(
                    "cart-changed-without-change",
                    f"{e['actor']} #{e['seq']} key {e['key']}: 409 CART_CHANGED though no other tab of "
                    f"{e['user']} and no admin wrote anything during the attempt ({e['body']['error']['message']})",
                )

    # stock ---------------------------------------------------------------------------------------
    def stock(self) -> None:
        sold: Counter[str] = Counter()
        sales: Counter[str] = Counter()
        for order in self.h.snapshot.orders:
            for line in order["items"]:
                sold[line["bookId"]] += line["quantity"]
                sales[line["bookId"]] += 1
        for book_id, created in self.h.catalog.items():
            current = self.h.snapshot.books.get(book_id)
            if current is None:
                self.fail("book-missing", f"{book_id} is gone from the source of truth")
                continue
            writes = [w for w in self.h.writes if w["book"] == book_id]
            sure = [w for w in writes if w["applied"] is True]
            maybe = [w for w in writes if w["applied"] is None]
            restocked = sum(w["delta"] for w in sure)
            stocks = {created["stock"] + restocked + extra - sold[book_id] for extra in _subset_sums(maybe, "delta")}
            if current["stock"] < 0:
                self.fail("negative-stock", f"{book_id}: stock {current['stock']} in the source of truth")
            if current["stock"] not in stocks:
                self.fail(
                    "stock-ledger",
                    f"{book_id}: created with {created['stock']}, restocked +{restocked} by {len(sure)} admin "
                    f"writes{f' (+ maybe {[w["delta"] for w in maybe]})' if maybe else ''}, "
                    f"{sold[book_id]} sold in {sales[book_id]} stored orders: expected "
                    f"{sorted(stocks)}, the store says {current['stock']} (version {current['version']}); "
                    f"admin writes: {[(w['marker'], w['read_version'], w['delta'], w['answers']) for w in writes]}",
                )
            versions = {created["version"] + len(sure) + n + sales[book_id] for n in range(len(maybe) + 1)}
            if current["version"] not in versions:
                self.fail(
                    "version-ledger",
                    f"{book_id}: version {current['version']}, expected {sorted(versions)} (created at "
                    f"{created['version']}, {len(sure)} admin writes applied, {sales[book_id]} order lines)",
                )
            last = sure[-1]["price"] if sure else created["price"]
            prices = {money(last)} | {money(w["price"]) for w in maybe}
            if money(current["price"]) not in prices:
                self.fail("price-ledger", f"{book_id}: price {current['price']}, the last admin write set {last}")

    # the mirror in the dual stages -----------------------------------------------------------------
    def mirror(self) -> None:
        snap = self.h.snapshot
        mirror_books = snap.mirror_books or {}
        repairs = snap.repairs
        for book_id, book in snap.books.items():
            copy = mirror_books.get(book_id)
            fields = ("stock", "price", "version", "description")
            drift = copy is None or any(str(copy[f]) != str(book[f]) for f in fields)
            if drift and book_id not in repairs.get("books", set()):
                seen = {f: copy[f] for f in fields} if copy else None
                self.fail(
                    "mirror-drift-unrecorded",
                    f"book {book_id}: source { ({f: book[f] for f in fields}) }, mirror {seen}, no repair recorded",
                )
        mirror_orders = {o["orderId"]: o for o in snap.mirror_orders or []}
        for order in snap.orders:
            copy = mirror_orders.get(order["orderId"])
            if (copy is None or _order_core(copy) != _order_core(order)) and (
                f"{order['userId']}/{order['orderId']}" not in repairs.get("orders", set())
            ):
                self.fail(
                    "mirror-drift-unrecorded",
                    f"{order_text(order)}: {'missing from' if copy is None else 'different in'} the mirror, "
                    f"no repair recorded ({self._key_text(order['orderId'])})",
                )
        for order_id, copy in mirror_orders.items():
            if order_id not in self.stored:
                self.fail("mirror-extra-order", f"{order_text(copy)} is in the mirror only")

    # not invariants: what a reader of the figures wants to know ---------------------------------
    def observations(self) -> None:
        for user, listed in self.h.listed.items():
            missing = [o for o, keys in self.order_key.items() if keys[0].user == user and o not in listed]
            if missing:
                self.notes.append(f"GET /orders of {user} at the end lacks {len(missing)} of its orders: {missing}")
        for user, cart in self.h.snapshot.carts.items():
            if cart.get("claim"):
                self.notes.append(f"the cart of {user} is still claimed at the end (an unsettled checkout)")


def _order_core(order: dict[str, Any]) -> tuple[Any, ...]:
    lines = tuple((i["bookId"], i["quantity"], money(i["unitPrice"]), money(i["lineTotal"])) for i in order["items"])
    return order["userId"], money(order["total"]), lines


def _subset_sums(writes: list[dict[str, Any]], field_name: str) -> set[int]:
    sums = {0}
    for write in writes:
        sums |= {s + int(write[field_name]) for s in sums}
    return sums


def tab_races(exchanges: list[dict[str, Any]]) -> int:
    """How many times two tabs of one shopper had a checkout attempt in flight at the same moment."""
    attempts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in exchanges:
        if e["route"] == "PlaceOrder":
            attempts[e["user"]].append(e)
    return sum(
        1
        for mine in attempts.values()
        for a, b in combinations(mine, 2)
        if a["actor"] != b["actor"] and a["sent"] < b["answered"] and b["sent"] < a["answered"]
    )


def check(history: History) -> tuple[list[Violation], list[str], dict[str, int]]:
    """(violations, observations, checkout outcomes and races) of one history."""
    checker = Checker(history)
    violations = checker.run()
    outcomes = Counter(k.outcome for k in checker.keys.values())
    outcomes["tab_races"] = tab_races(history.exchanges)
    return violations, checker.notes, dict(outcomes)
