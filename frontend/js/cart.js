// The signed-in shopper's cart as the server last described it, and the calls that change it.
// Quantities are the only thing the browser sends; prices and totals come from the server.

import { api } from './api.js';
import { setCurrency } from './format.js';

export const cartEvents = new EventTarget();
let cart = null;

function set(next) {
  cart = next;
  if (cart?.currency) setCurrency(cart.currency);
  cartEvents.dispatchEvent(new CustomEvent('change', { detail: cart }));
  return cart;
}

export function currentCart() {
  return cart;
}

/** How many copies are in the cart (the badge). */
export function itemCount() {
  return (cart?.items || []).reduce((sum, line) => sum + (Number(line.quantity) || 0), 0);
}

export async function loadCart() {
  return set(await api('/cart', { auth: true }));
}

export async function setQuantity(bookId, quantity) {
  return set(await api(`/cart/items/${encodeURIComponent(bookId)}`, {
    method: 'PUT', body: { quantity }, auth: true,
  }));
}

/** Add copies of a book to what is already in the cart. */
export async function addToCart(bookId, quantity = 1) {
  if (!cart) await loadCart();
  const existing = (cart?.items || []).find((line) => line.bookId === bookId);
  return setQuantity(bookId, (existing ? Number(existing.quantity) : 0) + quantity);
}

export async function removeLine(bookId) {
  return set(await api(`/cart/items/${encodeURIComponent(bookId)}`, { method: 'DELETE', auth: true }));
}

/** Forget the cart locally (signed out, or the order emptied it). */
export function resetCart(next = null) {
  set(next);
}
