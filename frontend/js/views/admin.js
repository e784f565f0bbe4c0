// Admin pages (group "admin" only; the API refuses everyone else anyway): the catalog with
// stock changes and deletion, and the create / edit form with server-side validation
// errors shown next to their fields.

import { ApiError, books, errorMessage } from '../api.js';
import { currentUser } from '../auth.js';
import {
  bookHref, clearFieldErrors, cover, errorPanelFor, field, notice, setBusy, showFormError, showValidationErrors,
} from '../components.js';
import { announce, h, icon, toast } from '../dom.js';
import { money } from '../format.js';
import { navigate } from '../router.js';

const PAGE_SIZE = 25;

/** What PUT /books/{id} needs: every field an admin owns (server-owned ones are left out). */
function bookInput(book, changes = {}) {
  const { title, author, category, price, stock, description, isbn, imageUrl } = { ...book, ...changes };
  return { title, author, category, price, stock, description: description || '', isbn, imageUrl: imageUrl || '' };
}

export function notAllowedView(ctx, view) {
  ctx.setTitle('Not allowed');
  const user = currentUser();
  view.append(h('section', { class: 'panel panel-error' },
    h('h1', null, 'Not allowed'),
    h('p', null, 'This page is for CloudShelf staff only.',
      user ? ` You are signed in as ${user.email}, which is not an admin account.` : ''),
    h('p', null, h('a', { class: 'button', href: '#/' }, 'Back to the store'))));
}

