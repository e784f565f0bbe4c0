// Pieces the views share: book cards and covers, stock badges, form fields with their
// error messages (server-side 422 details mapped onto fields), busy buttons, notices.

import { h, icon } from './dom.js';
import { money, stockState } from './format.js';

export function bookHref(bookId) {
  return `#/book/${encodeURIComponent(bookId)}`;
}

export function categoryHref(name) {
  return `#/category/${encodeURIComponent(name)}`;
}

/** A book cover: the book's image, or a typeset placeholder when it has none (or it fails). */
export function cover(book, { size = 'card', alt = '' } = {}) {
  const fallback = () => h('div', { class: `cover cover-${size} cover-fallback`, role: alt ? 'img' : null, 'aria-label': alt || null },
    h('span', { class: 'cover-fallback-title' }, book.title || ''),
    h('span', { class: 'cover-fallback-author' }, book.author || ''));
  if (!book.imageUrl) return fallback();
  const dims = size === 'large' ? { width: 320, height: 480 } : size === 'thumb' ? { width: 64, height: 96 } : { width: 200, height: 300 };
  const img = h('img', {
    class: `cover cover-${size}`, src: book.imageUrl, alt, loading: size === 'large' ? 'eager' : 'lazy',
    decoding: 'async', ...dims,
  });
  img.addEventListener('error', () => img.replaceWith(fallback()), { once: true });
  return img;
}

export function stockBadge(stock) {
  const state = stockState(stock);
  return h('span', { class: `stock stock-${state.kind}` }, state.label);
}

/** A card in a grid of books; the title link covers the card (one tab stop per book). */
export function bookCard(book, { headingLevel = 'h3' } = {}) {
  return h('article', { class: 'book-card' },
    h('div', { class: 'book-card-cover' }, cover(book)),
    h('div', { class: 'book-card-body' },
      h(headingLevel, { class: 'book-card-title' },
        h('a', { href: bookHref(book.bookId), class: 'card-link' }, book.title)),
      h('p', { class: 'book-card-author' }, book.author),
      h('div', { class: 'book-card-meta' },
        h('span', { class: 'price' }, money(book.price)),
        stockBadge(book.stock))));
}

export function bookGrid(items, options) {
  return h('div', { class: 'book-grid' }, items.map((book) => bookCard(book, options)));
}

export function emptyState(title, text, action = null) {
  return h('div', { class: 'empty-state' },
    h('p', { class: 'empty-title' }, title),
    text ? h('p', { class: 'muted' }, text) : null,
    action);
}

export function notice(kind, ...content) {
  const urgent = kind === 'error' || kind === 'warning';
  const role = urgent ? 'alert' : 'status';
  return h('div', { class: `notice notice-${kind}`, role },
    icon(urgent ? 'alert' : kind === 'success' ? 'check' : 'info'),
    h('div', { class: 'notice-body' }, ...content));
}

export function loadingBlock(text = 'Loading…') {
  return h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

/** Put a button in (or out of) its busy state, keeping its label for later. */
export function setBusy(button, busy, busyText = 'Please wait…') {
  if (busy) {
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    button.textContent = busyText;
  } else {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    if (button.dataset.label) button.textContent = button.dataset.label;
    delete button.dataset.label;
  }
}

let fieldSeq = 0;

/**
 * A labelled form field with a hint and an error slot. `name` is the API's field path
 * ("price", "address.city"): server validation errors are matched on it.
 */
export function field({ label, name, type = 'text', value = '', hint = '', required = false, optional = false, control = null, ...attrs }) {
  const id = `f-${name.replace(/[^a-zA-Z0-9]/g, '-')}-${++fieldSeq}`;
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  let input = control;
  if (!input) {
    input = type === 'textarea'
      ? h('textarea', { rows: 5, ...attrs, value })
      : h('input', { type, value, ...attrs });
  }
  input.id = id;
  input.name = name;
  if (required) input.setAttribute('aria-required', 'true');
  input.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  return h('div', { class: 'field', dataset: { field: name } },
    h('label', { for: id }, label, optional ? h('span', { class: 'optional' }, ' (optional)') : null),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    input,
    h('p', { class: 'field-error', id: errorId, hidden: true }));
}

export function clearFieldErrors(form) {
  form.querySelectorAll('.field-error').forEach((el) => {
    el.hidden = true;
    el.textContent = '';
  });
  form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
  form.querySelectorAll('.form-error').forEach((el) => el.remove());
}

export function setFieldError(form, name, message) {
  const wrapper = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!wrapper) return false;
  const error = wrapper.querySelector('.field-error');
  error.textContent = message;
  error.hidden = false;
  wrapper.querySelector('input, select, textarea')?.setAttribute('aria-invalid', 'true');
  return true;
}

