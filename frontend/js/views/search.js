// Search results for the header's search box (GET /books?q=). The box searches as you
// type; this view updates in place (no re-render, focus stays in the box).

import { books, errorMessage } from '../api.js';
import { bookGrid, categoryHref, emptyState, loadingBlock, notice } from '../components.js';
import { announce, h } from '../dom.js';
import { plural } from '../format.js';

const PAGE_SIZE = 24;

export async function searchView(ctx, view) {
  const heading = h('h1', null, 'Search');
  const status = h('p', { class: 'muted search-status' });
  const results = h('div', { class: 'search-results' });
  view.append(h('header', { class: 'page-header' }, heading, status), results);
  let seq = 0;

  async function run(q) {
    const mine = ++seq;
    const text = (q || '').trim();
    heading.textContent = text ? `Results for “${text}”` : 'Search';
    ctx.setTitle(text ? `Search: ${text}` : 'Search');
    if (!text) {
      status.textContent = 'Type a title or an author in the search box above. Words match from their start: “tim mach” finds The Time Machine.';
      const categories = await books.categories().catch(() => ({ items: [] }));
      if (mine !== seq) return;
      results.replaceChildren(categories.items.length
        ? h('div', null, h('h2', null, 'Or browse a category'),
          h('ul', { class: 'chip-list' }, categories.items.map((c) => h('li', null,
            h('a', { class: 'chip', href: categoryHref(c.name) }, c.name)))))
        : '');
      return;
    }
    results.setAttribute('aria-busy', 'true');
    if (!results.firstChild) results.append(loadingBlock('Searching…'));
    try {
      const page = await books.list({ q: text, limit: PAGE_SIZE });
      if (mine !== seq) return; // a newer search is on its way
      const items = page.items || [];
      const more = page.nextCursor ? ' (showing the best matches)' : '';
      status.textContent = items.length ? `${plural(items.length, 'book')} found${more}.` : '';
      results.replaceChildren(items.length
        ? bookGrid(items, { headingLevel: 'h2' })
        : emptyState(`No books match “${text}”.`, 'Check the spelling, try fewer words, or browse a category.',
          h('a', { class: 'button', href: '#/' }, 'Browse categories')));
      announce(items.length ? `${plural(items.length, 'book')} found for ${text}` : `No books match ${text}`);
    } catch (error) {
      if (mine !== seq) return;
      status.textContent = '';
      results.replaceChildren(notice('error', h('p', null, `The search failed. ${errorMessage(error)}`)));
    } finally {
      if (mine === seq) results.removeAttribute('aria-busy');
    }
  }

  await run(ctx.query.get('q'));
  return { update: (next) => run(next.query.get('q')) };
}
