// CloudShelf storefront: reads /config.json, restores the session, draws the header and
// starts the hash router. Every script is an ES module under js/ (CSP: script-src 'self').

import { authEvents, currentUser, initAuth, isAdmin, isSignedIn, signOut } from './auth.js';
import { cartEvents, itemCount, loadCart, resetCart } from './cart.js';
import { signInHref } from './components.js';
import { loadConfig } from './config.js';
import { debounce, h, toast } from './dom.js';
import { currentHash, errorPanel, navigate, parseHash, route, routeEvents, startRouter } from './router.js';
import { confirmView, signInView, signUpView } from './views/account.js';
import { adminEditView, adminListView, notAllowedView } from './views/admin.js';
import { bookView } from './views/book.js';
import { cartView } from './views/cart.js';
import { categoryView } from './views/category.js';
import { checkoutView } from './views/checkout.js';
import { homeView } from './views/home.js';
import { orderView, ordersView } from './views/orders.js';
import { profileView } from './views/profile.js';
import { searchView } from './views/search.js';

const SEARCH_DELAY_MS = 250;

const signedIn = () => (isSignedIn() ? null : { redirect: signInHref(currentHash(), 'signin') });
const admin = () => {
  if (!isSignedIn()) return { redirect: signInHref(currentHash(), 'signin') };
  return isAdmin() ? null : { render: notAllowedView };
};

function routes() {
  route('/', homeView);
  route('/category/:name', categoryView);
  route('/search', searchView);
  route('/book/:id', bookView);
  route('/cart', cartView, { guard: signedIn });
  route('/checkout', checkoutView, { guard: signedIn });
  route('/orders', ordersView, { guard: signedIn });
  route('/orders/:id', orderView, { guard: signedIn });
  route('/profile', profileView, { guard: signedIn });
  route('/signin', signInView);
  route('/signup', signUpView);
  route('/confirm', confirmView);
  route('/admin', adminListView, { guard: admin });
  route('/admin/books/new', adminEditView, { guard: admin });
  route('/admin/books/:id', adminEditView, { guard: admin });
}

function navLink(href, label, path, extra = {}) {
  const target = href.slice(1).split('?')[0];
  const current = target === '/' ? path === '/' : path === target || path.startsWith(`${target}/`);
  return h('li', null, h('a', { href, 'aria-current': current ? 'page' : null, ...extra }, label));
}

function renderNav() {
  const nav = document.querySelector('[data-site-nav]');
  const { path } = parseHash();
  const user = currentUser();
  const items = [navLink('#/', 'Browse', path)];
  if (user) {
    items.push(navLink('#/orders', 'Orders', path));
    if (isAdmin()) items.push(navLink('#/admin', 'Admin', path));
    items.push(navLink('#/profile', user.name ? `Hi, ${user.name.split(/\s+/)[0]}` : 'Account', path, { 'data-account-link': '' }));
    const out = h('button', { type: 'button', class: 'nav-button' }, 'Sign out');
    out.addEventListener('click', async () => {
      await signOut();
      resetCart(null);
      toast('You are signed out. See you soon!');
      navigate('#/');
    });
    items.push(h('li', null, out));
  } else {
    items.push(navLink(signInHref(currentHash() === '#/' ? '' : currentHash()), 'Sign in', path));
    items.push(h('li', null, h('a', { href: '#/signup', class: 'nav-cta' }, 'Create account')));
  }
  nav.replaceChildren(h('ul', null, items));
  const cart = document.querySelector('[data-cart-link]');
  cart.setAttribute('aria-current', path === '/cart' ? 'page' : 'false');
}

function renderBadge() {
  const count = isSignedIn() ? itemCount() : 0;
  const badge = document.querySelector('[data-cart-badge]');
  badge.textContent = String(count);
  badge.hidden = count === 0;
  document.querySelector('[data-cart-link]').setAttribute('aria-label', count ? `Cart, ${count} ${count === 1 ? 'item' : 'items'}` : 'Cart, empty');
}

function setUpMenu() {
  const toggle = document.querySelector('[data-menu-toggle]');
  const nav = document.querySelector('[data-site-nav]');
  const close = () => {
    toggle.setAttribute('aria-expanded', 'false');
    nav.classList.remove('open');
  };
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    nav.classList.toggle('open', open);
    if (open) nav.querySelector('a, button')?.focus();
  });
  nav.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && nav.classList.contains('open')) {
      close();
      toggle.focus();
    }
  });
  routeEvents.addEventListener('change', close);
}

function setUpSearch() {
  const form = document.querySelector('[data-site-search]');
  const input = form.querySelector('input');
  const go = (focus) => {
    const q = input.value.trim();
    const onSearch = parseHash().path === '/search';
    const hash = `#/search${q ? `?${new URLSearchParams({ q })}` : ''}`;
    if (hash === location.hash) return;
    // While typing, results update in place and focus stays in the box.
    navigate(hash, { replace: onSearch, focus });
  };
  const typed = debounce(() => go(false), SEARCH_DELAY_MS);
  input.addEventListener('input', typed);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    typed.cancel();
    go(false);
  });
  routeEvents.addEventListener('change', (event) => {
    const { path, query } = event.detail;
    if (document.activeElement === input) return;
    input.value = path === '/search' ? query.get('q') || '' : '';
  });
}

/** In-page links (skip link, "Browse categories") move focus instead of changing the route. */
function setUpInPageLinks() {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-skip-link], a[data-scroll-to]');
    if (!link) return;
    event.preventDefault();
    const id = link.dataset.scrollTo || 'main';
    const target = document.getElementById(id);
    if (!target) return;
    if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
    target.scrollIntoView({ behavior: 'smooth', block: 'start' });
    target.focus({ preventScroll: true });
  });
}

async function start() {
  const main = document.getElementById('main');
  setUpInPageLinks();
  setUpMenu();
  try {
    await loadConfig();
  } catch {
    main.replaceChildren(errorPanel('The store is not available',
      'We could not load the store settings. Please try again in a moment.', () => location.reload()));
    return;
  }
  let expiredOnStart = false;
  authEvents.addEventListener('expired', () => {
    expiredOnStart = true;
  });
  await initAuth();
  setUpSearch();
  routes();

  authEvents.addEventListener('change', () => {
    renderNav();
    renderBadge();
  });
  authEvents.addEventListener('expired', () => {
    resetCart(null);
    const here = currentHash();
    if (!here.startsWith('#/signin')) navigate(signInHref(here, 'expired'), { replace: true });
  });
  cartEvents.addEventListener('change', renderBadge);
  routeEvents.addEventListener('change', renderNav);

  renderNav();
  renderBadge();
  if (expiredOnStart && !location.hash.startsWith('#/signin')) {
    history.replaceState(history.state, '', signInHref(currentHash(), 'expired'));
  }
  startRouter(main);
  if (isSignedIn()) loadCart().catch(() => {});
}

window.addEventListener('unhandledrejection', () => {
  toast('Something went wrong. Please try again.', { kind: 'error' });
});

start();

