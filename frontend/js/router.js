// Hash routing (#/book/<id>?x=1): no server fallback needed. On every route change the
// view renders into <main>, the title updates and focus moves to the new page's heading.

import { errorMessage } from './api.js';
import { h } from './dom.js';

const routes = [];
export const routeEvents = new EventTarget();
let main = null;
let token = 0;
let active = null; // {route, params, instance}
let nextFocus = true;
let first = true;

/**
 * Register a view for a path pattern ("/book/:id"). A view is `async (ctx, container)`;
 * it fills `container` and may return `{update(ctx)}` to take query changes in place.
 * Options: {guard(ctx) -> null | {redirect: hash} | {render: fn}}.
 */
export function route(pattern, view, options = {}) {
  const keys = [];
  const source = pattern.replace(/:([a-zA-Z]+)/g, (_, key) => {
    keys.push(key);
    return '([^/]+)';
  });
  routes.push({ pattern, regex: new RegExp(`^${source}/?$`), keys, view, options });
}

export function parseHash(hash = location.hash) {
  const raw = hash.startsWith('#/') ? hash.slice(1) : '/';
  const [pathPart, queryPart = ''] = raw.split('?');
  return { path: pathPart || '/', query: new URLSearchParams(queryPart) };
}

function match(path) {
  for (const candidate of routes) {
    const found = candidate.regex.exec(path);
    if (found) {
      const params = {};
      candidate.keys.forEach((key, i) => {
        try {
          params[key] = decodeURIComponent(found[i + 1]);
        } catch {
          params[key] = found[i + 1];
        }
      });
      return { route: candidate, params };
    }
  }
  return null;
}

/** Go to `hash`. `replace` keeps history short; `focus: false` leaves focus where it is (search as you type). */
export function navigate(hash, { replace = false, focus = true } = {}) {
  nextFocus = focus;
  if (replace) {
    history.replaceState(history.state, '', hash);
    render();
  } else if (location.hash === hash) {
    render();
  } else {
    location.hash = hash;
  }
}

/** Render the current route again (after sign-in or sign-out, for instance). */
export function reload() {
  nextFocus = false;
  render();
}

export function currentHash() {
  return location.hash.startsWith('#/') ? location.hash : '#/';
}

function sameParams(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function focusHeading() {
  const heading = main.querySelector('h1');
  const target = heading || main;
  if (heading && !heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
  target.focus({ preventScroll: true });
}

export function errorPanel(title, message, retry) {
  return h('section', { class: 'panel panel-error', role: 'alert' },
    h('h1', null, title),
    h('p', null, message),
    retry ? h('button', { type: 'button', class: 'button', onclick: retry }, 'Try again') : null,
    h('p', null, h('a', { href: '#/' }, 'Back to the home page')));
}

async function render() {
  if (location.hash && !location.hash.startsWith('#/')) return; // e.g. the skip link's #main
  const { path, query } = parseHash();
  const found = match(path);
  const id = ++token;
  const focus = nextFocus && !first;
  nextFocus = true;
  first = false;
  routeEvents.dispatchEvent(new CustomEvent('change', { detail: { path, query } }));

  if (found && active && active.route === found.route && active.instance?.update
      && sameParams(active.params, found.params)) {
    active.instance.update({ params: found.params, query });
    return;
  }

  let titled = false;
  const ctx = {
    params: found ? found.params : {},
    query,
    path,
    isCurrent: () => id === token,
    setTitle: (text) => {
      titled = true;
      if (id === token) document.title = text ? `${text} · CloudShelf` : 'CloudShelf';
    },
  };
  const container = h('div', { class: 'view' });
  main.setAttribute('aria-busy', 'true');
  const loading = h('div', { class: 'loading', role: 'status' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading…');
  // Show the spinner only if the view takes a moment: avoids a flash on fast answers.
  const spinnerTimer = setTimeout(() => {
    if (id === token) main.replaceChildren(loading);
  }, 150);

  let instance = null;
  try {
    if (!found) {
      ctx.setTitle('Page not found');
      container.append(errorPanel('Page not found', 'There is no page at this address.', null));
    } else {
      const verdict = found.route.options.guard ? found.route.options.guard(ctx) : null;
      if (verdict?.redirect) {
        clearTimeout(spinnerTimer);
        navigate(verdict.redirect, { replace: true });
        return;
      }
      const view = verdict?.render || found.route.view;
      instance = await view(ctx, container);
    }
  } catch (error) {
    if (id !== token) return;
    ctx.setTitle('Something went wrong');
    container.replaceChildren(errorPanel('Something went wrong', errorMessage(error), () => reload()));
  }
  clearTimeout(spinnerTimer);
  if (id !== token) return;
  main.replaceChildren(container);
  main.removeAttribute('aria-busy');
  active = found ? { route: found.route, params: found.params, instance } : null;
  if (!titled) ctx.setTitle(main.querySelector('h1')?.textContent || '');
  if (focus) {
    window.scrollTo(0, 0);
    focusHeading();
  }
  routeEvents.dispatchEvent(new CustomEvent('rendered', { detail: { path, query } }));
}

export function startRouter(mainElement) {
  main = mainElement;
  window.addEventListener('hashchange', () => render());
  render();
}
