// Order history (newest first, "Show more" follows nextCursor) and one order's detail.

import { ApiError, orders } from '../api.js';
import { bookHref, breadcrumbs, emptyState, errorPanelFor, notice, setBusy } from '../components.js';
import { h } from '../dom.js';
import { dateTime, money, orderNumber, plural, setCurrency } from '../format.js';

function orderHref(orderId) {
  return `#/orders/${encodeURIComponent(orderId)}`;
}

function orderRow(order) {
  const count = order.items.reduce((sum, line) => sum + line.quantity, 0);
  const titles = order.items.map((line) => line.title);
  return h('li', { class: 'order-card' },
    h('div', { class: 'order-card-main' },
      h('h2', { class: 'order-card-title' },
        h('a', { href: orderHref(order.orderId), class: 'card-link' }, `Order ${orderNumber(order.orderId)}`)),
      h('p', { class: 'muted small' }, `Placed ${dateTime(order.createdAt)}`),
      h('p', { class: 'order-card-books' }, titles.slice(0, 3).join(', ') + (titles.length > 3 ? ` and ${titles.length - 3} more` : ''))),
    h('div', { class: 'order-card-side' },
      h('span', { class: 'status-pill' }, order.status === 'PLACED' ? 'Placed' : order.status),
      h('p', { class: 'small muted' }, plural(count, 'book')),
      h('p', { class: 'price' }, money(order.total, order.currency))));
}

export async function ordersView(ctx, view) {
  ctx.setTitle('Your orders');
  const page = await orders.list({ limit: 10 });
  view.append(h('header', { class: 'page-header' }, h('h1', null, 'Your orders')));
  if (!page.items.length) {
    view.append(emptyState('You have not ordered anything yet.', 'Your orders will be listed here.',
      h('a', { class: 'button button-primary', href: '#/' }, 'Start shopping')));
    return;
  }
  setCurrency(page.items[0].currency);
  const list = h('ol', { class: 'order-list', 'aria-label': 'Orders, newest first' }, page.items.map(orderRow));
  view.append(list);
  let cursor = page.nextCursor;
  if (cursor) {
    const more = h('button', { type: 'button', class: 'button' }, 'Show older orders');
    const status = h('p', { class: 'form-message', 'aria-live': 'polite' });
    more.addEventListener('click', async () => {
      setBusy(more, true, 'Loading…');
      try {
        const next = await orders.list({ limit: 10, cursor });
        const rows = next.items.map(orderRow);
        list.append(...rows);
        cursor = next.nextCursor;
        status.textContent = `${plural(rows.length, 'older order')} shown.`;
        rows[0]?.querySelector('a')?.focus();
        if (!cursor) more.remove();
      } catch (error) {
        status.textContent = 'We could not load more orders. Please try again.';
        if (error instanceof ApiError && error.status === 401) return;
      } finally {
        if (more.isConnected) setBusy(more, false);
      }
    });
    view.append(h('div', { class: 'load-more' }, more, status));
  }
}

export async function orderView(ctx, view) {
  let order;
  try {
    order = await orders.get(ctx.params.id);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 422)) {
      ctx.setTitle('Order not found');
      view.append(errorPanelFor('Order not found', 'We could not find this order in your account.'));
      return;
    }
    throw error;
  }
  setCurrency(order.currency);
  const number = orderNumber(order.orderId);
  ctx.setTitle(`Order ${number}`);
  const placed = ctx.query.get('placed') === '1';
  view.append(
    placed
      ? h('ol', { class: 'steps', 'aria-label': 'Checkout steps' },
        h('li', { class: 'done' }, 'Cart'), h('li', { class: 'done' }, 'Review'),
        h('li', { class: 'current', 'aria-current': 'step' }, 'Confirmation'))
      : breadcrumbs([{ label: 'Your orders', href: '#/orders' }, { label: `Order ${number}` }]),
    h('header', { class: 'page-header' },
      h('h1', null, placed ? 'Thank you for your order!' : `Order ${number}`),
      h('p', { class: 'muted' }, `Order ${number} · placed ${dateTime(order.createdAt)}`)),
    placed ? notice('success', h('p', null, h('strong', null, 'Your order is placed. '),
      `We have reserved ${plural(order.items.reduce((s, l) => s + l.quantity, 0), 'book')} for you.`)) : null,
    h('section', { class: 'panel', 'aria-labelledby': 'order-items' },
      h('h2', { id: 'order-items' }, 'Books'),
      h('table', { class: 'order-table' },
        h('caption', { class: 'visually-hidden' }, `Books in order ${number}`),
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, 'Book'), h('th', { scope: 'col', class: 'num' }, 'Qty'),
          h('th', { scope: 'col', class: 'num' }, 'Price'), h('th', { scope: 'col', class: 'num' }, 'Total'))),
        h('tbody', null, order.items.map((line) => h('tr', null,
          h('td', null, h('a', { href: bookHref(line.bookId) }, line.title), h('span', { class: 'muted block small' }, line.author)),
          h('td', { class: 'num' }, String(line.quantity)),
          h('td', { class: 'num' }, money(line.unitPrice)),
          h('td', { class: 'num' }, money(line.lineTotal))))),
        h('tfoot', null, h('tr', null,
          h('th', { scope: 'row', colspan: 3 }, 'Total'),
          h('td', { class: 'num grand' }, money(order.total, order.currency))))),
      order.note ? h('p', null, h('strong', null, 'Note: '), order.note) : null,
      h('p', null, h('span', { class: 'status-pill' }, order.status === 'PLACED' ? 'Placed' : order.status))),
    h('p', { class: 'actions' },
      h('a', { class: 'button', href: '#/orders' }, 'All your orders'),
      h('a', { class: 'button button-ghost', href: '#/' }, 'Continue shopping')));
}

