"""The storefront in a real browser (Debian's chromium) against the whole local stack.

- ``stack``: ``start_stack(port=0)`` on 127.0.0.1, seeded, once per session; ``base_url``
  points Playwright at it, so ``page.goto("/#/cart")`` works.
- ``browser_type_launch_args``: Debian's chromium (``/usr/bin/chromium``, or
  ``CLOUDSHELF_CHROMIUM``), never a downloaded browser.
- Every page a test opens (``page`` and ``new_page()``) is watched: a console error or an
  uncaught page error fails the test. Tests that provoke an HTTP error on purpose (409,
  422...) list what Chromium will log with ``@pytest.mark.allow_console_errors(regex, ...)``.
- Every action and assertion times out after 10 s; a test over 60 s fails.
- A failed test leaves a screenshot of each of its pages in ``test-results/e2e/<test>.png``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

if importlib.util.find_spec("playwright") is None or importlib.util.find_spec("pytest_playwright") is None:
    # `pip install playwright pytest-playwright` (requirements/dev.txt) enables these tests.
    collect_ignore_glob = ["test_*.py"]
else:
    import jwt
    import requests
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

    from cloudshelf_dev import cognito
    from cloudshelf_dev.server import Stack, start_stack

    ACTION_TIMEOUT_MS = 10_000
    TEST_BUDGET_S = 60.0
    PASSWORD = "Reader-Pass-1234"
    CHROMIUM = os.environ.get("CLOUDSHELF_CHROMIUM", "/usr/bin/chromium")
    CHROMIUM_ARGS = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    SCREENSHOT_DIR = "test-results/e2e"
    BROWSER_ERRORS = pytest.StashKey[list[str]]()
    REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
    PAGES = pytest.StashKey[list[Page]]()
    SCREENSHOTS_TAKEN = pytest.StashKey[bool]()

    expect.set_options(timeout=ACTION_TIMEOUT_MS)

    def pytest_configure(config: pytest.Config) -> None:
        config.addinivalue_line(
            "markers",
            "allow_console_errors(*patterns): browser console errors matching these regexes are expected",
        )

    # ---------------------------------------------------------------- browser and stack

    @pytest.fixture(scope="session")
    def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
        if not Path(CHROMIUM).exists():
            pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set CLOUDSHELF_CHROMIUM)")
        return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}

    @pytest.fixture(scope="session")
    def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
        """The whole local stack on a free loopback port, with the demo catalog and admin."""
        running = start_stack(port=0, seed=True, log_dir=tmp_path_factory.mktemp("e2e-function-logs"))
        yield running
        running.stop()

    @pytest.fixture(scope="session")
    def base_url(stack: Stack) -> str:
        return stack.url

    @pytest.fixture(scope="session")
    def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
        return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "en-US"}

    # ---------------------------------------------------------------- watched pages

    def _allowed_patterns(item: pytest.Item) -> list[re.Pattern[str]]:
        return [re.compile(p) for marker in item.iter_markers("allow_console_errors") for p in marker.args]

    def watch(page: Page, item: pytest.Item) -> Page:
        """Record the page's console errors and uncaught errors on the test; bound its actions."""
        errors = item.stash.setdefault(BROWSER_ERRORS, [])
        allowed = _allowed_patterns(item)

        def on_console(message: ConsoleMessage) -> None:
            if message.type != "error":
                return
            text = message.text
            if any(p.search(text) for p in allowed):
                return
            where = message.location.get("url", "") if message.location else ""
            errors.append(f"console error: {text} ({where})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(f"uncaught error: {error}"))
        page.set_default_timeout(ACTION_TIMEOUT_MS)
        page.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
        item.stash.setdefault(PAGES, []).append(page)
        return page

    @pytest.fixture
    def page(context: BrowserContext, request: pytest.FixtureRequest) -> Generator[Page]:
        """A watched page (console errors fail the test; a failure leaves a screenshot)."""
        page = watch(context.new_page(), request.node)
        yield page
        _screenshot_on_failure(request.node)

    @pytest.fixture
    def new_page(
        browser: Browser, browser_context_args: dict[str, Any], request: pytest.FixtureRequest
    ) -> Iterator[Callable[..., Page]]:
        """Open a page in a browser context of its own (another shopper, a phone), watched like ``page``."""
        contexts: list[BrowserContext] = []

        def make(**context_args: Any) -> Page:
            context = browser.new_context(**{**browser_context_args, **context_args})
            contexts.append(context)
            return watch(context.new_page(), request.node)

        yield make
        _screenshot_on_failure(request.node)
        for context in contexts:
            context.close()

    def _file_name(item: pytest.Item) -> str:
        """test_checkout[chromium] -> test_checkout_chromium."""
        return re.sub(r"[^\w.-]+", "_", item.name).strip("_")

    def _screenshot_on_failure(item: pytest.Item) -> None:
        report = item.stash.get(REPORTS, {}).get("call")
        if report is None or not report.failed or item.stash.get(SCREENSHOTS_TAKEN, False):
            return
        item.stash[SCREENSHOTS_TAKEN] = True
        folder = Path(item.config.rootpath) / SCREENSHOT_DIR
        folder.mkdir(parents=True, exist_ok=True)
        name = _file_name(item)
        for index, shown in enumerate(item.stash.get(PAGES, [])):
            if shown.is_closed():
                continue
            path = folder / (f"{name}.png" if index == 0 else f"{name}-{index + 1}.png")
            try:
                shown.screenshot(path=str(path), full_page=True, timeout=ACTION_TIMEOUT_MS)
            except Exception as exc:  # a failed screenshot must not hide the test's own failure
                item.add_report_section("teardown", "screenshot", f"could not save {path}: {exc}")

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        item.stash.setdefault(REPORTS, {})[report.when] = report
        errors = item.stash.get(BROWSER_ERRORS, [])
        if report.when == "call" and errors:
            report.sections.append(("browser console", "\n".join(errors)))
        if report.when == "call" and report.failed:
            report.sections.append(("screenshots", f"{SCREENSHOT_DIR}/{_file_name(item)}*.png"))
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
        started = time.monotonic()
        result = yield
        errors = item.stash.get(BROWSER_ERRORS, [])
        if errors:
            pytest.fail("the browser reported errors:\n  " + "\n  ".join(errors), pytrace=False)
        elapsed = time.monotonic() - started
        if elapsed > TEST_BUDGET_S:
            pytest.fail(f"the test took {elapsed:.0f} s (budget {TEST_BUDGET_S:.0f} s)", pytrace=False)
        return result

    def pytest_sessionstart(session: pytest.Session) -> None:
        # Screenshots of an earlier run would be mistaken for this run's failures.
        shutil.rmtree(Path(session.config.rootpath) / SCREENSHOT_DIR, ignore_errors=True)

    # ---------------------------------------------------------------- users and the API

    @dataclass(frozen=True)
    class User:
        """A confirmed user of the stack's pool, with a fresh ID token for API calls."""

        email: str
        password: str
        token: str

        @property
        def sub(self) -> str:
            return str(jwt.decode(self.token, options={"verify_signature": False})["sub"])

    class Api:
        """A small client of the stack's API (the tests' view of the truth)."""

        def __init__(self, base: str) -> None:
            self.base = base
            self.http = requests.Session()

        def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
            headers = dict(kwargs.pop("headers", None) or {})
            if token:
                headers["Authorization"] = token
            return self.http.request(method, self.base + path, headers=headers, timeout=10, **kwargs)

        def ok(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
            response = self.call(method, path, token, **kwargs)
            assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
            return response.json() if response.content else None

    @pytest.fixture(scope="session")
    def api(stack: Stack) -> Api:
        return Api(stack.api_url)

    @pytest.fixture(scope="session")
    def admin(stack: Stack) -> User:
        email, password = stack.admin
        token = cognito.sign_in(stack.user_pool.endpoint, stack.user_pool.client_id, email, password).id_token
        return User(email, password, token)

    @pytest.fixture
    def make_user(stack: Stack) -> Callable[[], User]:
        """A new confirmed shopper (made through the pool's admin API: fast; sign-up itself has its own test)."""

        def make() -> User:
            email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
            tokens = cognito.register_user(stack.user_pool, email, PASSWORD)
            return User(email, PASSWORD, tokens.id_token)

        return make

    @pytest.fixture
    def make_book(api: Api, admin: User) -> Callable[..., dict[str, Any]]:
        """A new book (as the admin, through the API) in a category of its own unless told otherwise."""

        def make(**overrides: Any) -> dict[str, Any]:
            token = uuid.uuid4().hex[:6]
            body = {
                "title": f"Test Volume {token}",
                "author": "E. T. Tester",
                "category": f"Shelf {token}",
                "price": "12.50",
                "stock": 5,
                "description": "A book made by an end-to-end test.",
                "isbn": "978-0-306-40615-7",
            } | overrides
            book: dict[str, Any] = api.ok("POST", "/books", admin.token, json=body)
            return book

        return make

    def _sign_in(page: Page, user: User, next_hash: str = "#/") -> None:
        page.goto(f"/#/signin?next={quote(next_hash, safe='')}")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password", exact=True).fill(user.password)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("button", name="Sign out")).to_be_attached()

    @pytest.fixture(scope="session")
    def sign_in() -> Callable[..., None]:
        """``sign_in(page, user, next_hash)``: through the storefront's own form, waiting until it is done."""
        return _sign_in

    @pytest.fixture(scope="session")
    def session_token() -> Callable[[Page], str]:
        """The ID token the storefront holds for the signed-in shopper (what it sends to the API)."""

        def read(page: Page) -> str:
            token: str = page.evaluate("JSON.parse(sessionStorage.getItem('cloudshelf.session')).idToken")
            return token

        return read
