// Tiny DOM helpers: build elements without innerHTML (safe with any data, CSP-friendly).

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Create an element. `props`: attributes, plus `class`, `text`, `dataset`,
 * `on<Event>` handlers and `value` (set after the children, so a <select> can use it).
 * Attributes whose value is null, undefined or false are left out; true means "present".
 */
export function h(tag, props = null, ...children) {
  const el = document.createElement(tag);
  let value;
  if (props) {
    for (const [key, v] of Object.entries(props)) {
      if (v === null || v === undefined || v === false) continue;
      if (key === 'class') el.className = v;
      else if (key === 'text') el.textContent = v;
      else if (key === 'dataset') Object.assign(el.dataset, v);
      else if (key === 'value') value = v;
      else if (key.startsWith('on') && typeof v === 'function') el.addEventListener(key.slice(2).toLowerCase(), v);
      else el.setAttribute(key, v === true ? '' : String(v));
    }
  }
  append(el, children);
  if (value !== undefined) el.value = value;
  return el;
}

/** Append children: nodes, strings, numbers, arrays of them; null/false are skipped. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** An inline SVG icon from a small set (aria-hidden: always pair it with text). */
export function icon(name) {
  const paths = {
    cart: 'M3 4h2l2.4 10.2a2 2 0 0 0 2 1.6h7.7a2 2 0 0 0 1.9-1.4L21 8H6.2',
    check: 'M5 12.5l4.5 4.5L19 7.5',
    alert: 'M12 8v5M12 16.5v.5M10.3 3.9L2.6 17.2A2 2 0 0 0 4.3 20h15.4a2 2 0 0 0 1.7-2.8L13.7 3.9a2 2 0 0 0-3.4 0z',
    info: 'M12 11v6M12 7.5v.5M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z',
    trash: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3',
    back: 'M15 18l-6-6 6-6',
    next: 'M9 18l6-6-6-6',
    lock: 'M6 11h12v9H6zM8 11V8a4 4 0 0 1 8 0v3',
  };
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', paths[name] || paths.info);
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', 'currentColor');
  path.setAttribute('stroke-width', '2');
  path.setAttribute('stroke-linecap', 'round');
  path.setAttribute('stroke-linejoin', 'round');
  svg.append(path);
  return svg;
}

/** Say something to screen readers (polite). */
export function announce(text) {
  const region = document.querySelector('[data-announcer]');
  if (!region) return;
  region.textContent = '';
  // A new text node after a tick makes repeated identical messages announced too.
  setTimeout(() => { region.textContent = text; }, 50);
}

/** A short-lived message at the bottom of the screen (also announced). */
export function toast(message, { link = null, kind = 'info' } = {}) {
  const region = document.querySelector('[data-toasts]');
  if (!region) return;
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss message' }, '×');
  const item = h('div', { class: `toast toast-${kind}` },
    h('span', { class: 'toast-text' }, message),
    link ? h('a', { href: link.href, class: 'toast-link' }, link.text) : null,
    close);
  const remove = () => item.remove();
  close.addEventListener('click', remove);
  // Two at most: older messages make way rather than covering the page.
  while (region.children.length >= 2) region.firstElementChild.remove();
  region.append(item);
  setTimeout(remove, 5000);
}

/** Debounce: run `fn` once calls stop for `ms` milliseconds. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}
