"""Admin pages: the admin adds a book that shoppers then find; nobody else gets in."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect


@pytest.mark.allow_console_errors(r"status of 422")
def test_admin_adds_a_book_and_a_shopper_finds_it_by_search(page: Page, admin, new_page, sign_in, api) -> None:
    word = f"quill{uuid.uuid4().hex[:6]}"
    title = f"The Lantern Keeper {word}"

    # Given the admin on the admin pages
    sign_in(page, admin, "#/admin")
    expect(page.get_by_role("heading", name="Manage books")).to_be_visible()
    page.get_by_role("link", name="+ Add a book").click()
    expect(page.get_by_role("heading", name="Add a book")).to_be_focused()

    # When they submit a book the server refuses (bad ISBN, zero price)
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Author", exact=True).fill("Mira Holt")
    page.get_by_label("Category").fill(f"Lanterns {word}")
    page.get_by_label("ISBN").fill("978-0-306-40615-0")
    page.get_by_label("Price").fill("0")
    page.get_by_label("Stock").fill("7")
    page.get_by_role("button", name="Add book").click()

    # Then the server's validation errors are shown next to their fields
    isbn = page.get_by_label("ISBN")
    expect(isbn).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-field='isbn'] .field-error")).to_contain_text("ISBN must be a valid ISBN-10 or ISBN-13")
    expect(page.locator("[data-field='price'] .field-error")).to_contain_text("greater than zero")
    expect(page.get_by_label("Title", exact=True)).not_to_have_attribute("aria-invalid", "true")
    expect(isbn).to_be_focused()

    # When they fix them and submit again
    isbn.fill("978-0-306-40615-7")
    page.get_by_label("Price").fill("14.25")
    page.get_by_role("button", name="Add book").click()
    expect(page.get_by_role("heading", name="Manage books")).to_be_visible()
    expect(page.get_by_text(f"“{title}” is now in the catalog.")).to_be_visible()

    # Then a shopper (signed out, in another browser) finds it by search
    shopper = new_page()
    shopper.goto("/")
    shopper.get_by_role("searchbox", name="Search books by title or author").fill(word)
    expect(shopper.get_by_role("heading", name=f"Results for “{word}”")).to_be_visible()
    shopper.get_by_role("link", name=title).click()
    expect(shopper.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(shopper.get_by_text("$14.25")).to_be_visible()
    expect(shopper.get_by_text("In stock", exact=True)).to_be_visible()
    found = api.ok("GET", f"/books?q={word}")["items"]
    assert [b["title"] for b in found] == [title]


def test_admin_changes_stock_from_the_catalog_table(page: Page, admin, make_book, sign_in, api) -> None:
    # Given a book with 5 copies
    book = make_book(stock=5)
    sign_in(page, admin, f"#/admin?q={book['title'].split()[-1]}")
    expect(page.get_by_role("heading", name="Manage books")).to_be_visible()

    # When the admin sets its stock to 0
    page.get_by_label(f"Stock of {book['title']}").fill("0")
    page.get_by_role("row", name=book["title"]).get_by_role("button", name="Update").click()

    # Then the store shows it out of stock and it can't be added to a cart
    expect(page.get_by_role("row", name=book["title"]).get_by_text("Saved")).to_be_visible()
    assert api.ok("GET", f"/books/{book['bookId']}")["stock"] == 0
    page.get_by_role("row", name=book["title"]).get_by_role("link", name=f"View {book['title']} in the store").click()
    expect(page.get_by_text("Out of stock", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Out of stock")).to_be_disabled()


def test_a_shopper_never_sees_admin_pages_and_the_api_refuses_them(
    page: Page, make_user, sign_in, session_token, api, base_url
) -> None:
    # Given a signed-out visitor: the admin pages ask them to sign in
    page.goto("/#/admin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    # Given a signed-in shopper (not in group admin)
    shopper = make_user()
    sign_in(page, shopper)
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)

    # When they go to the admin pages anyway
    for hash_ in ("#/admin", "#/admin/books/new", "#/admin/books/emma"):
        page.goto(f"/{hash_}")
        # Then they are told they are not allowed, and no admin form is shown
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        expect(page.get_by_role("button", name="Add book")).to_have_count(0)

    # And the API refuses their own token too
    token = session_token(page)
    headers = {"Authorization": token, "Content-Type": "application/json"}
    book = {
        "title": "Nope",
        "author": "Nobody",
        "category": "Fiction",
        "price": "1.00",
        "stock": 1,
        "isbn": "978-0-306-40615-7",
    }
    created = page.request.post(f"{base_url}/api/books", headers=headers, data=book)
    assert created.status == 403, created.text()
    assert created.json()["error"]["code"] == "FORBIDDEN"
    replaced = page.request.put(f"{base_url}/api/books/emma", headers=headers, data=book)
    assert replaced.status == 403
    deleted = page.request.delete(f"{base_url}/api/books/emma", headers=headers)
    assert deleted.status == 403
    assert api.ok("GET", "/books/emma")["title"] == "Emma"


def test_admin_edits_then_deletes_a_book(page: Page, admin, make_book, sign_in, api) -> None:
    # Given a book, opened in the admin's edit form
    book = make_book(stock=2)
    sign_in(page, admin, f"#/admin/books/{book['bookId']}")
    expect(page.get_by_role("heading", name=f"Edit “{book['title']}”")).to_be_visible()

    # When the admin changes its title and price
    page.get_by_label("Title", exact=True).fill(f"{book['title']} (revised)")
    page.get_by_label("Price").fill("19.00")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text(f"“{book['title']} (revised)” is saved.")).to_be_visible()
    saved = api.ok("GET", f"/books/{book['bookId']}")
    assert (saved["title"], saved["price"], saved["stock"]) == (f"{book['title']} (revised)", "19.00", 2)

    # When they delete it from the catalog table, confirming in the dialog
    page.goto(f"/#/admin?q={book['title'].split()[-1]}")
    page.get_by_role("button", name=f"Delete {book['title']} (revised)").click()
    dialog = page.get_by_role("dialog", name="Delete this book?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Delete book").click()

    # Then it is gone from the table and from the store
    expect(page.get_by_text("was deleted.")).to_be_visible()
    expect(page.get_by_role("row", name=book["title"])).to_have_count(0)
    assert api.call("GET", f"/books/{book['bookId']}").status_code == 404


@pytest.mark.allow_console_errors(r"status of 412")
def test_an_admin_save_never_undoes_a_sale_it_did_not_see(
    page: Page, admin, make_book, make_user, sign_in, api
) -> None:
    # Given a book with 5 copies, opened in the admin's edit form
    book = make_book(title=f"The Tiem Machine {uuid.uuid4().hex[:6]}", stock=5)
    sign_in(page, admin, f"#/admin/books/{book['bookId']}")
    expect(page.get_by_role("heading", name=f"Edit “{book['title']}”")).to_be_visible()
    expect(page.get_by_label("Stock")).to_have_value("5")

    # And meanwhile a shopper buys 3 copies (through the API)
    shopper = make_user()
    api.ok("PUT", f"/cart/items/{book['bookId']}", shopper.token, json={"quantity": 3})
    api.ok("POST", "/orders", shopper.token, headers={"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"})
    assert api.ok("GET", f"/books/{book['bookId']}")["stock"] == 2

    # When the admin fixes the typo in the title and saves the form they opened
    fixed = book["title"].replace("Tiem", "Time")
    page.get_by_label("Title", exact=True).fill(fixed)
    page.get_by_role("button", name="Save changes").click()

    # Then the conflict is shown with the current stock, and nothing was saved
    alert = page.get_by_role("alert").filter(has_text="changed meanwhile")
    expect(alert).to_contain_text("This book was changed meanwhile (stock now 2), so your changes were not saved.")
    expect(alert).to_contain_text("Changed by someone else: Stock.")
    expect(alert).to_be_focused()
    stored = api.ok("GET", f"/books/{book['bookId']}")
    assert (stored["stock"], stored["title"]) == (2, book["title"])
    # And the form shows the current stock (noted next to the field) and keeps the admin's own edit
    expect(page.get_by_label("Stock")).to_have_value("2")
    expect(page.locator("[data-field='stock'] .field-note")).to_contain_text("Changed meanwhile: now “2” (was “5”).")
    expect(page.get_by_label("Title", exact=True)).to_have_value(fixed)

    # When they save again / Then the fix is saved and the sale kept: 2 copies, never 5
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text(f"“{fixed}” is saved.")).to_be_visible()
    saved = api.ok("GET", f"/books/{book['bookId']}")
    assert (saved["title"], saved["stock"], saved["version"]) == (fixed, 2, stored["version"] + 1)


@pytest.mark.allow_console_errors(r"status of 412")
def test_a_stale_stock_update_from_the_catalog_table_is_refused(
    page: Page, admin, make_book, make_user, sign_in, api
) -> None:
    # Given the catalog table showing a book with 5 copies
    book = make_book(stock=5)
    sign_in(page, admin, f"#/admin?q={book['title'].split()[-1]}")
    row = page.get_by_role("row", name=book["title"])
    expect(row.get_by_label(f"Stock of {book['title']}")).to_have_value("5")

    # And meanwhile a shopper buys 3 copies
    shopper = make_user()
    api.ok("PUT", f"/cart/items/{book['bookId']}", shopper.token, json={"quantity": 3})
    api.ok("POST", "/orders", shopper.token, headers={"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"})

    # When the admin sets the stock to 10 from the (stale) table
    row.get_by_label(f"Stock of {book['title']}").fill("10")
    row.get_by_role("button", name="Update").click()

    # Then it is refused, the current stock is shown, and the sale stands
    expect(row.get_by_text("Not saved: changed meanwhile, stock is now 2 (you entered 10)")).to_be_visible()
    expect(row.get_by_label(f"Stock of {book['title']}")).to_have_value("2")
    assert api.ok("GET", f"/books/{book['bookId']}")["stock"] == 2

    # When they enter 10 again on the current values / Then it is saved
    row.get_by_label(f"Stock of {book['title']}").fill("10")
    row.get_by_role("button", name="Update").click()
    expect(row.get_by_text("Saved", exact=True)).to_be_visible()
    assert api.ok("GET", f"/books/{book['bookId']}")["stock"] == 10
