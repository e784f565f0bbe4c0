// A category: a page of books at a time (GET /books?category=&limit=&cursor=), with
// Previous / Next. The cursor of each page is kept, so Previous works without the server.

import { books } from '../api.js';
import { bookGrid, breadcrumbs, categoryHref, emptyState } from '../components.js';
import { h, icon } from '../dom.js';
import { plural } from '../format.js';

const PAGE_SIZE = 8;
const cursors = new Map(); // category -> [cursor of page 1 (null), page 2, ...]
let counts = null; // category -> count, from GET /categories

function pageHref(name, page, cursor) {
  const params = new URLSearchParams();
  if (page > 1) {
    params.set('page', String(page));
    params.set('cursor', cursor);
  }
  const text = params.toString();
  return categoryHref(name) + (text ? `?${text}` : '');
}

export async function categoryView(ctx, view) {
  const name = ctx.params.name;
  let page = Number.parseInt(ctx.query.get('page') || '1', 10);
  let cursor = ctx.query.get('cursor');
  if (!Number.isFinite(page) || page < 1 || !cursor) {
    page = 1;
    cursor = null;
  }
  const known = cursors.get(name) || [null];
  cursors.set(name, known);
  known[page - 1] = cursor;

  const [result, categoryList] = await Promise.all([
    books.list({ category: name, limit: PAGE_SIZE, cursor }),
    counts ? Promise.resolve(null) : books.categories().catch(() => null),
  ]);
  if (categoryList) counts = new Map((categoryList.items || []).map((c) => [c.name, c.count]));
  const total = counts?.get(name);
  ctx.setTitle(page > 1 ? `${name} (page ${page})` : name);

  view.append(
    breadcrumbs([{ label: 'Home', href: '#/' }, { label: name }]),
    h('header', { class: 'page-header' },
      h('h1', null, name),
      h('p', { class: 'muted' }, total !== undefined ? `${plural(total, 'book')} in this category` : '')));

  const items = result.items || [];
  if (!items.length) {
    view.append(emptyState('No books here yet.', 'Try another category or search the catalog.',
      h('a', { class: 'button', href: '#/' }, 'See all categories')));
    return;
  }
  view.append(bookGrid(items, { headingLevel: 'h2' }));

  const previous = page > 1
    ? h('a', { class: 'button button-ghost', href: pageHref(name, page - 1, known[page - 2] || null), rel: 'prev' },
      icon('back'), 'Previous')
    : h('span', { class: 'button button-ghost', 'aria-disabled': 'true' }, icon('back'), 'Previous');
  const next = result.nextCursor
    ? h('a', { class: 'button button-ghost', href: pageHref(name, page + 1, result.nextCursor), rel: 'next' },
      'Next', icon('next'))
    : h('span', { class: 'button button-ghost', 'aria-disabled': 'true' }, 'Next', icon('next'));
  const pages = total ? Math.max(1, Math.ceil(total / PAGE_SIZE)) : null;
  if (page === 1 && !result.nextCursor) return; // one page: no pagination to show
  view.append(h('nav', { class: 'pagination', 'aria-label': 'Pages' },
    previous,
    h('span', { class: 'page-status' }, pages ? `Page ${page} of ${pages}` : `Page ${page}`),
    next));
}