/** A dialog asking to confirm a deletion; resolves true or false. */
function confirmDelete(title) {
  return new Promise((resolve) => {
    const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
    const confirm = h('button', { type: 'button', class: 'button button-danger' }, 'Delete book');
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'delete-title' },
      h('h2', { id: 'delete-title' }, 'Delete this book?'),
      h('p', null, `“${title}” will be removed from the catalog. Orders that include it keep their copy of the details.`),
      h('div', { class: 'dialog-actions' }, cancel, confirm));
    const returnFocus = document.activeElement;
    const close = (answer) => {
      dialog.close();
      dialog.remove();
      if (returnFocus && returnFocus.isConnected) returnFocus.focus();
      resolve(answer);
    };
    cancel.addEventListener('click', () => close(false));
    confirm.addEventListener('click', () => close(true));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      close(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

function stockForm(book, onSaved) {
  const inputId = `stock-${book.bookId}`;
  const input = h('input', { id: inputId, type: 'number', min: 0, step: 1, value: String(book.stock), class: 'stock-input', inputmode: 'numeric' });
  const save = h('button', { type: 'submit', class: 'button button-small' }, 'Update');
  const status = h('span', { class: 'small', 'aria-live': 'polite' });
  const form = h('form', { class: 'stock-form', novalidate: true },
    h('label', { for: inputId, class: 'visually-hidden' }, `Stock of ${book.title}`),
    input, save, status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const raw = input.value.trim();
    const stock = /^\d+$/.test(raw) ? Number(raw) : raw;
    status.textContent = '';
    status.className = 'small';
    setBusy(save, true, 'Saving…');
    try {
      const saved = await books.replace(book.bookId, bookInput(book, { stock }));
      Object.assign(book, saved);
      input.value = String(saved.stock);
      status.textContent = 'Saved';
      status.classList.add('success-text');
      onSaved(saved);
    } catch (error) {
      status.classList.add('error-text');
      const detail = error instanceof ApiError && error.status === 422 && Array.isArray(error.details)
        ? error.details[0]?.msg : null;
      status.textContent = detail || errorMessage(error);
      input.setAttribute('aria-invalid', 'true');
    } finally {
      setBusy(save, false);
    }
  });
  input.addEventListener('input', () => input.removeAttribute('aria-invalid'));
  return form;
}

export async function adminListView(ctx, view) {
  ctx.setTitle('Manage books');
  const q = (ctx.query.get('q') || '').trim();
  const category = ctx.query.get('category') || '';
  const [categories, page] = await Promise.all([
    books.categories(),
    books.list({ q: q || undefined, category: q ? undefined : category || undefined, limit: PAGE_SIZE }),
  ]);

  const filter = h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Filter books', novalidate: true },
    h('div', { class: 'field field-inline' },
      h('label', { for: 'admin-q' }, 'Title or author'),
      h('input', { id: 'admin-q', name: 'q', type: 'search', value: q, maxlength: 100 })),
    h('div', { class: 'field field-inline' },
      h('label', { for: 'admin-category' }, 'Category'),
      h('select', { id: 'admin-category', name: 'category', value: category },
        h('option', { value: '' }, 'All categories'),
        (categories.items || []).map((c) => h('option', { value: c.name }, `${c.name} (${c.count})`)))),
    h('button', { type: 'submit', class: 'button' }, 'Filter'));
  filter.addEventListener('submit', (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    const text = filter.elements.namedItem('q').value.trim();
    const cat = filter.elements.namedItem('category').value;
    if (text) params.set('q', text);
    if (cat) params.set('category', cat);
    navigate(`#/admin${params.toString() ? `?${params}` : ''}`);
  });

  const tbody = h('tbody');
  const rowFor = (book) => {
    const row = h('tr', { dataset: { bookId: book.bookId } });
    const del = h('button', { type: 'button', class: 'button button-small button-danger-ghost', 'aria-label': `Delete ${book.title}` }, icon('trash'), 'Delete');
    del.addEventListener('click', async () => {
      if (!(await confirmDelete(book.title))) return;
      setBusy(del, true, 'Deleting…');
      try {
        await books.remove(book.bookId);
        const next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        toast(`“${book.title}” was deleted.`, { kind: 'success' });
        announce(`${book.title} deleted`);
        (next?.querySelector('a') || view.querySelector('h1')).focus();
      } catch (error) {
        setBusy(del, false);
        toast(`Could not delete “${book.title}”: ${errorMessage(error)}`, { kind: 'error' });
      }
    });
    row.append(
      h('td', { class: 'admin-cover' }, cover(book, { size: 'thumb' })),
      h('th', { scope: 'row' }, h('a', { href: `#/admin/books/${encodeURIComponent(book.bookId)}` }, book.title),
        h('span', { class: 'muted block small' }, book.author)),
      h('td', null, book.category),
      h('td', { class: 'num' }, money(book.price)),
      h('td', null, stockForm(book, () => {})),
      h('td', { class: 'row-actions' },
        h('a', { class: 'button button-small button-ghost', href: bookHref(book.bookId), 'aria-label': `View ${book.title} in the store` }, 'View'),
        del));
    return row;
  };
  tbody.append(...page.items.map(rowFor));

  view.append(
    h('header', { class: 'page-header page-header-actions' },
      h('div', null,
        h('h1', null, 'Manage books'),
        h('p', { class: 'muted' }, `Signed in as ${currentUser()?.email || ''} (admin).`)),
      h('a', { class: 'button button-primary', href: '#/admin/books/new' }, '+ Add a book')),
    filter);
  if (!page.items.length) {
    view.append(notice('info', h('p', null, 'No books match this filter.')));
    return;
  }
  const table = h('div', { class: 'table-wrap' },
    h('table', { class: 'admin-table' },
      h('caption', { class: 'visually-hidden' }, 'Books in the catalog'),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Cover')),
        h('th', { scope: 'col' }, 'Title'), h('th', { scope: 'col' }, 'Category'),
        h('th', { scope: 'col', class: 'num' }, 'Price'), h('th', { scope: 'col' }, 'Stock'),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
      tbody));
  view.append(table);
  let cursor = page.nextCursor;
  if (cursor) {
    const more = h('button', { type: 'button', class: 'button' }, 'Show more books');
    more.addEventListener('click', async () => {
      setBusy(more, true, 'Loading…');
      try {
        const next = await books.list({ q: q || undefined, category: q ? undefined : category || undefined, limit: PAGE_SIZE, cursor });
        const rows = next.items.map(rowFor);
        tbody.append(...rows);
        rows[0]?.querySelector('a')?.focus();
        cursor = next.nextCursor;
        if (!cursor) more.remove();
      } catch (error) {
        toast(errorMessage(error), { kind: 'error' });
      } finally {
        if (more.isConnected) setBusy(more, false);
      }
    });
    view.append(h('div', { class: 'load-more' }, more));
  }
}

