// Sign in: open the key file here (keyfile.js), sign the server's challenge, keep the key for
// the session (keystore.js). Sent to the server: the key id, the challenge and the signature.

import { call, describe, show } from './api.js';
import { b64, utf8 } from './bytes.js';
import { KeyFileError, openKeyFile } from './keyfile.js';
import { forgetKey, saveKey } from './keystore.js';

const form = document.getElementById('signin');
const status = document.getElementById('signin-status');
const button = document.getElementById('signin-button');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = form.elements.keyfile.files[0];
  const passphrase = form.elements.passphrase.value;
  if (!file) return;
  button.disabled = true;
  show(status, '正在解密密钥… Opening the key…', 'busy');
  try {
    await forgetKey();
    const opened = await openKeyFile(await file.text(), passphrase);
    form.elements.passphrase.value = '';
    show(status, '正在签名登录… Signing in…', 'busy');
    const challenge = await call('POST', '/api/v1/session/challenge');
    const message = `gongkai-session/v1\n${challenge.jurisdiction}\n${challenge.challenge}\n`;
    const signature = await crypto.subtle.sign({ name: 'Ed25519' }, opened.key, utf8(message));
    const session = await call('POST', '/api/v1/session',
      { key_id: opened.keyId, challenge: challenge.challenge, signature: b64(signature) });
    await saveKey({ keyId: opened.keyId, key: opened.key, official: session.official, expires: session.expires * 1000 });
    show(status, `已登录 Signed in：${session.official.name}`, 'ok');
    window.location.assign(form.dataset.next || '/staff/');
  } catch (error) {
    show(status, error instanceof KeyFileError ? error.message : describe(error), 'error');
    button.disabled = false;
  }
});
