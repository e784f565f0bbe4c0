// A book: cover, description, price, stock state and "Add to cart" (disabled when out of stock).

import { ApiError, books, errorMessage } from '../api.js';
import { isAdmin, isSignedIn } from '../auth.js';
import { addToCart } from '../cart.js';
import { breadcrumbs, categoryHref, cover, errorPanelFor, setBusy, signInHref, stockBadge } from '../components.js';
import { h, toast } from '../dom.js';
import { money } from '../format.js';

const MAX_PER_LINE = 20;

export async function bookView(ctx, view) {
  let book;
  try {
    book = await books.get(ctx.params.id);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 422)) {
      ctx.setTitle('Book not found');
      view.append(errorPanelFor('Book not found', 'This book is not in our catalog (any more).'));
      return;
    }
    throw error;
  }
  ctx.setTitle(book.title);

  const inStock = book.stock > 0;
  const max = Math.max(1, Math.min(book.stock, MAX_PER_LINE));
  const quantity = h('select', { id: 'book-quantity', name: 'quantity', disabled: !inStock },
    Array.from({ length: max }, (_, i) => h('option', { value: String(i + 1) }, String(i + 1))));
  const addButton = h('button', { type: 'submit', class: 'button button-primary button-large', disabled: !inStock },
    inStock ? 'Add to cart' : 'Out of stock');
  const message = h('div', { class: 'form-message', 'aria-live': 'polite' });

  const form = h('form', { class: 'buy-box', novalidate: true },
    h('p', { class: 'price price-large' }, money(book.price)),
    h('p', null, stockBadge(book.stock)),
    inStock
      ? h('div', { class: 'buy-row' },
        h('div', { class: 'field field-inline' }, h('label', { for: 'book-quantity' }, 'Quantity'), quantity),
        addButton)
      : h('div', { class: 'buy-row' }, addButton,
        h('p', { class: 'muted' }, 'This book is sold out. Check back soon.')),
    message);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!inStock || addButton.disabled) return;
    if (!isSignedIn()) {
      location.hash = signInHref(location.hash, 'cart');
      return;
    }
    message.replaceChildren();
    setBusy(addButton, true, 'Adding…');
    try {
      await addToCart(book.bookId, Number(quantity.value));
      toast(`Added “${book.title}” to your cart.`, { link: { href: '#/cart', text: 'View cart' }, kind: 'success' });
      message.replaceChildren(h('p', { class: 'success-text' }, 'Added to your cart. ', h('a', { href: '#/cart' }, 'View cart')));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) {
        message.replaceChildren(h('p', { class: 'error-text', role: 'alert' }, errorMessage(error)));
      }
    } finally {
      setBusy(addButton, false);
    }
  });

  const paragraphs = String(book.description || '').split(/\n{2,}/).filter(Boolean);
  view.append(
    breadcrumbs([
      { label: 'Home', href: '#/' },
      { label: book.category, href: categoryHref(book.category) },
      { label: book.title },
    ]),
    h('article', { class: 'book-detail' },
      h('div', { class: 'book-detail-cover' }, cover(book, { size: 'large', alt: `Cover of ${book.title}` })),
      h('div', { class: 'book-detail-info' },
        h('h1', { class: 'book-title' }, book.title),
        h('p', { class: 'book-author' }, 'by ', h('strong', null, book.author)),
        form,
        h('section', { class: 'book-description', 'aria-labelledby': 'about-book' },
          h('h2', { id: 'about-book' }, 'About this book'),
          paragraphs.length ? paragraphs.map((p) => h('p', null, p)) : h('p', { class: 'muted' }, 'No description yet.')),
        h('dl', { class: 'book-facts' },
          h('dt', null, 'Category'), h('dd', null, h('a', { href: categoryHref(book.category) }, book.category)),
          h('dt', null, 'ISBN'), h('dd', null, book.isbn || '—')),
        isAdmin()
          ? h('p', { class: 'admin-link' }, h('a', { class: 'button button-ghost', href: `#/admin/books/${encodeURIComponent(book.bookId)}` }, 'Edit this book'))
          : null)));
}