export async function adminEditView(ctx, view) {
  const bookId = ctx.params.id;
  const creating = !bookId;
  let book = null;
  if (!creating) {
    try {
      book = await books.get(bookId);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 422)) {
        ctx.setTitle('Book not found');
        view.append(errorPanelFor('Book not found', 'This book is not in the catalog (any more).'));
        return;
      }
      throw error;
    }
  }
  const categories = await books.categories().catch(() => ({ items: [] }));
  const title = creating ? 'Add a book' : `Edit “${book.title}”`;
  ctx.setTitle(creating ? 'Add a book' : `Edit ${book.title}`);
  const value = (name, fallback = '') => (book && book[name] !== undefined && book[name] !== null ? String(book[name]) : fallback);

  const save = h('button', { type: 'submit', class: 'button button-primary' }, creating ? 'Add book' : 'Save changes');
  const form = h('form', { class: 'form-card admin-form', novalidate: true },
    field({ label: 'Title', name: 'title', value: value('title'), required: true, maxlength: 200 }),
    field({ label: 'Author', name: 'author', value: value('author'), required: true, maxlength: 200 }),
    h('div', { class: 'field-row' },
      field({ label: 'Category', name: 'category', value: value('category'), required: true, list: 'category-options', maxlength: 48, hint: 'Pick one or type a new one.' }),
      field({ label: 'ISBN', name: 'isbn', value: value('isbn'), required: true, maxlength: 20, hint: 'ISBN-10 or ISBN-13, hyphens allowed.' })),
    h('datalist', { id: 'category-options' }, (categories.items || []).map((c) => h('option', { value: c.name }))),
    h('div', { class: 'field-row' },
      field({ label: 'Price', name: 'price', value: value('price'), required: true, inputmode: 'decimal', hint: 'For example 12.99' }),
      field({ label: 'Stock', name: 'stock', value: value('stock', '0'), required: true, type: 'number', min: 0, step: 1, inputmode: 'numeric', hint: 'Copies on the shelf' })),
    field({ label: 'Description', name: 'description', type: 'textarea', value: value('description'), maxlength: 5000, rows: 6, optional: true }),
    field({ label: 'Cover image URL', name: 'imageUrl', value: value('imageUrl'), maxlength: 500, optional: true, hint: 'An https:// address or a path on this site. Without one the store draws a cover.' }),
    h('div', { class: 'form-actions' },
      save,
      h('a', { class: 'button button-ghost', href: '#/admin' }, 'Cancel')));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const get = (name) => form.elements.namedItem(name).value.trim();
    const stockText = get('stock');
    const body = {
      title: get('title'),
      author: get('author'),
      category: get('category'),
      price: get('price'),
      // Numbers go as numbers; anything else as typed, so the server names the problem.
      stock: /^\d+$/.test(stockText) ? Number(stockText) : stockText,
      description: form.elements.namedItem('description').value,
      isbn: get('isbn'),
      imageUrl: get('imageUrl'),
    };
    setBusy(save, true, 'Saving…');
    try {
      const saved = creating ? await books.create(body) : await books.replace(book.bookId, body);
      toast(creating ? `“${saved.title}” is now in the catalog.` : `“${saved.title}” is saved.`,
        { kind: 'success', link: { href: bookHref(saved.bookId), text: 'View in store' } });
      navigate('#/admin');
    } catch (error) {
      if (error instanceof ApiError && error.status === 422) {
        showValidationErrors(form, error.details, 'The book was not saved. Please correct the highlighted fields.');
      } else if (!(error instanceof ApiError && error.status === 401)) {
        showFormError(form, errorMessage(error));
      }
    } finally {
      if (save.isConnected) setBusy(save, false);
    }
  });

  view.append(
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
      h('ol', null, h('li', null, h('a', { href: '#/admin' }, 'Manage books')), h('li', null, h('span', { 'aria-current': 'page' }, title)))),
    h('header', { class: 'page-header' }, h('h1', null, title),
      book ? h('p', { class: 'muted' }, `Book id ${book.bookId}`) : null),
    h('div', { class: 'narrow' }, form));
}
