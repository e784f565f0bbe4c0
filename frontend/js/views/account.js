// Sign in, sign up and confirm the e-mail address (Cognito's JSON API, see auth.js).

import { profile } from '../api.js';
import { AuthError, authMessage, confirmSignUp, isSignedIn, resendCode, setDisplayName, signIn, signUp } from '../auth.js';
import { loadCart } from '../cart.js';
import { clearFieldErrors, field, notice, safeNext, setBusy, setFieldError, showFormError } from '../components.js';
import { isLocal } from '../config.js';
import { h, toast } from '../dom.js';
import { navigate } from '../router.js';

// Between sign-up and confirmation we keep the password in memory (never stored) so the
// shopper is signed in right after confirming.
let pending = null;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PASSWORD_RULES = 'At least 8 characters, with an upper-case letter, a lower-case letter and a number.';

function passwordProblem(password) {
  if (password.length < 8) return 'Use at least 8 characters.';
  if (!/[A-Z]/.test(password)) return 'Add an upper-case letter.';
  if (!/[a-z]/.test(password)) return 'Add a lower-case letter.';
  if (!/[0-9]/.test(password)) return 'Add a number.';
  return '';
}

function passwordField(name, label, autocomplete, hint = '') {
  const input = h('input', { type: 'password', autocomplete, required: true, maxlength: 256 });
  const wrapper = field({ label, name, hint, required: true, control: input });
  const toggle = h('button', { type: 'button', class: 'link-button small', 'aria-pressed': 'false' }, 'Show password');
  toggle.addEventListener('click', () => {
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    toggle.setAttribute('aria-pressed', String(show));
    toggle.textContent = show ? 'Hide password' : 'Show password';
  });
  wrapper.append(toggle);
  return wrapper;
}

function authLayout(title, intro, ...content) {
  return h('div', { class: 'auth-layout' },
    h('div', { class: 'auth-card' },
      h('h1', null, title),
      intro ? h('p', { class: 'muted' }, intro) : null,
      ...content));
}

async function afterSignIn(next, newName = '') {
  const work = [loadCart()];
  // A new account's profile gets the name typed at sign-up (the ID token may not carry it).
  if (newName) work.push(profile.save({ displayName: newName }).then((saved) => setDisplayName(saved.displayName)));
  await Promise.allSettled(work);
  navigate(safeNext(next));
}

export async function signInView(ctx, view) {
  ctx.setTitle('Sign in');
  const next = ctx.query.get('next');
  if (isSignedIn()) {
    navigate(safeNext(next), { replace: true });
    return;
  }
  const reason = ctx.query.get('reason');
  const messages = {
    expired: notice('info', h('p', null, h('strong', null, 'Your session expired. '), 'Please sign in again to continue.')),
    cart: notice('info', h('p', null, 'Sign in to add books to your cart. New here? Creating an account takes a minute.')),
    confirmed: notice('success', h('p', null, 'Your email address is confirmed. Sign in to start shopping.')),
    signin: notice('info', h('p', null, 'Please sign in to see this page.')),
  };
  const submit = h('button', { type: 'submit', class: 'button button-primary button-block' }, 'Sign in');
  const form = h('form', { novalidate: true },
    field({ label: 'Email', name: 'email', type: 'email', value: ctx.query.get('email') || '', required: true, autocomplete: 'username', spellcheck: 'false' }),
    passwordField('password', 'Password', 'current-password'),
    submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const email = form.elements.namedItem('email').value.trim().toLowerCase();
    const password = form.elements.namedItem('password').value;
    let invalid = false;
    if (!EMAIL.test(email)) invalid = setFieldError(form, 'email', 'Enter your email address, like name@example.com.');
    if (!password) invalid = setFieldError(form, 'password', 'Enter your password.') || invalid;
    if (invalid) {
      form.querySelector('[aria-invalid="true"]').focus();
      return;
    }
    setBusy(submit, true, 'Signing in…');
    try {
      await signIn(email, password);
      toast('Welcome back!', { kind: 'success' });
      await afterSignIn(next);
    } catch (error) {
      if (error instanceof AuthError && error.type === 'UserNotConfirmedException') {
        pending = { email, password };
        await resendCode(email).catch(() => '');
        navigate(`#/confirm?${new URLSearchParams({ email, ...(next ? { next } : {}) })}`);
        return;
      }
      showFormError(form, authMessage(error));
    } finally {
      if (submit.isConnected) setBusy(submit, false);
    }
  });
  const signUpHref = `#/signup${next ? `?${new URLSearchParams({ next })}` : ''}`;
  view.append(authLayout('Sign in', 'Welcome back to CloudShelf.',
    reason && messages[reason] ? messages[reason] : null,
    form,
    h('p', { class: 'auth-switch' }, 'New to CloudShelf? ', h('a', { href: signUpHref }, 'Create an account'))));
}