function readable(msg, name = '', label = '') {
  let text = String(msg || 'This value is not valid.').replace(/^Value error,\s*/i, '');
  // "isbn must be ..." next to the ISBN field reads better with the field's own label.
  if (name && label && text.toLowerCase().startsWith(`${name.toLowerCase()} `)) text = label + text.slice(name.length);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Show a 422's details next to the fields (loc ["body", "price"] -> field "price";
 * ["body", "address", "city"] -> "address.city"). Anything unmatched goes in a summary
 * at the top of the form. Focus moves to the first field in error.
 */
export function showValidationErrors(form, details, fallbackMessage = 'Please correct the highlighted fields.') {
  clearFieldErrors(form);
  const unmatched = [];
  for (const problem of Array.isArray(details) ? details : []) {
    const loc = Array.isArray(problem.loc) ? problem.loc.slice(problem.loc[0] === 'body' ? 1 : 0) : [];
    let matched = false;
    for (let n = loc.length; n > 0 && !matched; n -= 1) {
      const name = loc.slice(0, n).join('.');
      const wrapper = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
      const label = wrapper?.querySelector('label')?.firstChild?.textContent || '';
      if (wrapper && wrapper.querySelector('.field-error').hidden) {
        matched = setFieldError(form, name, readable(problem.msg, String(loc[n - 1]), label));
      }
      else if (wrapper) matched = true; // one message per field is enough
    }
    if (!matched) unmatched.push(readable(problem.msg));
  }
  const summary = notice('error',
    h('p', null, fallbackMessage),
    unmatched.length ? h('ul', null, unmatched.map((m) => h('li', null, m))) : null);
  summary.classList.add('form-error');
  form.prepend(summary);
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) {
    first.focus();
  } else {
    summary.setAttribute('tabindex', '-1');
    summary.focus();
  }
}

/** A general error at the top of a form (not tied to one field). */
export function showFormError(form, message) {
  clearFieldErrors(form);
  const summary = notice('error', h('p', null, message));
  summary.classList.add('form-error');
  summary.setAttribute('tabindex', '-1');
  form.prepend(summary);
  summary.focus();
}

export function breadcrumbs(items) {
  return h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
    h('ol', null, items.map((item, i) => h('li', null,
      item.href && i < items.length - 1
        ? h('a', { href: item.href }, item.label)
        : h('span', { 'aria-current': i === items.length - 1 ? 'page' : null }, item.label)))));
}

/** "Only for signed-in shoppers" helper: the sign-in link that brings them back here. */
export function signInHref(next = location.hash, reason = '') {
  const params = new URLSearchParams();
  if (next && safeNext(next, '') === next) params.set('next', next);
  if (reason) params.set('reason', reason);
  const text = params.toString();
  return `#/signin${text ? `?${text}` : ''}`;
}

/** Only same-app hashes are followed after sign-in (no open redirects). */
export function safeNext(value, fallback = '#/') {
  const ok = typeof value === 'string' && /^#\/[^\s]*$/.test(value) && !/^#\/(signin|signup|confirm)\b/.test(value);
  return ok ? value : fallback;
}

/** A "not found" style panel inside a view (the router's error panel is for failures). */
export function errorPanelFor(title, message) {
  return h('section', { class: 'panel' },
    h('h1', null, title),
    h('p', null, message),
    h('p', null, h('a', { class: 'button', href: '#/' }, 'Back to the home page')));
}
