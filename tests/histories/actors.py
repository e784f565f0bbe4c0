"""The actors of a history, each in a forked worker process: shopper tabs and an admin.

Each worker is one Lambda execution environment for every function: it calls the real handlers
(loaded from template.yaml by cloudshelf_dev.handlers before the fork) in-process, with real-format
API Gateway REST proxy events, against the shared locked moto server and PostgreSQL. Powertools keeps
the current event on a class attribute, so two requests never share a process.

Faults are injected inside the worker:
- DynamoDB throttling: a botocore ``before-send`` hook answers ThrottlingException or
  ProvisionedThroughputExceededException for a burst of 1-3 sends (3 exhausts the SDK's retries);
- a PostgreSQL connection dropped just before or just after a COMMIT (the caller then gets a 503 with
  an unknown outcome); in the dual-store stages every PostgreSQL write is a mirror write, so this is
  a failed mirror write;
- a timeout right after a store write succeeded (DynamoDB write call or PostgreSQL COMMIT): the
  function stops there, as Lambda stops it at its deadline; API Gateway answers 504;
- the function's own deadline (``timeout_s``), enforced with SIGALRM, as Lambda does;
- a lost answer: the client drops a response (even a 201) and retries.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import sys
import time
import traceback
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from cloudshelf.api import deps, idempotency
from cloudshelf.repositories.factory import clear_caches
from cloudshelf_dev.events import claims_for, proxy_event
from cloudshelf_dev.handlers import Handler, handler_for
from cloudshelf_dev.worker import LambdaContext

ROUTES: dict[str, tuple[str, str, str]] = {
    "CreateBook": ("POST", "/books", "BooksFunction"),
    "GetBook": ("GET", "/books/{bookId}", "BooksFunction"),
    "ReplaceBook": ("PUT", "/books/{bookId}", "BooksFunction"),
    "GetCart": ("GET", "/cart", "CartsFunction"),
    "PutCartItem": ("PUT", "/cart/items/{bookId}", "CartsFunction"),
    "DeleteCartItem": ("DELETE", "/cart/items/{bookId}", "CartsFunction"),
    "PlaceOrder": ("POST", "/orders", "OrdersFunction"),
    "ListOrders": ("GET", "/orders", "OrdersFunction"),
}
FUNCTIONS = ("BooksFunction", "CartsFunction", "OrdersFunction")
DYNAMODB_WRITES = frozenset({"TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem", "BatchWriteItem"})
UNKNOWN = "unknown"  # an answer that says nothing about whether the write happened


class LambdaTimeout(BaseException):
    """The function ran out of time: Lambda stops it wherever it is (not an Exception: nothing in the
    function may catch it), API Gateway answers 504, and the execution environment is discarded."""


@dataclass(frozen=True)
class FaultRates:
    """How often each fault strikes (probabilities per opportunity)."""

    throttle: float = 0.012  # per DynamoDB send: a burst of 1-3 throttled sends starts
    pg_commit: float = 0.15  # per PostgreSQL COMMIT: the connection drops before or after it
    timeout_after_write: float = 0.015  # per other successful DynamoDB write: the function times out right after it
    timeout_after_transaction: float = 0.06  # per TransactWriteItems or PostgreSQL COMMIT that succeeded: the same
    lost_answer: float = 0.07  # per answer to a write request: the client never sees it

    @classmethod
    def none(cls) -> FaultRates:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0)


def load_handlers() -> dict[str, Handler]:
    """The handlers, loaded the way Lambda loads them (call before forking: workers inherit them)."""
    return {function: handler_for(function) for function in FUNCTIONS}


class _RawBody:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


class Faults:
    """The faults of one worker, drawn from its own seeded generator, and what was injected."""

    def __init__(self, rng: random.Random, rates: FaultRates, *, mirror: bool) -> None:
        self.rng = rng
        self.rates = rates
        self.mirror = mirror
        self.counts: Counter[str] = Counter()
        self._burst = 0

    # DynamoDB ------------------------------------------------------------------------------------
    def install(self, client: Any) -> None:
        client.meta.events.register_first("before-send.dynamodb", self._before_send)
        client.meta.events.register("after-call.dynamodb", self._after_call)

    def _before_send(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        if self._burst > 0:
            self._burst -= 1
        elif self.rng.random() < self.rates.throttle:
            length = self.rng.choice((1, 2, 3))
            self._burst = length - 1
            self.counts["dynamodb_throttle_burst"] += 1
            if length == 3:
                self.counts["dynamodb_throttle_exhausting_retries"] += 1
        else:
            return None
        self.counts["dynamodb_throttled_send"] += 1
        code = self.rng.choice(("ThrottlingException", "ProvisionedThroughputExceededException"))
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "slow down"}).encode()
        return AWSResponse(request.url, 400, {"x-amzn-ErrorType": code}, _RawBody(body))  # type: ignore[arg-type]

    def _after_call(self, http_response: Any, model: Any, **_: Any) -> None:
        if model.name not in DYNAMODB_WRITES or getattr(http_response, "status_code", 0) != 200:
            return
        transaction = model.name == "TransactWriteItems"
        if self.rng.random() < (
            self.rates.timeout_after_transaction if transaction else self.rates.timeout_after_write
        ):
            self.counts["timeout_after_write"] += 1
            raise LambdaTimeout(f"injected after {model.name}")

    # PostgreSQL ----------------------------------------------------------------------------------
    def on_commit(self) -> str | None:
        """What happens to this COMMIT: None, "before" / "after" (connection dropped), "timeout"."""
        draw = self.rng.random()
        if draw < self.rates.pg_commit:
            mode = self.rng.choice(("before", "after"))
            if self.mirror:
                self.counts["mirror_write_fail" if mode == "before" else "mirror_commit_answer_lost"] += 1
            else:
                self.counts[f"pg_drop_{mode}_commit"] += 1
            return mode
        if draw < self.rates.pg_commit + self.rates.timeout_after_transaction:
            self.counts["timeout_after_write"] += 1
            return "timeout"
        return None


_FAULTS: Faults | None = None  # the worker's faults, for the psycopg2 connection class


def _install_postgres_faults() -> None:
    """Every PostgreSQL connection the product opens in this worker commits through _faulty_commit."""
    import psycopg2
    import psycopg2.extensions

    class FaultyConnection(psycopg2.extensions.connection):  # type: ignore[misc]
        def commit(self) -> None:
            mode = _FAULTS.on_commit() if _FAULTS is not None else None
            if mode == "before":
                self.close()  # the server rolls the transaction back
                raise psycopg2.OperationalError("server closed the connection unexpectedly (injected before COMMIT)")
            super().commit()
            if mode == "after":
                self.close()
                raise psycopg2.OperationalError("server closed the connection unexpectedly (injected after COMMIT)")
            if mode == "timeout":
                raise LambdaTimeout("injected after COMMIT")

    original = psycopg2.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("connection_factory", FaultyConnection)
        return original(*args, **kwargs)

    psycopg2.connect = connect


class Environment:
    """One simulated execution environment: the product's caches, the fault hooks, the deadline."""

    def __init__(self, handlers: dict[str, Handler], faults: Faults | None, timeout_s: float) -> None:
        self.handlers = handlers
        self.faults = faults
        self.timeout_s = timeout_s
        self.counts: Counter[str] = Counter()
        if faults is not None:
            global _FAULTS  # noqa: PLW0603 - one worker process, one set of faults
            _FAULTS = faults
            _install_postgres_faults()
        if timeout_s:
            signal.signal(signal.SIGALRM, self._deadline)
        self.fresh()

    def _deadline(self, *_: Any) -> None:
        self.counts["lambda_deadline"] += 1
        raise LambdaTimeout("the function's deadline passed")

    def fresh(self) -> None:
        """A new execution environment: new clients and connections, hooks installed on them."""
        clear_caches()
        idempotency.clear_cache()
        deps.cart_rules.cache_clear()
        if self.faults is not None:
            from cloudshelf.repositories.dynamodb.client import dynamodb_client

            self.faults.install(dynamodb_client())

    def invoke(self, function: str, event: dict[str, Any]) -> tuple[int, Any, dict[str, list[str]], str]:
        """Run the handler; (status, decoded body, headers, note). 504 for a timeout, 502 for a crash."""
        now_ms = time.time() * 1000
        context = LambdaContext(
            function_name=f"cloudshelf-{function}",
            function_version="$LATEST",
            invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:cloudshelf-{function}",
            memory_limit_in_mb=512,
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/cloudshelf-{function}",
            log_stream_name="histories",
            deadline_ms=now_ms + (self.timeout_s or 30.0) * 1000,
        )
        try:
            if self.timeout_s:
                signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
            try:
                result = self.handlers[function](event, context)
            finally:
                if self.timeout_s:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except LambdaTimeout as exc:
            self.fresh()
            return 504, {"message": "Endpoint request timed out"}, {}, f"timeout: {exc}"
        except Exception:  # an unhandled error: Lambda reports it, API Gateway answers 502
            note = traceback.format_exc(limit=12)
            self.fresh()
            return 502, {"message": "Internal server error"}, {}, f"crash: {note}"
        headers: dict[str, list[str]] = {k: [str(v)] for k, v in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[key] = [str(v) for v in values]
        text = result.get("body") or ""
        try:
            body = json.loads(text) if text else None
        except ValueError:
            return int(result["statusCode"]), text[:500], headers, "body is not JSON"
        return int(result["statusCode"]), body, headers, ""


@dataclass
class Exchange:
    """One request and its answer, as the checker needs it."""

    actor: str
    user: str
    route: str
    seq: int
    sent: float
    answered: float
    status: int
    code: str | None = None
    lost: bool = False
    book: str | None = None
    quantity: int | None = None
    key: str | None = None
    expected_total: str | None = None
    retry_after: bool = False
    shape_ok: bool = True
    body: Any = None
    note: str = ""

    @property
    def unknown(self) -> bool:
        """The server's answer says nothing about whether it wrote (a 5xx or no answer)."""
        return self.status >= 500


def error_shape_ok(body: Any) -> bool:
    """``{"error": {"code": str, "message": str, "details": ...}}`` and nothing else."""
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return False
    error = body["error"]
    return (
        set(error) == {"code", "message", "details"}
        and isinstance(error["code"], str)
        and isinstance(error["message"], str)
    )


def _kept(route: str, status: int, body: Any) -> Any:
    """The part of an answer the checker looks at (small enough to ship back from the worker)."""
    if status >= 400 or not isinstance(body, dict):
        return body
    if route in ("GetCart", "PutCartItem", "DeleteCartItem"):
        items = [{k: line.get(k) for k in ("bookId", "quantity", "unitPrice", "available")} for line in body["items"]]
        return {"total": body.get("total"), "items": items, "checkoutPending": body.get("checkoutPending")}
    if route in ("GetBook", "ReplaceBook", "CreateBook"):
        return {k: body.get(k) for k in ("bookId", "stock", "price", "version", "description", "title")} | {
            "full": body
        }
    if route == "ListOrders":
        return {"orderIds": [o.get("orderId") for o in body.get("items", [])], "next": body.get("nextCursor")}
    return body


class Client:
    """An API client of one user in one worker: builds the events, loses answers, records everything."""

    def __init__(
        self, env: Environment, name: str, claims: dict[str, str], loss: random.Random | None, rate: float
    ) -> None:
        self.env = env
        self.name = name
        self.claims = claims
        self.loss = loss
        self.rate = rate
        self.exchanges: list[Exchange] = []
        self.lost = 0

    def call(
        self,
        route: str,
        *,
        path: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        may_lose: bool = False,
        **meta: Any,
    ) -> Exchange:
        method, resource, function = ROUTES[route]
        params = path or {}
        sent_headers = {"Content-Type": ["application/json"], "Accept": ["application/json"]}
        sent_headers.update({k: [v] for k, v in (headers or {}).items()})
        event = proxy_event(
            method,
            resource,
            resource.format(**params),
            path_parameters=params or None,
            headers=sent_headers,
            body=json.dumps(body) if body is not None else None,
            claims=self.claims,
            stage="prod",
        )
        sent = time.time()
        status, payload, answer_headers, note = self.env.invoke(function, event)
        answered = time.time()
        exchange = Exchange(self.name, self.claims["sub"], route, len(self.exchanges), sent, answered, status, **meta)
        exchange.note = note
        exchange.retry_after = any(k.lower() == "retry-after" for k in answer_headers)
        if status >= 400 and status not in (502, 504):  # 502/504 are API Gateway's own answers here
            exchange.shape_ok = error_shape_ok(payload)
            if exchange.shape_ok:
                exchange.code = payload["error"]["code"]
        exchange.body = _kept(route, status, payload)
        if may_lose and status < 500 and self.loss is not None and self.loss.random() < self.rate:
            exchange.lost = True
            self.lost += 1
        self.exchanges.append(exchange)
        return exchange


@dataclass(frozen=True)
class ActorSpec:
    """What one worker does: who, how much, until when, with which faults."""

    name: str
    role: str  # "shopper" or "admin"
    user: str
    seed: int
    ops: int
    deadline: float
    books: tuple[str, ...]
    prices: tuple[str, ...]
    stage: str
    rates: FaultRates
    timeout_s: float
    out: str
    log: str
    races: tuple[float, ...] = ()  # moments (time.time()) at which all tabs of this shopper check out at once


def claims_of(spec: ActorSpec) -> dict[str, str]:
    groups = ["admin"] if spec.role == "admin" else None
    return claims_for(spec.user, f"{spec.user}@example.com", groups)


def _pause(rng: random.Random, low: float, high: float) -> None:
    time.sleep(rng.uniform(low, high))


class ShopperTab:
    """A browser tab of a shopper: fills the cart, looks at it, checks out with the total it last saw."""

    OPS = (("view", 14), ("put", 34), ("remove", 8), ("checkout", 30), ("orders", 5), ("book", 9))

    def __init__(self, client: Client, rng: random.Random, spec: ActorSpec) -> None:
        self.client, self.rng, self.spec = client, rng, spec
        self.seen_total = "0.00"
        self.seen_lines: dict[str, int] = {}
        self.keys = 0

    def run(self) -> None:
        names = [n for n, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        races = list(self.spec.races)
        for _ in range(self.spec.ops):
            if time.time() > self.spec.deadline:
                return
            if races and time.time() >= races[0] - 0.8:
                self.race(races.pop(0))
                continue
            op = self.rng.choices(names, weights)[0]
            if op == "checkout" and not self.seen_lines and self.rng.random() < 0.75:
                op = "put"  # mostly check out something, sometimes an empty (or unseen) cart
            getattr(self, op)()
            _pause(self.rng, 0.0, 0.03)
        for moment in races:
            self.race(moment)

    def _saw(self, cart: Any) -> None:
        if isinstance(cart, dict) and isinstance(cart.get("total"), str):
            self.seen_total = cart["total"]
            self.seen_lines = {i["bookId"]: i["quantity"] for i in cart.get("items", [])}

    def race(self, moment: float) -> None:
        """Look at the cart (fill it if empty), then check out at ``moment``, with the shopper's other tabs."""
        if time.time() > moment - 0.3:
            return  # missed it (a long retry): no race this time
        self.view()
        if not self.seen_lines:
            self.put()
        time.sleep(max(0.0, moment - 0.25 - time.time()))
        self.view()  # every tab now shows the same cart
        time.sleep(max(0.0, moment - time.time()))
        self.checkout()

    def view(self) -> None:
        answer = self.client.call("GetCart")
        if answer.status == 200:
            self._saw(answer.body)

    def orders(self) -> None:
        self.client.call("ListOrders")

    def book(self) -> None:
        book = self.rng.choice(self.spec.books)
        self.client.call("GetBook", path={"bookId": book}, book=book)

    def put(self) -> None:
        book = self.rng.choice(self.spec.books)
        quantity = self.rng.randint(1, 3)
        self._cart_write("PutCartItem", book, {"quantity": quantity}, quantity)

    def remove(self) -> None:
        book = self.rng.choice(sorted(self.seen_lines) or list(self.spec.books))
        self._cart_write("DeleteCartItem", book, None, None)

    def _cart_write(self, route: str, book: str, body: Any, quantity: int | None) -> None:
        for attempt in range(6):
            answer = self.client.call(
                route, path={"bookId": book}, body=body, may_lose=True, book=book, quantity=quantity
            )
            if answer.status == 200 and not answer.lost:
                self._saw(answer.body)
                return
            if answer.lost or answer.unknown:  # same request again: it is idempotent (a quantity, a removal)
                _pause(self.rng, 0.02, 0.1 * (attempt + 1))
                continue
            if answer.code == "CHECKOUT_PENDING" and attempt < 4:
                _pause(self.rng, 0.1, 0.3)
                continue
            return

    def checkout(self) -> None:
        self.keys += 1
        key = f"k{self.spec.seed}-{self.spec.name}-{self.keys}"
        expected = self.seen_total
        # Retry as a patient client would: past the time an interrupted attempt holds the key
        # ("in progress" until its function's deadline), so that the retry runs the checkout again.
        give_up = time.time() + self.spec.timeout_s + 3.0
        for attempt in range(40):
            if attempt and time.time() > give_up:
                return
            answer = self.client.call(
                "PlaceOrder",
                body={"expectedTotal": expected},
                headers={"Idempotency-Key": key},
                may_lose=True,
                key=key,
                expected_total=expected,
            )
            if answer.lost or answer.unknown:
                _pause(self.rng, 0.05, min(0.6, 0.1 * (attempt + 1)))
                continue
            if answer.code == "IDEMPOTENCY_IN_PROGRESS":
                _pause(self.rng, 0.3, 0.6)
                continue
            if answer.status == 201:
                self.seen_total, self.seen_lines = "0.00", {}
                return
            details = answer.body["error"]["details"] if answer.shape_ok and answer.body else None
            if answer.code == "PRICE_CHANGED" and isinstance(details, dict) and self.rng.random() < 0.8:
                self._saw(details.get("cart"))
            elif self.rng.random() < 0.6:
                self.view()
            return


@dataclass
class AdminWrite:
    """One logical PUT /books/{id} of the admin (with its retries) and what became of it."""

    book: str
    marker: str
    read_version: int
    read_stock: int
    delta: int
    price: str
    first_sent: float
    resolved_at: float | None = None
    applied: bool | None = None  # None: never found out
    stale: bool = False
    answers: list[str] = field(default_factory=list)


EDITABLE = ("title", "author", "category", "price", "stock", "description", "isbn", "imageUrl")


class Admin:
    """The catalog admin: restocks and reprices with the version it read, sometimes a stale one."""

    def __init__(self, client: Client, rng: random.Random, spec: ActorSpec) -> None:
        self.client, self.rng, self.spec = client, rng, spec
        self.reads: dict[str, list[dict[str, Any]]] = {b: [] for b in spec.books}
        self.writes: list[AdminWrite] = []

    def read(self, book: str) -> dict[str, Any] | None:
        for _ in range(5):
            answer = self.client.call("GetBook", path={"bookId": book}, book=book)
            if answer.status == 200:
                self.reads[book].append(answer.body["full"])
                return answer.body["full"]  # type: ignore[no-any-return]
            _pause(self.rng, 0.05, 0.2)
        return None

    def run(self) -> None:
        for book in self.spec.books:
            self.read(book)
        for _ in range(self.spec.ops):
            if time.time() > self.spec.deadline:
                return
            book = self.rng.choice(self.spec.books)
            stale = bool(self.reads[book]) and self.rng.random() < 0.3
            base = self.rng.choice(self.reads[book][-3:]) if stale else self.read(book)
            if base is None:
                continue
            kind = self.rng.choice(("restock", "price", "both"))
            delta = self.rng.randint(1, 4) if kind != "price" else 0
            price = self.rng.choice(self.spec.prices) if kind != "restock" else base["price"]
            self.write(book, base, delta, price, stale)
            _pause(self.rng, 0.05, 0.25)

    def write(self, book: str, base: dict[str, Any], delta: int, price: str, stale: bool) -> None:
        marker = f"w{len(self.writes)}-{self.spec.seed}"
        body = {k: base[k] for k in EDITABLE} | {"stock": base["stock"] + delta, "price": price, "description": marker}
        record = AdminWrite(book, marker, int(base["version"]), int(base["stock"]), delta, price, time.time())
        record.stale = stale
        self.writes.append(record)
        headers = {"If-Match": f'"{base["version"]}"'}
        for _ in range(10):
            answer = self.client.call(
                "ReplaceBook", path={"bookId": book}, body=body, headers=headers, may_lose=True, book=book
            )
            record.answers.append(f"{answer.status}{'/lost' if answer.lost else ''} {answer.code or ''}".strip())
            if answer.code == "PRECONDITION_REQUIRED" and "version" not in body:
                body["version"] = int(base["version"])  # the contract wants it in the body too
                continue
            if answer.lost or answer.unknown:  # did it happen? ask again with the same version
                _pause(self.rng, 0.05, 0.2)
                continue
            record.resolved_at = answer.answered
            if answer.status == 200:
                record.applied = True
                self.reads[book].append(answer.body["full"])
            elif answer.code == "VERSION_CONFLICT":
                current = answer.body["error"]["details"]["current"]
                record.applied = current.get("description") == marker  # only this admin writes markers
                self.reads[book].append(current)
            else:
                record.applied = False
            return


def run_actor(spec: ActorSpec, handlers: dict[str, Handler]) -> None:
    """The body of a worker process: act, then write everything to ``spec.out`` as JSON."""
    sys.settrace(None)  # a coverage tracer inherited from pytest only slows the worker (its data is never saved)
    log = open(spec.log, "w", buffering=1)  # noqa: SIM115 - the process's stdout and stderr until it exits
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log  # pytest's capture objects were inherited: the log, not the test's output
    for logger in [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict))]:
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                handler.setStream(log)  # Powertools' handler holds the stream it was created with
    from cloudshelf.repositories.postgres import connection

    connection._local.conn = None  # never touch a connection inherited from the parent
    faults = Faults(random.Random(f"{spec.seed}:{spec.name}:faults"), spec.rates, mirror=spec.stage in MIRRORED)
    result: dict[str, Any] = {"actor": spec.name, "error": None}
    env: Environment | None = None
    client: Client | None = None
    actor: ShopperTab | Admin | None = None
    try:
        env = Environment(handlers, faults, spec.timeout_s)
        loss = random.Random(f"{spec.seed}:{spec.name}:loss")
        client = Client(env, spec.name, claims_of(spec), loss, spec.rates.lost_answer)
        rng = random.Random(f"{spec.seed}:{spec.name}")
        actor = Admin(client, rng, spec) if spec.role == "admin" else ShopperTab(client, rng, spec)
        actor.run()
    except BaseException:  # the harness's own failure: reported, never mistaken for the product's
        result["error"] = traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        counts = Counter(faults.counts)
        if env is not None:
            counts.update(env.counts)
        if client is not None:
            counts["lost_answer"] += client.lost
            result["exchanges"] = [asdict(e) for e in client.exchanges]
        result["faults"] = dict(counts)
        result["writes"] = [asdict(w) for w in actor.writes] if isinstance(actor, Admin) else []
        tmp = f"{spec.out}.tmp"
        with open(tmp, "w") as out:
            json.dump(result, out)
        os.replace(tmp, spec.out)
        log.flush()


MIRRORED = ("dual-write", "postgres-read")


def setup_client(handlers: dict[str, Handler], user: str, groups: list[str] | None = None) -> Client:
    """A fault-free client for the test process itself (creating the catalog, final reads)."""
    return Client(Environment(handlers, None, 0.0), user, claims_for(user, f"{user}@example.com", groups), None, 0.0)