export async function signUpView(ctx, view) {
  ctx.setTitle('Create your account');
  const next = ctx.query.get('next');
  const submit = h('button', { type: 'submit', class: 'button button-primary button-block' }, 'Create account');
  const form = h('form', { novalidate: true },
    field({ label: 'Your name', name: 'name', required: true, autocomplete: 'name', maxlength: 80 }),
    field({ label: 'Email', name: 'email', type: 'email', required: true, autocomplete: 'email', spellcheck: 'false', hint: 'We send a code to confirm it.' }),
    passwordField('password', 'Password', 'new-password', PASSWORD_RULES),
    submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const name = form.elements.namedItem('name').value.trim();
    const email = form.elements.namedItem('email').value.trim().toLowerCase();
    const password = form.elements.namedItem('password').value;
    let invalid = false;
    if (!name) invalid = setFieldError(form, 'name', 'Enter your name.');
    if (!EMAIL.test(email)) invalid = setFieldError(form, 'email', 'Enter an email address, like name@example.com.') || invalid;
    const weak = passwordProblem(password);
    if (weak) invalid = setFieldError(form, 'password', `${weak} ${PASSWORD_RULES}`) || invalid;
    if (invalid) {
      form.querySelector('[aria-invalid="true"]').focus();
      return;
    }
    setBusy(submit, true, 'Creating your account…');
    try {
      const result = await signUp(email, password, name);
      if (result.confirmed) {
        await signIn(email, password);
        toast('Welcome to CloudShelf!', { kind: 'success' });
        await afterSignIn(next, name);
        return;
      }
      pending = { email, password, name };
      const params = new URLSearchParams({ email });
      if (result.destination) params.set('to', result.destination);
      if (next) params.set('next', next);
      navigate(`#/confirm?${params}`);
    } catch (error) {
      if (error instanceof AuthError && error.type === 'InvalidPasswordException') {
        setFieldError(form, 'password', authMessage(error));
        form.querySelector('[aria-invalid="true"]').focus();
      } else if (error instanceof AuthError && error.type === 'UsernameExistsException') {
        setFieldError(form, 'email', authMessage(error));
        form.querySelector('[aria-invalid="true"]').focus();
      } else {
        showFormError(form, authMessage(error));
      }
    } finally {
      if (submit.isConnected) setBusy(submit, false);
    }
  });
  const signInHref = `#/signin${next ? `?${new URLSearchParams({ next })}` : ''}`;
  view.append(authLayout('Create your account', 'Order books, follow your orders and keep your cart across visits.',
    form,
    h('p', { class: 'auth-switch' }, 'Already have an account? ', h('a', { href: signInHref }, 'Sign in'))));
}

export async function confirmView(ctx, view) {
  ctx.setTitle('Confirm your email');
  const email = (ctx.query.get('email') || pending?.email || '').toLowerCase();
  const next = ctx.query.get('next');
  const to = ctx.query.get('to');
  const submit = h('button', { type: 'submit', class: 'button button-primary button-block' }, 'Confirm');
  const resend = h('button', { type: 'button', class: 'link-button' }, 'Send a new code');
  const resendStatus = h('p', { class: 'form-message small', 'aria-live': 'polite' });
  const form = h('form', { novalidate: true },
    field({ label: 'Email', name: 'email', type: 'email', value: email, required: true, autocomplete: 'username' }),
    field({ label: 'Confirmation code', name: 'code', required: true, inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 10, hint: 'The 6-digit code from the email we sent you.' }),
    submit);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const address = form.elements.namedItem('email').value.trim().toLowerCase();
    const code = form.elements.namedItem('code').value.replace(/\s+/g, '');
    let invalid = false;
    if (!EMAIL.test(address)) invalid = setFieldError(form, 'email', 'Enter the email address you signed up with.');
    if (!/^\d{4,10}$/.test(code)) invalid = setFieldError(form, 'code', 'Enter the code from the email (digits only).') || invalid;
    if (invalid) {
      form.querySelector('[aria-invalid="true"]').focus();
      return;
    }
    setBusy(submit, true, 'Confirming…');
    try {
      await confirmSignUp(address, code);
      if (pending && pending.email === address) {
        const { password, name } = pending;
        pending = null;
        await signIn(address, password);
        toast('Your email is confirmed. Welcome to CloudShelf!', { kind: 'success' });
        await afterSignIn(next, name);
      } else {
        navigate(`#/signin?${new URLSearchParams({ email: address, reason: 'confirmed', ...(next ? { next } : {}) })}`);
      }
    } catch (error) {
      if (error instanceof AuthError && ['CodeMismatchException', 'ExpiredCodeException'].includes(error.type)) {
        setFieldError(form, 'code', authMessage(error));
        form.querySelector('[aria-invalid="true"]').focus();
      } else {
        showFormError(form, authMessage(error));
      }
    } finally {
      if (submit.isConnected) setBusy(submit, false);
    }
  });

  resend.addEventListener('click', async () => {
    const address = form.elements.namedItem('email').value.trim().toLowerCase();
    if (!EMAIL.test(address)) {
      setFieldError(form, 'email', 'Enter the email address you signed up with.');
      return;
    }
    setBusy(resend, true, 'Sending…');
    try {
      const destination = await resendCode(address);
      resendStatus.textContent = `We sent a new code to ${destination || address}.`;
    } catch (error) {
      resendStatus.textContent = authMessage(error);
    } finally {
      setBusy(resend, false);
    }
  });

  view.append(authLayout('Confirm your email',
    `We sent a confirmation code to ${to || email || 'your email address'}. Enter it below to finish creating your account.`,
    form,
    h('p', { class: 'auth-switch' }, 'No email? ', resend),
    resendStatus,
    isLocal()
      ? notice('info', h('p', null, 'Running locally: the code is printed on the ', h('code', null, 'cloudshelf dev'),
        ' console and listed at ', h('a', { href: '/_dev/mailbox', target: '_blank', rel: 'noopener' }, '/_dev/mailbox'), '.'))
      : null));
}
