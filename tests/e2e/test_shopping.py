"""A new shopper, start to finish: sign up, confirm, sign in, browse, search, buy, see the order."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from playwright.sync_api import Page, Route, expect

from cloudshelf_dev.server import Stack

PASSWORD = "Reader-Pass-1234"


def badge(page: Page) -> object:
    return page.locator("[data-cart-badge]")


def test_new_shopper_signs_up_browses_searches_and_checks_out(page: Page, stack: Stack, api, session_token) -> None:
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"

    # Given a visitor on the home page
    page.goto("/")
    expect(page.get_by_role("heading", name="Find your next favourite book")).to_be_visible()

    # When they sign up and confirm with the e-mailed code
    page.get_by_role("link", name="Create account").click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    page.get_by_label("Your name").fill("Ada Reader")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Confirm your email")).to_be_visible()
    code = stack.proxy.mailbox.latest_code(email)
    assert code, "the local pool should have 'e-mailed' a code"
    page.get_by_label("Confirmation code").fill(code)
    page.get_by_role("button", name="Confirm").click()

    # Then they are signed in, on the home page, under their own name
    expect(page.get_by_role("heading", name="Find your next favourite book")).to_be_visible()
    expect(page.get_by_role("link", name="Hi, Ada")).to_be_attached()
    token = session_token(page)

    # When they browse a category: a page of books, then the next one
    page.get_by_role("link", name=re.compile(r"^Fiction \d+ books$")).click()
    expect(page.get_by_role("heading", name="Fiction", level=1)).to_be_focused()
    first_page = page.locator(".book-card-title").all_inner_texts()
    assert len(first_page) == 8
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text(re.compile(r"Page 2 of \d"))).to_be_visible()
    second_page = page.locator(".book-card-title").all_inner_texts()
    assert second_page
    assert not set(second_page) & set(first_page)
    page.get_by_role("link", name="Previous").click()
    expect(page.locator(".book-card-title").first).to_have_text(first_page[0])

    # When they search as they type and open a result
    search = page.get_by_role("searchbox", name="Search books by title or author")
    search.press_sequentially("time mach", delay=30)
    expect(page.get_by_role("heading", name="Results for “time mach”")).to_be_visible()
    expect(search).to_be_focused()  # results update in place: the box keeps focus
    page.get_by_role("link", name="The Time Machine", exact=True).click()
    expect(page.get_by_role("heading", name="The Time Machine", level=1)).to_be_focused()
    expect(page.get_by_text("In stock", exact=True)).to_be_visible()

    # And add two books to the cart
    page.get_by_role("button", name="Add to cart").click()
    expect(badge(page)).to_have_text("1")
    search.fill("sherlock")
    page.get_by_role("link", name="The Adventures of Sherlock Holmes").click()
    expect(page.get_by_role("heading", name="The Adventures of Sherlock Holmes", level=1)).to_be_visible()
    page.get_by_role("button", name="Add to cart").click()
    expect(badge(page)).to_have_text("2")

    # And change a quantity in the cart
    page.get_by_role("link", name=re.compile(r"^Cart")).click()
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    page.get_by_label("Quantity of The Time Machine").select_option("3")
    expect(badge(page)).to_have_text("4")
    expect(page.get_by_label("Quantity of The Time Machine")).to_be_focused()
    cart = api.ok("GET", "/cart", token)
    assert {line["bookId"]: line["quantity"] for line in cart["items"]} == {
        "the-time-machine": 3,
        "the-adventures-of-sherlock-holmes": 1,
    }
    expected_total = sum(Decimal(line["lineTotal"]) for line in cart["items"])
    assert Decimal(cart["total"]) == expected_total
    expect(page.locator("[data-cart-total]")).to_have_text(f"${cart['total']}")

    # When they check out: review, then place the order
    page.get_by_role("link", name="Checkout").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Place order")).click()

    # Then the order is confirmed, the cart is empty and the order is in the history
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    expect(badge(page)).to_be_hidden()
    orders = api.ok("GET", "/orders", token)["items"]
    assert len(orders) == 1
    number = orders[0]["orderId"][-8:]
    assert orders[0]["total"] == cart["total"]
    page.get_by_role("link", name="Orders", exact=True).click()
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()
    page.get_by_role("link", name=f"Order {number}").click()
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"The Time Machine.*\b3\b"))).to_be_visible()
    assert api.ok("GET", "/cart", token)["items"] == []


def test_the_cart_says_when_it_expired(page: Page, make_user, sign_in) -> None:
    # Given a shopper whose earlier cart expired (the API says so with "expired": true)
    shopper = make_user()

    def mark_expired(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        route.fulfill(response=response, json={**body, "items": [], "expired": True})

    page.route("**/api/cart", mark_expired)
    sign_in(page, shopper, "#/cart")

    # Then the cart page explains what happened and offers a way on
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    expect(page.get_by_text("Your previous cart expired.")).to_be_visible()
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(page.get_by_role("link", name="Browse books")).to_be_visible()
