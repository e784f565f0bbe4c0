// Checkout: review the cart, then place the order. One Idempotency-Key per attempt: the
// key is made for (this cart, this note) and reused on every retry of that attempt, so a
// double click, a lost answer or a reload never places two orders.

import { ApiError, errorMessage, orders, profile } from '../api.js';
import { currentCart, loadCart, resetCart } from '../cart.js';
import { bookHref, emptyState, loadingBlock, notice, setBusy } from '../components.js';
import { announce, h, icon } from '../dom.js';
import { money, plural } from '../format.js';
import { navigate } from '../router.js';

const ATTEMPT_KEY = 'cloudshelf.checkoutAttempt';
const MAX_IN_PROGRESS_RETRIES = 5;

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** What the attempt is about: the cart's lines, the total agreed to and the note (the key is only reused for the same). */
function fingerprint(cart, note) {
  const lines = (cart?.items || []).map((l) => `${l.bookId}:${l.quantity}`).sort().join(',');
  return `${lines}|${cart?.total}|${note}`;
}

// Shown once at the top of the review page after it was rebuilt (e.g. prices changed).
let flash = null;

function loadAttempt() {
  try {
    return JSON.parse(sessionStorage.getItem(ATTEMPT_KEY) || 'null');
  } catch {
    return null;
  }
}

