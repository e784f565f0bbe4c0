"""Sessions that end, keyboards, phones: the storefront stays usable and says what happened."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.mark.allow_console_errors(r"status of 401", r"status of 400")
def test_an_expired_session_asks_to_sign_in_again(page: Page, make_user, sign_in) -> None:
    # Given a signed-in shopper whose tokens are no longer accepted (revoked, or expired)
    shopper = make_user()
    sign_in(page, shopper)
    page.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem('cloudshelf.session'));
            const [h, p] = s.idToken.split('.');
            s.idToken = `${h}.${p}.bm90LWEtc2lnbmF0dXJl`;  // the API refuses it: 401
            s.refreshToken = 'revoked-refresh-token';        // and Cognito won't refresh it
            sessionStorage.setItem('cloudshelf.session', JSON.stringify(s));
        }"""
    )
    page.reload()

    # When they open their cart
    page.goto("/#/cart")

    # Then they are sent to sign in, told why, and come back to the cart afterwards
    expect(page.get_by_text("Your session expired.")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(shopper.email)
    page.get_by_label("Password", exact=True).fill(shopper.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()


def test_keyboard_focus_follows_route_changes(page: Page) -> None:
    # Given the home page, used with the keyboard only
    page.goto("/")
    expect(page.get_by_role("heading", name="Find your next favourite book")).to_be_visible()

    # The skip link is the first stop and jumps to the content
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # When a category is opened from the keyboard, focus moves to the new page's heading
    page.get_by_role("link", name="Poetry").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Poetry", level=1)).to_be_focused()
    assert page.title() == "Poetry · CloudShelf"

    # And a book card opens with Enter too
    page.locator(".book-card a").first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(
        page.get_by_role("button", name="Add to cart").or_(page.get_by_role("button", name="Out of stock"))
    ).to_be_visible()


def test_phone_layout_menu_and_book_page(new_page) -> None:
    # Given a phone-sized screen
    phone = new_page(**PHONE)
    phone.goto("/")
    expect(phone.get_by_role("heading", name="Find your next favourite book")).to_be_visible()

    # The navigation is folded behind a menu button that opens and closes
    menu = phone.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(phone.get_by_role("link", name="Sign in")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(phone.get_by_role("link", name="Sign in")).to_be_visible()
    phone.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")

    # The search box and the cart stay on screen; pages fit the width
    expect(phone.get_by_role("searchbox", name="Search books by title or author")).to_be_visible()
    expect(phone.get_by_role("link", name="Cart, empty")).to_be_visible()
    phone.goto("/#/book/emma")
    expect(phone.get_by_role("heading", name="Emma", level=1)).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px wide)"


def test_an_expired_id_token_is_refreshed_without_asking(page: Page, make_user, sign_in) -> None:
    # Given a shopper whose ID token has expired while the tab was in the background
    shopper = make_user()
    sign_in(page, shopper)
    old = page.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem('cloudshelf.session'));
            const [h, p, sig] = s.idToken.split('.');
            const claims = JSON.parse(atob(p.replace(/-/g, '+').replace(/_/g, '/')));
            claims.exp = Math.floor(Date.now() / 1000) - 60;
            const b64 = btoa(JSON.stringify(claims)).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
            s.idToken = `${h}.${b64}.${sig}`;
            sessionStorage.setItem('cloudshelf.session', JSON.stringify(s));
            return s.idToken;
        }"""
    )

    # When they come back and open their cart
    page.reload()
    page.goto("/#/cart")

    # Then the storefront refreshed the tokens (REFRESH_TOKEN_AUTH) and the cart opens
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    new = page.evaluate("JSON.parse(sessionStorage.getItem('cloudshelf.session')).idToken")
    assert new != old


@pytest.mark.allow_console_errors(r"status of 422")
def test_profile_saves_and_shows_server_errors_next_to_fields(page: Page, make_user, sign_in, api) -> None:
    # Given a signed-in shopper on their profile
    shopper = make_user()
    sign_in(page, shopper, "#/profile")
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()

    # When they enter only part of an address
    page.get_by_label("Name shown on your orders").fill("Grace Hopper")
    page.get_by_label("Address line 1").fill("1 Harbour Street")
    page.get_by_role("button", name="Save profile").click()

    # Then the server's errors appear next to the missing fields
    for label in ("City", "Postal code", "Country"):
        expect(page.get_by_label(label)).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-field='address.city'] .field-error")).to_be_visible()

    # When they complete it, it is saved
    page.get_by_label("Postal code").fill("10115")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Country").select_option("DE")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    expect(page.get_by_role("link", name="Hi, Grace")).to_be_attached()
    saved = api.ok("GET", "/users/me", shopper.token)
    assert saved["displayName"] == "Grace Hopper"
    assert saved["address"] == {
        "line1": "1 Harbour Street",
        "line2": "",
        "city": "Berlin",
        "postalCode": "10115",
        "country": "DE",
    }
