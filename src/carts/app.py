"""CartsFunction: the caller's own cart."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from cloudshelf.api.auth import CurrentCaller
from cloudshelf.api.deps import Books, Carts, Checkouts, Rules
from cloudshelf.api.resolver import create_app, lambda_entry, new_router, no_content
from cloudshelf.api.responses import SIGNED_IN, errors, ok
from cloudshelf.domain import carts
from cloudshelf.models.books import BOOK_ID_PATTERN
from cloudshelf.models.carts import MAX_CART_LINES, MAX_LINE_QUANTITY, Cart, QuantityInput

router = new_router()
BookId = Annotated[str, Path(pattern=BOOK_ID_PATTERN)]


@router.get("/cart", tags=["Cart"], summary="The caller's cart, priced now", responses={**ok(), **SIGNED_IN})
def get_cart(caller: CurrentCaller, cart_store: Carts, repo: Books, rules: Rules) -> Cart:
    return carts.view_cart(caller.user_id, cart_store, repo, rules)


@router.put(
    "/cart/items/<bookId>",
    tags=["Cart"],
    summary="Set how many copies of a book are in the cart",
    description=(
        f"Limits: 1 to {MAX_LINE_QUANTITY} copies of a book (`quantity`), at most {MAX_CART_LINES} different "
        "books in a cart (one more: 422 `LIMIT_EXCEEDED`, `details.maxLines`), never more than the stock "
        "(409 `OUT_OF_STOCK`). A deployment may set lower limits, never higher."
    ),
    responses={**ok(), **SIGNED_IN, **errors(404, 409, 413, 415)},
)
def put_item(
    bookId: BookId,  # noqa: N803 - the path parameter's name
    body: QuantityInput,
    caller: CurrentCaller,
    cart_store: Carts,
    repo: Books,
    rules: Rules,
    checkouts: Checkouts,
) -> Cart:
    return carts.set_quantity(caller.user_id, bookId, body.quantity, cart_store, repo, rules, checkouts=checkouts)


@router.delete(
    "/cart/items/<bookId>",
    tags=["Cart"],
    summary="Remove a book from the cart",
    responses={**ok(), **SIGNED_IN, **errors(404, 409)},
)
def delete_item(
    bookId: BookId,  # noqa: N803 - the path parameter's name
    caller: CurrentCaller,
    cart_store: Carts,
    repo: Books,
    rules: Rules,
    checkouts: Checkouts,
) -> Cart:
    return carts.remove_line(caller.user_id, bookId, cart_store, repo, rules, checkouts=checkouts)


@router.delete("/cart", tags=["Cart"], summary="Empty the cart", responses={**ok(204, "Emptied"), **SIGNED_IN})
def clear(caller: CurrentCaller, cart_store: Carts, repo: Books, rules: Rules, checkouts: Checkouts) -> Response[str]:
    carts.clear_cart(caller.user_id, cart_store, repo, rules, checkouts=checkouts)
    return no_content()


app = create_app(router)
lambda_handler = lambda_entry(app)