function storeAttempt(attempt) {
  try {
    if (attempt) sessionStorage.setItem(ATTEMPT_KEY, JSON.stringify(attempt));
    else sessionStorage.removeItem(ATTEMPT_KEY);
  } catch {
    // no storage: the attempt lives in memory only
  }
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** POST /orders with the attempt's key and the total the shopper agreed to; waits and retries
 * while the same key (or another tab's checkout of this cart) is still in flight. */
async function submit(attempt) {
  const body = { ...(attempt.note ? { note: attempt.note } : {}), ...(attempt.expectedTotal ? { expectedTotal: attempt.expectedTotal } : {}) };
  for (let tries = 0; ; tries += 1) {
    try {
      return await orders.place(attempt.key, body);
    } catch (error) {
      const inProgress = error instanceof ApiError && ['IDEMPOTENCY_IN_PROGRESS', 'CHECKOUT_PENDING'].includes(error.code);
      if (!inProgress || tries >= MAX_IN_PROGRESS_RETRIES) throw error;
      await sleep(Math.min(5, Math.max(1, error.retryAfter || 1)) * 1000);
    }
  }
}

function outOfStockMessage(error) {
  const short = error.details?.books || [];
  return notice('error',
    h('p', null, h('strong', null, short.length === 1
      ? `Sorry, “${short[0].title}” does not have enough stock.`
      : 'Sorry, some books do not have enough stock.')),
    short.length ? h('ul', { class: 'short-list' }, short.map((b) => h('li', null,
      h('a', { href: bookHref(b.bookId) }, b.title), ': ',
      b.available > 0 ? `you asked for ${b.requested}, only ${b.available} left.` : `out of stock (you asked for ${b.requested}).`))) : null,
    h('p', null, 'Nothing was ordered and you have not been charged. ',
      h('a', { href: '#/cart' }, 'Update your cart'), ' and place the order again.'));
}

function unavailableMessage(books) {
  return notice('error',
    h('p', null, h('strong', null, books.length === 1
      ? `“${books[0].title || 'A book in your cart'}” is no longer sold.`
      : 'Some books in your cart are no longer sold.')),
    books.length > 1 ? h('ul', { class: 'short-list' }, books.map((b) => h('li', null, b.title || b.bookId))) : null,
    h('p', null, 'Nothing was ordered. ', h('a', { href: '#/cart' }, 'Remove it from your cart'), ' to check out.'));
}

export async function checkoutView(ctx, view) {
  ctx.setTitle('Checkout');
  const [, me] = await Promise.all([loadCart(), profile.get().catch(() => null)]);
  const cart = currentCart();
  const heading = h('h1', null, 'Review your order');
  view.append(
    h('ol', { class: 'steps', 'aria-label': 'Checkout steps' },
      h('li', { class: 'done' }, h('a', { href: '#/cart' }, 'Cart')),
      h('li', { class: 'current', 'aria-current': 'step' }, 'Review'),
      h('li', null, 'Confirmation')),
    h('header', { class: 'page-header' }, heading));

  if (flash) {
    view.append(flash);
    flash = null;
  }
  let attempt = loadAttempt();
  const items = cart?.items || [];

  if (!items.length) {
    if (attempt) {
      // An earlier attempt's outcome is unknown (the answer was lost): ask again with its key.
      view.append(loadingBlock('Checking your last order…'));
      try {
        const order = await submit(attempt);
        storeAttempt(null);
        navigate(`#/orders/${encodeURIComponent(order.orderId)}?placed=1`, { replace: true });
        return;
      } catch {
        storeAttempt(null);
        view.querySelector('.loading')?.remove();
      }
    }
    view.append(emptyState('Your cart is empty.', 'Add a book or two before checking out.',
      h('a', { class: 'button button-primary', href: '#/' }, 'Browse books')));
    return;
  }

  const alertBox = h('div', { class: 'checkout-alert' });
  if (cart.unavailable?.length) alertBox.append(unavailableMessage(cart.unavailable));
  const noteInput = h('textarea', { id: 'order-note', name: 'note', rows: 3, maxlength: 500, 'aria-describedby': 'order-note-hint' });
  if (attempt?.note) noteInput.value = attempt.note;
  const count = items.reduce((sum, l) => sum + l.quantity, 0);
  const placeButton = h('button', { type: 'submit', class: 'button button-primary button-large button-block' },
    `Place order · ${money(cart.total, cart.currency)}`);

  const address = me?.address;
  const shipTo = h('section', { class: 'panel', 'aria-labelledby': 'ship-title' },
    h('h2', { id: 'ship-title' }, 'Deliver to'),
    address
      ? h('address', null, me.displayName, h('br'), address.line1, address.line2 ? [h('br'), address.line2] : null,
        h('br'), `${address.postalCode} ${address.city}`, h('br'), address.country)
      : h('p', { class: 'muted' }, 'No delivery address on your profile yet.'),
    h('p', null, h('a', { href: '#/profile' }, address ? 'Change address' : 'Add an address')));

  const review = h('section', { class: 'panel', 'aria-labelledby': 'items-title' },
    h('h2', { id: 'items-title' }, plural(count, 'item')),
    h('table', { class: 'order-table' },
      h('caption', { class: 'visually-hidden' }, 'Books in this order'),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Book'), h('th', { scope: 'col', class: 'num' }, 'Qty'),
        h('th', { scope: 'col', class: 'num' }, 'Price'), h('th', { scope: 'col', class: 'num' }, 'Total'))),
      h('tbody', null, items.map((l) => h('tr', null,
        h('td', null, h('a', { href: bookHref(l.bookId) }, l.title), h('span', { class: 'muted block small' }, l.author),
          l.quantity > l.available ? h('span', { class: 'warning-text block small' }, l.available > 0 ? `Only ${l.available} left` : 'Out of stock') : null),
        h('td', { class: 'num' }, String(l.quantity)),
        h('td', { class: 'num' }, money(l.unitPrice)),
        h('td', { class: 'num' }, money(l.lineTotal))))),
      h('tfoot', null, h('tr', null,
        h('th', { scope: 'row', colspan: 3 }, 'Total'),
        h('td', { class: 'num grand' }, money(cart.total, cart.currency))))),
    h('p', null, h('a', { href: '#/cart' }, 'Edit cart')));

  const form = h('form', { class: 'checkout-form', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'order-note' }, 'Note for this order (optional)'),
      h('p', { class: 'hint', id: 'order-note-hint' }, 'A gift message or delivery instructions, up to 500 characters.'),
      noteInput),
    alertBox,
    placeButton,
    h('p', { class: 'muted small center' }, 'By placing the order you agree to pay the total shown. Stock is checked when you place it.'));

  let inFlight = false;
  let placed = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (inFlight) return; // a second click while the first is on its way does nothing
    inFlight = true;
    setBusy(placeButton, true, 'Placing your order…');
    alertBox.replaceChildren();
    const note = noteInput.value.trim();
    const print = fingerprint(currentCart(), note);
    if (!attempt || attempt.fingerprint !== print) {
      attempt = { key: newKey(), note, expectedTotal: currentCart()?.total, fingerprint: print };
    }
    storeAttempt(attempt);
    try {
      const order = await submit(attempt);
      storeAttempt(null);
      attempt = null;
      placed = true; // keep the button disabled until the confirmation page replaces it
      resetCart({ ...currentCart(), items: [], total: '0.00' });
      navigate(`#/orders/${encodeURIComponent(order.orderId)}?placed=1`);
      return;
    } catch (error) {
      const code = error instanceof ApiError ? error.code : '';
      const definitive = ['OUT_OF_STOCK', 'CART_EMPTY', 'VALIDATION_ERROR', 'IDEMPOTENCY_CONFLICT', 'LIMIT_EXCEEDED',
        'PRICE_CHANGED', 'BOOK_UNAVAILABLE'].includes(code)
        || (error instanceof ApiError && error.status === 422);
      if (definitive) {
        storeAttempt(null); // that attempt is over: the next one gets a new key
        attempt = null;
      }
      if (error instanceof ApiError && error.status === 401) return; // the app asks to sign in again
      if (code === 'PRICE_CHANGED') {
        // Nothing was ordered: show the review again with the new prices and say what changed.
        const { expectedTotal, total, cart: now } = error.details || {};
        if (now) resetCart(now);
        flash = notice('error', h('p', null, h('strong', null, 'Prices changed since you reviewed your order. ')),
          h('p', { dataset: { priceChanged: '' } }, `The total is now ${money(total, now?.currency)} (it was ${money(expectedTotal, now?.currency)}). `,
            'Nothing was ordered. Review the order and place it again to agree to the new total.'));
        announce(`Prices changed. The total is now ${money(total, now?.currency)}. Nothing was ordered.`);
        view.replaceChildren();
        await checkoutView(ctx, view);
        return;
      }
      if (code === 'BOOK_UNAVAILABLE') {
        alertBox.replaceChildren(unavailableMessage(error.details?.books || []));
        announce('Some books are no longer sold. Nothing was ordered.');
      } else if (code === 'OUT_OF_STOCK') {
        alertBox.replaceChildren(outOfStockMessage(error));
        announce('Not enough stock. Nothing was ordered.');
      } else if (code === 'CART_EMPTY') {
        alertBox.replaceChildren(notice('error', h('p', null, 'Your cart is empty now (was the order placed in another tab?). '),
          h('p', null, h('a', { href: '#/orders' }, 'See your orders'))));
      } else if (definitive) {
        alertBox.replaceChildren(notice('error', h('p', null, errorMessage(error))));
      } else {
        alertBox.replaceChildren(notice('error',
          h('p', null, h('strong', null, 'We could not confirm your order. ')),
          h('p', null, `${errorMessage(error)} Trying again is safe: you will not be charged twice.`)));
        placeButton.dataset.label = 'Try again';
      }
      alertBox.setAttribute('tabindex', '-1');
      alertBox.focus();
    } finally {
      inFlight = false;
      if (!placed) setBusy(placeButton, false);
    }
  });

  view.append(h('div', { class: 'checkout-layout' },
    h('div', { class: 'checkout-main' }, review, shipTo),
    h('aside', { class: 'checkout-side panel', 'aria-label': 'Place your order' },
      h('h2', null, icon('lock'), ' Payment'),
      h('p', { class: 'muted small' }, 'You pay on delivery in this demo store.'),
      h('dl', { class: 'totals' },
        h('dt', { class: 'grand' }, 'Order total'), h('dd', { class: 'grand' }, money(cart.total, cart.currency))),
      form)));
}
