// Money and dates for display. Money arrives as decimal strings ("12.99") and is never
// computed here: the server prices everything; we only format what it says.

let currency = 'USD';

/** The store's currency, learnt from the first cart or order the server sends. */
export function setCurrency(code) {
  if (typeof code === 'string' && /^[A-Z]{3}$/.test(code)) currency = code;
}

export function money(value, code = currency) {
  if (value === null || value === undefined || value === '') return '';
  try {
    // Intl formats decimal strings exactly (no float rounding).
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: code }).format(value);
  } catch {
    return `${value} ${code}`;
  }
}

export function dateTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

export function dateOnly(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat('en-US', { dateStyle: 'long' }).format(date);
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** What a shopper sees about stock: "In stock", "Only 2 left", "Out of stock". */
export function stockState(stock) {
  const n = Number(stock) || 0;
  if (n <= 0) return { label: 'Out of stock', kind: 'out' };
  if (n <= 5) return { label: `Only ${n} left`, kind: 'low' };
  return { label: 'In stock', kind: 'in' };
}

/** The short, human form of an order id (the last 8 characters of the ULID). */
export function orderNumber(orderId) {
  return String(orderId || '').slice(-8);
}
