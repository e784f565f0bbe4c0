// The shopper's profile (GET/PUT /users/me): display name and delivery address.

import { ApiError, errorMessage, profile } from '../api.js';
import { setDisplayName } from '../auth.js';
import { clearFieldErrors, field, notice, setBusy, showFormError, showValidationErrors } from '../components.js';
import { h, toast } from '../dom.js';
import { dateOnly } from '../format.js';

const COUNTRIES = [
  ['AT', 'Austria'], ['AU', 'Australia'], ['BE', 'Belgium'], ['BR', 'Brazil'], ['CA', 'Canada'],
  ['CH', 'Switzerland'], ['CZ', 'Czechia'], ['DE', 'Germany'], ['DK', 'Denmark'], ['ES', 'Spain'],
  ['FI', 'Finland'], ['FR', 'France'], ['GB', 'United Kingdom'], ['GR', 'Greece'], ['IE', 'Ireland'],
  ['IN', 'India'], ['IT', 'Italy'], ['JP', 'Japan'], ['MX', 'Mexico'], ['NL', 'Netherlands'],
  ['NO', 'Norway'], ['NZ', 'New Zealand'], ['PL', 'Poland'], ['PT', 'Portugal'], ['SE', 'Sweden'],
  ['SG', 'Singapore'], ['US', 'United States'], ['ZA', 'South Africa'],
];

export async function profileView(ctx, view) {
  ctx.setTitle('Your profile');
  const me = await profile.get();
  setDisplayName(me.displayName);
  const address = me.address || {};
  const country = h('select', { autocomplete: 'country' },
    h('option', { value: '' }, 'Choose a country'),
    COUNTRIES.map(([code, name]) => h('option', { value: code }, name)),
    address.country && !COUNTRIES.some(([code]) => code === address.country)
      ? h('option', { value: address.country }, address.country) : null);
  country.value = address.country || '';

  const save = h('button', { type: 'submit', class: 'button button-primary' }, 'Save profile');
  const form = h('form', { class: 'form-card', novalidate: true },
    field({ label: 'Name shown on your orders', name: 'displayName', value: me.displayName || '', required: true, autocomplete: 'name', maxlength: 80 }),
    h('fieldset', null,
      h('legend', null, 'Delivery address'),
      h('p', { class: 'hint' }, 'Optional. Leave every address field empty to remove it.'),
      field({ label: 'Address line 1', name: 'address.line1', value: address.line1 || '', autocomplete: 'address-line1', maxlength: 120 }),
      field({ label: 'Address line 2', name: 'address.line2', value: address.line2 || '', autocomplete: 'address-line2', maxlength: 120, optional: true }),
      h('div', { class: 'field-row' },
        field({ label: 'Postal code', name: 'address.postalCode', value: address.postalCode || '', autocomplete: 'postal-code', maxlength: 20 }),
        field({ label: 'City', name: 'address.city', value: address.city || '', autocomplete: 'address-level2', maxlength: 80 })),
      field({ label: 'Country', name: 'address.country', control: country })),
    h('div', { class: 'form-actions' }, save));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const value = (name) => form.elements.namedItem(name).value.trim();
    const parts = {
      line1: value('address.line1'), line2: value('address.line2'), city: value('address.city'),
      postalCode: value('address.postalCode'), country: value('address.country'),
    };
    const hasAddress = Object.values(parts).some(Boolean);
    const body = { displayName: value('displayName'), address: hasAddress ? parts : null };
    setBusy(save, true, 'Saving…');
    try {
      const saved = await profile.save(body);
      toast('Your profile is saved.', { kind: 'success' });
      form.querySelector('[name="displayName"]').value = saved.displayName;
      setDisplayName(saved.displayName);
    } catch (error) {
      if (error instanceof ApiError && error.status === 422) showValidationErrors(form, error.details);
      else if (!(error instanceof ApiError && error.status === 401)) showFormError(form, errorMessage(error));
    } finally {
      setBusy(save, false);
    }
  });

  view.append(
    h('header', { class: 'page-header' }, h('h1', null, 'Your profile'),
      h('p', { class: 'muted' }, `Signed in as ${me.email}. Member since ${dateOnly(me.createdAt)}.`)),
    h('div', { class: 'narrow' },
      notice('info', h('p', null, 'Your email address is your sign-in name and cannot be changed here.')),
      form));
}
