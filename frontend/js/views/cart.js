// The cart: change quantities, remove lines, totals from the server, a note when it expired.

import { ApiError, errorMessage } from '../api.js';
import { currentCart, loadCart, removeLine, setQuantity } from '../cart.js';
import { bookHref, cover, emptyState, notice } from '../components.js';
import { announce, h, icon } from '../dom.js';
import { dateOnly, money, plural } from '../format.js';

const MAX_PER_LINE = 20;

function lineProblem(line) {
  if (line.available <= 0) return 'Out of stock now: remove it to check out.';
  if (line.quantity > line.available) return `Only ${line.available} left: lower the quantity to check out.`;
  return '';
}

export async function cartView(ctx, view) {
  ctx.setTitle('Your cart');
  await loadCart();
  const heading = h('h1', null, 'Your cart');
  const body = h('div', { class: 'cart-body' });
  view.append(h('header', { class: 'page-header' }, heading), body);

  function render(focusBookId = null) {
    const cart = currentCart();
    const items = cart?.items || [];
    const parts = [];
    if (cart?.expired) {
      parts.push(notice('info', h('p', null, h('strong', null, 'Your previous cart expired. '),
        'Carts are kept for a while after their last change; that one was emptied. The books are still in the catalog.')));
    }
    const gone = cart?.unavailable || [];
    if (cart?.checkoutPending) {
      parts.push(notice('info', h('p', null, h('strong', null, 'A checkout of this cart is being completed. '),
        'The cart can’t change until it is. ', h('a', { href: '#/orders' }, 'See your orders'),
        ' or ', h('a', { href: '#/checkout' }, 'finish the checkout'), '.')));
    }
    if (!items.length && !gone.length) {
      parts.push(emptyState('Your cart is empty.', 'Find something to read and add it here.',
        h('a', { class: 'button button-primary', href: '#/' }, 'Browse books')));
      body.replaceChildren(...parts);
      return;
    }
    const list = h('ul', { class: 'cart-lines', 'aria-label': 'Books in your cart' },
      items.map((line) => lineItem(line)), gone.map((line) => unavailableItem(line)));
    const blocked = items.some((line) => lineProblem(line)) || gone.length > 0;
    const count = items.reduce((sum, line) => sum + line.quantity, 0);
    const summary = h('aside', { class: 'cart-summary', 'aria-labelledby': 'summary-title' },
      h('h2', { id: 'summary-title' }, 'Summary'),
      h('dl', { class: 'totals' },
        h('dt', null, `Items (${count})`), h('dd', null, money(cart.total, cart.currency)),
        h('dt', { class: 'grand' }, 'Total'), h('dd', { class: 'grand', dataset: { cartTotal: '' } }, money(cart.total, cart.currency))),
      blocked
        ? h('p', { class: 'error-text' }, gone.length
          ? 'Some books are no longer sold. Remove them to check out.'
          : 'Some books are short of stock. Adjust them to check out.')
        : null,
      blocked
        ? h('span', { class: 'button button-primary button-block', 'aria-disabled': 'true' }, 'Checkout')
        : h('a', { class: 'button button-primary button-block', href: '#/checkout' }, icon('lock'), 'Checkout'),
      cart.expiresAt ? h('p', { class: 'muted small' }, `We keep this cart until ${dateOnly(cart.expiresAt)}.`) : null,
      h('p', null, h('a', { href: '#/' }, 'Continue shopping')));
    parts.push(h('div', { class: 'cart-layout' }, list, summary));
    body.replaceChildren(...parts);
    if (focusBookId) {
      const control = body.querySelector(`[data-quantity-for="${CSS.escape(focusBookId)}"]`);
      (control || heading).focus();
    }
  }

  /** A book removed from the catalog since it was added: shown, not charged, one click to remove. */
  function unavailableItem(line) {
    const name = line.title || 'A book';
    const remove = h('button', { type: 'button', class: 'button button-primary button-small', 'aria-label': `Remove ${name} from the cart` },
      icon('trash'), 'Remove');
    const error = h('p', { class: 'error-text', role: 'alert', hidden: true });
    const row = h('li', { class: 'cart-line cart-line-unavailable', dataset: { bookId: line.bookId, unavailable: '' } },
      h('div', { class: 'cart-line-info' },
        h('h3', { class: 'cart-line-title' }, name),
        h('p', { class: 'warning-text' }, `No longer available (${plural(line.quantity, 'copy', 'copies')} in your cart). It is not in your total.`),
        error),
      h('div', { class: 'cart-line-controls' }, remove));
    remove.addEventListener('click', async () => {
      remove.disabled = true;
      error.hidden = true;
      try {
        await removeLine(line.bookId);
        announce(`${name} removed from the cart.`);
        render();
        heading.focus();
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) {
          error.textContent = errorMessage(err);
          error.hidden = false;
        }
        remove.disabled = false;
      }
    });
    return row;
  }

  function lineItem(line) {
    const limit = Math.max(line.quantity, Math.min(MAX_PER_LINE, Math.max(line.available, 1)));
    const selectId = `qty-${line.bookId}`;
    const quantity = h('select', { id: selectId, class: 'qty', dataset: { quantityFor: line.bookId } },
      Array.from({ length: limit }, (_, i) => h('option', { value: String(i + 1) }, String(i + 1))));
    quantity.value = String(line.quantity);
    const remove = h('button', { type: 'button', class: 'button button-ghost button-small', 'aria-label': `Remove ${line.title} from the cart` },
      icon('trash'), 'Remove');
    const error = h('p', { class: 'error-text', role: 'alert', hidden: true });
    const problem = lineProblem(line);
    const row = h('li', { class: 'cart-line', dataset: { bookId: line.bookId } },
      h('a', { href: bookHref(line.bookId), class: 'cart-line-cover', tabindex: '-1', 'aria-hidden': 'true' }, cover({ ...line }, { size: 'thumb' })),
      h('div', { class: 'cart-line-info' },
        h('h3', { class: 'cart-line-title' }, h('a', { href: bookHref(line.bookId) }, line.title)),
        h('p', { class: 'muted' }, line.author),
        h('p', { class: 'small' }, `${money(line.unitPrice)} each`),
        problem ? h('p', { class: 'warning-text' }, problem) : null,
        error),
      h('div', { class: 'cart-line-controls' },
        h('label', { for: selectId, class: 'small' }, 'Quantity', h('span', { class: 'visually-hidden' }, ` of ${line.title}`)),
        quantity,
        remove),
      h('p', { class: 'cart-line-total' }, h('span', { class: 'visually-hidden' }, 'Line total: '), money(line.lineTotal)));

    async function change(action, busyText) {
      row.setAttribute('aria-busy', 'true');
      quantity.disabled = true;
      remove.disabled = true;
      error.hidden = true;
      try {
        await action();
        announce(busyText);
        return true;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) {
          error.textContent = errorMessage(err);
          error.hidden = false;
          quantity.value = String(line.quantity);
        }
        return false;
      } finally {
        row.removeAttribute('aria-busy');
        quantity.disabled = false;
        remove.disabled = false;
      }
    }

    quantity.addEventListener('change', async () => {
      const wanted = Number(quantity.value);
      if (await change(() => setQuantity(line.bookId, wanted), `${line.title}: quantity ${wanted}. Cart updated.`)) {
        render(line.bookId);
      }
    });
    remove.addEventListener('click', async () => {
      if (await change(() => removeLine(line.bookId), `${line.title} removed from the cart.`)) {
        const others = (currentCart()?.items || []).map((l) => l.bookId);
        render(others[0] || null);
        if (!others.length) heading.focus();
      }
    });
    return row;
  }

  heading.setAttribute('tabindex', '-1');
  render();
  const items = currentCart()?.items || [];
  if (items.length) ctx.setTitle(`Your cart (${plural(items.reduce((s, l) => s + l.quantity, 0), 'item')})`);
}
