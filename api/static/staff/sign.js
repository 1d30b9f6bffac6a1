// Signing a command in the browser: the server prepares the exact RFC 8785 bytes (one encoder,
// one rule for `targets`), this page checks they say what the form said, signs them with the
// official's key (WebCrypto Ed25519) and posts the signed command. The key stays here.

import { call } from './api.js';
import { b64, sha256hex, utf8 } from './bytes.js';
import { loadKey } from './keystore.js';

export class NotSignedIn extends Error {
  constructor() {
    super('本浏览器未载入您的密钥，请重新登录。Your key is not loaded in this browser: sign in again.');
  }
}

export function sameJSON(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJSON(a[k], b[k]));
}

export async function currentKey() {
  const record = await loadKey();
  if (!record || record.keyId !== document.body.dataset.keyId) throw new NotSignedIn();
  return record;
}

// Refuse to sign anything but what was asked for.
export async function checkPrepared(prepared, { cmd, body, keyId, sealed, idem }) {
  const p = JSON.parse(prepared.signed);
  const problems = [];
  if (p.v !== 1 || p.cmd !== cmd) problems.push('cmd');
  if (p.by !== keyId) problems.push('by');
  if (p.log !== document.body.dataset.jurisdiction) problems.push('log');
  if (body !== undefined && !sameJSON(p.body, body)) problems.push('body');
  if (p.idem !== prepared.idem || (idem && p.idem !== idem)) problems.push('idem');
  if (!Array.isArray(p.targets) || p.targets.length === 0) problems.push('targets');
  if (sealed) {
    const part = prepared.sealed ? JSON.parse(prepared.sealed) : {};
    if (!prepared.sealed || (await sha256hex(prepared.sealed)) !== p.sealed
        || part.subject !== sealed.subject || !sameJSON(part.data, sealed.data)) problems.push('sealed');
  } else if (p.sealed !== null || prepared.sealed) {
    problems.push('sealed');
  }
  if (problems.length) {
    throw new Error(`服务器准备的待签名内容与表单不符，已拒绝签名 The prepared command differs from the form (${problems.join(', ')}); nothing was signed.`);
  }
  return p;
}

export async function signPrepared(record, prepared) {
  const signature = await crypto.subtle.sign({ name: 'Ed25519' }, record.key, utf8(prepared.signed));
  return { signed: prepared.signed, signature: b64(signature), key_id: record.keyId, sealed: prepared.sealed ?? null };
}

// Prepare, check, sign and record one command; -> the API's result.
export async function submitCommand(cmd, body, { sealed = null, idem = null } = {}) {
  const record = await currentKey();
  const prepared = await call('POST', '/api/v1/commands/prepare', { cmd, body, key_id: record.keyId, idem, sealed });
  await checkPrepared(prepared, { cmd, body, keyId: record.keyId, sealed, idem });
  const envelope = await signPrepared(record, prepared);
  return call('POST', '/api/v1/commands', envelope, { headers: { 'Idempotency-Key': prepared.idem } });
}
