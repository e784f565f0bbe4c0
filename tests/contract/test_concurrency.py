"""Concurrent checkouts through HTTP never oversell."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from contract_support import Api, User, error_code, idempotency_key

SHOPPERS = 20
STOCK = 5


def test_twenty_parallel_checkouts_of_five_copies(
    api: Api, make_shopper: Callable[[], User], new_book: Callable[..., dict[str, Any]]
) -> None:
    # Given a book with 5 in stock and 20 shoppers with 1 copy each in their carts
    book = new_book(stock=STOCK)
    shoppers = [make_shopper() for _ in range(SHOPPERS)]
    for shopper in shoppers:
        added = api.put(f"/cart/items/{book['bookId']}", shopper.token, json={"quantity": 1})
        assert added.status_code == 200, added.text

    def check_out(shopper: User) -> requests.Response:
        headers = {"Authorization": f"Bearer {shopper.token}", "Idempotency-Key": idempotency_key()}
        return requests.post(f"{api.base_url}/orders", headers=headers, timeout=60)

    # When all 20 check out at the same moment
    with ThreadPoolExecutor(max_workers=SHOPPERS) as pool:
        responses = list(pool.map(check_out, shoppers))
    # Then exactly 5 orders are placed and 15 are refused as out of stock
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: STOCK, 409: SHOPPERS - STOCK}, [r.text for r in responses]
    assert {error_code(r) for r in responses if r.status_code == 409} == {"OUT_OF_STOCK"}
    # And the stock is exactly 0, with one order per winner and a full cart per loser
    assert api.get(f"/books/{book['bookId']}").json()["stock"] == 0
    for shopper, response in zip(shoppers, responses, strict=True):
        orders = api.get("/orders", shopper.token).json()["items"]
        cart = api.get("/cart", shopper.token).json()["items"]
        if response.status_code == 201:
            assert [o["orderId"] for o in orders] == [response.json()["orderId"]]
            assert cart == []
        else:
            assert orders == []
            assert [line["quantity"] for line in cart] == [1]
