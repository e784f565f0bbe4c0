// Home: a welcome, the categories (GET /categories) and featured books.

import { books, errorMessage } from '../api.js';
import { bookGrid, categoryHref, notice } from '../components.js';
import { h } from '../dom.js';
import { plural } from '../format.js';

const FEATURED = 8;

export async function homeView(ctx, view) {
  ctx.setTitle('');
  const [categories, featured] = await Promise.allSettled([
    books.categories(),
    books.list({ limit: 40 }),
  ]);

  view.append(h('section', { class: 'hero' },
    h('div', { class: 'hero-text' },
      h('p', { class: 'eyebrow' }, 'Welcome to CloudShelf'),
      h('h1', null, 'Find your next favourite book'),
      h('p', { class: 'lead' }, 'Classics, adventures, poetry and more, delivered from our shelves to yours. Search by title or author, or browse a category below.'),
      h('div', { class: 'hero-actions' },
        h('a', { class: 'button button-primary', href: '#categories', dataset: { scrollTo: 'categories' } }, 'Browse categories'),
        h('a', { class: 'button button-ghost', href: '#/search' }, 'Search the catalog')))));

  const categorySection = h('section', { class: 'section', 'aria-labelledby': 'categories' },
    h('h2', { id: 'categories', tabindex: '-1' }, 'Browse by category'));
  if (categories.status === 'fulfilled') {
    const items = categories.value.items || [];
    categorySection.append(items.length
      ? h('ul', { class: 'category-grid' }, items.map((category, i) => h('li', null,
        h('a', { class: `category-card tone-${i % 8}`, href: categoryHref(category.name) },
          h('span', { class: 'category-name' }, category.name),
          h('span', { class: 'category-count' }, plural(category.count, 'book'))))))
      : h('p', { class: 'muted' }, 'No categories yet.'));
  } else {
    categorySection.append(notice('error', h('p', null, `We could not load the categories. ${errorMessage(categories.reason)}`)));
  }

  const featuredSection = h('section', { class: 'section', 'aria-labelledby': 'featured' },
    h('h2', { id: 'featured' }, 'Featured books'));
  if (featured.status === 'fulfilled') {
    // Featured: books in stock, one per category first, so the shelf shows the range.
    const all = (featured.value.items || []).filter((b) => b.stock > 0);
    const seen = new Set();
    const picks = [];
    for (const book of all) {
      if (!seen.has(book.category)) {
        seen.add(book.category);
        picks.push(book);
      }
    }
    for (const book of all) if (picks.length < FEATURED && !picks.includes(book)) picks.push(book);
    featuredSection.append(picks.length
      ? bookGrid(picks.slice(0, FEATURED))
      : h('p', { class: 'muted' }, 'The shelves are being stocked. Come back soon.'));
  } else {
    featuredSection.append(notice('error', h('p', null, `We could not load the featured books. ${errorMessage(featured.reason)}`)));
  }
  view.append(categorySection, featuredSection);
}
