"""Checkout in the browser: one order per attempt, whatever the clicks and the network do."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, Request, Route, expect

PLACE_ORDER = re.compile(r"^Place order")


def order_posts(page: Page) -> list[Request]:
    """Record every POST /orders the page sends."""
    seen: list[Request] = []
    page.on("request", lambda r: seen.append(r) if r.method == "POST" and r.url.endswith("/api/orders") else None)
    return seen


def test_double_click_on_place_order_places_one_order(page: Page, api, make_user, make_book, sign_in) -> None:
    # Given a shopper with a book in the cart, on the review step
    book = make_book(stock=5)
    shopper = make_user()
    api.ok("PUT", f"/cart/items/{book['bookId']}", shopper.token, json={"quantity": 2})
    sign_in(page, shopper, "#/checkout")
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    posts = order_posts(page)

    # When they double-click "Place order"
    page.get_by_role("button", name=PLACE_ORDER).dblclick()

    # Then exactly one order exists, and every request carried the same Idempotency-Key
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    orders = api.ok("GET", "/orders", shopper.token)["items"]
    assert len(orders) == 1
    assert orders[0]["items"][0]["quantity"] == 2
    keys = {r.headers.get("idempotency-key") for r in posts}
    assert posts
    assert len(keys) == 1
    assert None not in keys
    assert api.ok("GET", f"/books/{book['bookId']}")["stock"] == 3


@pytest.mark.allow_console_errors(r"net::ERR_FAILED")
def test_retry_after_a_lost_answer_reuses_the_key_and_places_one_order(
    page: Page, api, make_user, make_book, sign_in
) -> None:
    # Given a shopper on the review step, and a network that loses the first answer to POST /orders
    book = make_book(stock=4)
    shopper = make_user()
    api.ok("PUT", f"/cart/items/{book['bookId']}", shopper.token, json={"quantity": 1})
    sign_in(page, shopper, "#/checkout")
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    posts = order_posts(page)
    lost: list[int] = []

    def lose_first_answer(route: Route) -> None:
        if route.request.method == "POST" and not lost:
            route.fetch()  # the order reaches the store...
            lost.append(1)
            route.abort("failed")  # ...but the answer never reaches the browser
        else:
            route.continue_()

    page.route("**/api/orders", lose_first_answer)

    # When they place the order, see that it could not be confirmed, and try again
    page.get_by_role("button", name=PLACE_ORDER).click()
    expect(page.get_by_text("We could not confirm your order.")).to_be_visible()
    page.get_by_role("button", name="Try again").click()

    # Then the retry returns the one order that was placed
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    orders = api.ok("GET", "/orders", shopper.token)["items"]
    assert len(orders) == 1
    assert len(posts) == 2
    assert posts[0].headers["idempotency-key"] == posts[1].headers["idempotency-key"]
    assert api.ok("GET", f"/books/{book['bookId']}")["stock"] == 3


@pytest.mark.allow_console_errors(r"status of 409")
def test_out_of_stock_at_checkout_names_the_book_and_changes_nothing(
    page: Page, api, admin, make_user, make_book, sign_in
) -> None:
    # Given a shopper who put 2 copies of a book in the cart through the store
    book = make_book(stock=3)
    shopper = make_user()
    sign_in(page, shopper, f"#/book/{book['bookId']}")
    expect(page.get_by_role("heading", name=book["title"], level=1)).to_be_visible()
    expect(page.get_by_text("Only 3 left")).to_be_visible()
    page.get_by_label("Quantity").select_option("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("[data-cart-badge]")).to_have_text("2")
    page.get_by_role("link", name=re.compile(r"^Cart")).click()
    page.get_by_role("link", name="Checkout").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()

    # When the stock drops to 1 while they review, and they place the order
    _admin_update(api, admin, book["bookId"], stock=1)
    page.get_by_role("button", name=PLACE_ORDER).click()

    # Then the store names the book and what is left, and nothing changed
    alert = page.get_by_role("alert").filter(has_text="does not have enough stock")
    expect(alert).to_contain_text(f"Sorry, “{book['title']}” does not have enough stock.")
    expect(alert).to_contain_text("you asked for 2, only 1 left")
    expect(alert).to_contain_text("Nothing was ordered")
    expect(page.get_by_role("button", name=PLACE_ORDER)).to_be_enabled()
    assert api.ok("GET", "/orders", shopper.token)["items"] == []
    cart = api.ok("GET", "/cart", shopper.token)
    assert [(line["bookId"], line["quantity"]) for line in cart["items"]] == [(book["bookId"], 2)]
    assert api.ok("GET", f"/books/{book['bookId']}")["stock"] == 1


def _admin_update(api, admin, book_id: str, **changes: Any) -> None:
    """The admin changes a book, sending the version it read (optimistic, as the admin page does)."""
    current = api.ok("GET", f"/books/{book_id}")
    fields = ("title", "author", "category", "price", "stock", "description", "isbn", "imageUrl")
    body = {k: current[k] for k in fields} | changes
    api.ok("PUT", f"/books/{book_id}", admin.token, json=body, headers={"If-Match": f'"{current.get("version", 1)}"'})


@pytest.mark.allow_console_errors(r"status of 409")
def test_a_price_rise_during_review_is_shown_and_never_charged_silently(
    page: Page, api, admin, make_user, make_book, sign_in
) -> None:
    # Given a shopper reviewing an order of 2 copies at 10.00
    book = make_book(stock=5, price="10.00")
    shopper = make_user()
    api.ok("PUT", f"/cart/items/{book['bookId']}", shopper.token, json={"quantity": 2})
    sign_in(page, shopper, "#/checkout")
    expect(page.get_by_role("button", name=PLACE_ORDER)).to_contain_text("20.00")
    posts = order_posts(page)

    # When the price rises to 12.50 and they press "Place order" for the total shown
    _admin_update(api, admin, book["bookId"], price="12.50")
    page.get_by_role("button", name=PLACE_ORDER).click()

    # Then nothing is ordered, and the review shows the new total and says so
    expect(page.locator("[data-price-changed]")).to_contain_text("The total is now")
    expect(page.locator("[data-price-changed]")).to_contain_text("25.00")
    expect(page.get_by_role("button", name=PLACE_ORDER)).to_contain_text("25.00")
    assert api.ok("GET", "/orders", shopper.token)["items"] == []
    assert posts[0].post_data_json["expectedTotal"] == "20.00"

    # And placing it again agrees to (and charges) the new total
    page.get_by_role("button", name=PLACE_ORDER).click()
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    orders = api.ok("GET", "/orders", shopper.token)["items"]
    assert [o["total"] for o in orders] == ["25.00"]
    assert posts[-1].post_data_json["expectedTotal"] == "25.00"


@pytest.mark.allow_console_errors(r"status of 409")
def test_a_book_deleted_while_in_the_cart_is_shown_unavailable_and_removed_in_one_click(
    page: Page, api, admin, make_user, make_book, sign_in
) -> None:
    # Given a cart with two books, one of which the admin then deletes
    kept, gone = make_book(stock=5), make_book(stock=5)
    shopper = make_user()
    for book in (kept, gone):
        api.ok("PUT", f"/cart/items/{book['bookId']}", shopper.token, json={"quantity": 1})
    version = api.ok("GET", f"/books/{gone['bookId']}").get("version", 1)
    api.ok("DELETE", f"/books/{gone['bookId']}", admin.token, headers={"If-Match": f'"{version}"'})

    # When the shopper opens the cart
    sign_in(page, shopper, "#/cart")

    # Then the deleted book is listed by title as no longer available, and checkout is blocked
    row = page.locator("[data-unavailable]")
    expect(row).to_contain_text(gone["title"])
    expect(row).to_contain_text("No longer available")
    expect(page.get_by_text("Some books are no longer sold.")).to_be_visible()

    # And one click removes it, after which the cart can be checked out
    row.get_by_role("button", name=f"Remove {gone['title']} from the cart").click()
    expect(page.locator("[data-unavailable]")).to_have_count(0)
    page.get_by_role("link", name="Checkout").click()
    page.get_by_role("button", name=PLACE_ORDER).click()
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    assert [line["bookId"] for line in api.ok("GET", "/orders", shopper.token)["items"][0]["items"]] == [kept["bookId"]]
