// Every staff page: enable what needs JavaScript, check the signing key is loaded for the
// official this page was rendered for, and sign out.

import { call } from './api.js';
import { forgetKey, loadKey } from './keystore.js';

async function signOut() {
  try { await call('DELETE', '/api/v1/session'); } catch { /* already expired: sign out anyway */ }
  await forgetKey();
  window.location.assign('/staff/');
}

async function start() {
  for (const element of document.querySelectorAll('[data-needs-js]')) element.disabled = false;
  const out = document.getElementById('sign-out');
  if (out) {
    out.disabled = false;
    out.addEventListener('click', signOut);
  }
  const official = document.body.dataset.keyId;
  if (official) {
    let record = null;
    try { record = await loadKey(); } catch { record = null; }
    const ready = Boolean(record && record.keyId === official);
    for (const element of document.querySelectorAll('[data-needs-key]')) element.disabled = !ready;
    const missing = document.getElementById('key-missing');
    if (missing) {
      missing.hidden = ready;
      const here = `/staff/signin?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
      for (const link of missing.querySelectorAll('a[data-here]')) link.href = here;
    }
  }
  document.documentElement.dataset.ready = 'true';
}

start();
