// Admin pages (group "admin" only; the API refuses everyone else anyway): the catalog with
// stock changes and deletion, and the create / edit form with server-side validation
// errors shown next to their fields.
//
// Book writes are optimistic: every save and delete names the version the page read
// (If-Match). When the book changed meanwhile (a sale, another admin) the API refuses with
// VERSION_CONFLICT and the current book; the page then shows the current values and says
// what changed, and nothing is saved until the admin saves again.

import { ApiError, books, conflictCurrent, errorMessage } from '../api.js';
import { currentUser } from '../auth.js';
import {
  bookHref, clearFieldErrors, cover, errorPanelFor, field, notice, setBusy, showFormError, showValidationErrors,
} from '../components.js';
import { announce, h, icon, toast } from '../dom.js';
import { money } from '../format.js';
import { navigate } from '../router.js';

const PAGE_SIZE = 25;

/** The fields of the edit form, in the API's names, with their labels. */
const EDITABLE = {
  title: 'Title', author: 'Author', category: 'Category', isbn: 'ISBN', price: 'Price', stock: 'Stock',
  description: 'Description', imageUrl: 'Cover image URL',
};

/** A book's field as the form shows it. */
function shown(book, name) {
  const value = book ? book[name] : undefined;
  return value === undefined || value === null ? '' : String(value);
}

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
      const saved = await books.replace(book.bookId, bookInput(book, { stock }), book.version);
      Object.assign(book, saved);
      input.value = String(saved.stock);
      status.textContent = 'Saved';
      status.classList.add('success-text');
      onSaved(saved);
    } catch (error) {
      status.classList.add('error-text');
      const current = conflictCurrent(error);
      if (current) {
        // Changed since this table was read (most often a sale): nothing was saved. Show the
        // stock as it is now and let the admin decide again; their number is in the message.
        Object.assign(book, current);
        input.value = String(current.stock);
        status.textContent = `Not saved: changed meanwhile, stock is now ${current.stock} (you entered ${raw}). Check and update again.`;
        input.focus();
        return;
      }
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
        await books.remove(book.bookId, book.version);
        const next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        toast(`“${book.title}” was deleted.`, { kind: 'success' });
        announce(`${book.title} deleted`);
        (next?.querySelector('a') || view.querySelector('h1')).focus();
      } catch (error) {
        setBusy(del, false);
        const current = conflictCurrent(error);
        if (current) {
          // Changed since the admin confirmed (a sale, another admin): not deleted. Show the
          // book as it is now; deleting it is one more click if they still want to.
          const fresh = rowFor(current);
          row.replaceWith(fresh);
          fresh.querySelector('.button-danger-ghost')?.focus();
          toast(`“${current.title}” was changed meanwhile (stock now ${current.stock}), so it was not deleted. Check it and delete again if you still want to.`, { kind: 'error' });
          return;
        }
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

  // What each field showed when the book was (last) loaded: a field whose value differs is the admin's edit.
  const loaded = {};
  for (const name of Object.keys(EDITABLE)) loaded[name] = form.elements.namedItem(name).value;

  /**
   * The book changed since the form was loaded (a sale, another admin) and nothing was saved.
   * A careful admin's merge: every field someone else changed now shows its current value; the
   * admin's own edits stay where nobody else changed the field; where both changed it, the
   * current value is in the field and the admin's value is shown next to it to enter again.
   * The form then stands for the current version: saving again is the admin's decision.
   */
  const showConflict = (current) => {
    const theirs = [];
    const both = [];
    for (const [name, label] of Object.entries(EDITABLE)) {
      const input = form.elements.namedItem(name);
      const before = shown(book, name);
      const now = shown(current, name);
      if (now === before) continue;
      const mine = input.value;
      const edited = mine !== loaded[name] && mine !== now;
      input.value = now;
      loaded[name] = input.value;
      const brief = (text) => (text.length > 80 ? `${text.slice(0, 80)}…` : text);
      const note = h('p', { class: 'field-note', id: `${input.id}-conflict` },
        `Changed meanwhile: now “${brief(now)}” (was “${brief(before)}”).`,
        edited ? ` You had entered “${brief(mine)}”: enter it again if it should still apply.` : '');
      input.closest('.field')?.append(note);
      input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') || ''} ${note.id}`.trim());
      (edited ? both : theirs).push(label);
    }
    book = current;
    const summary = notice('warning',
      h('p', null, h('strong', null, `This book was changed meanwhile (stock now ${current.stock}), so your changes were not saved.`)),
      h('p', null, 'The form now shows the current values, with your own edits kept where nobody else changed the field. Check it and save again.'),
      theirs.length ? h('p', null, `Changed by someone else: ${theirs.join(', ')}.`) : null,
      both.length ? h('p', null, `Changed by you and by someone else (the current value is in the form, yours next to it): ${both.join(', ')}.`) : null);
    summary.classList.add('form-error');
    summary.setAttribute('tabindex', '-1');
    form.prepend(summary);
    summary.focus();
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    form.querySelectorAll('.field-note').forEach((note) => {
      const input = note.closest('.field')?.querySelector('input, textarea');
      const ids = (input?.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== note.id);
      input?.setAttribute('aria-describedby', ids.join(' '));
      note.remove();
    });
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
      const saved = creating ? await books.create(body) : await books.replace(book.bookId, body, book.version);
      toast(creating ? `“${saved.title}” is now in the catalog.` : `“${saved.title}” is saved.`,
        { kind: 'success', link: { href: bookHref(saved.bookId), text: 'View in store' } });
      navigate('#/admin');
    } catch (error) {
      const current = conflictCurrent(error);
      if (current) {
        showConflict(current);
      } else if (error instanceof ApiError && error.status === 422) {
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
