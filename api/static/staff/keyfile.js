// Open an official's key file in the browser: PKCS#8 PEM encrypted with PBES2 (RFC 8018), as
// Python's `cryptography` writes it (BestAvailableEncryption: PBKDF2-HMAC-SHA256, AES-256-CBC),
// decrypted with WebCrypto and imported as a NON-extractable Ed25519 signing key. The key file,
// the passphrase and the key never leave this browser.

import { DerError, children, expect, integer, octets, oid, pem, tlv } from './der.js';
import { hex } from './bytes.js';

const OID = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  ed25519: '1.3.101.112',
};
const PRF = {
  '1.2.840.113549.2.7': 'SHA-1', // the default when the parameters name none
  '1.2.840.113549.2.9': 'SHA-256',
  '1.2.840.113549.2.10': 'SHA-384',
  '1.2.840.113549.2.11': 'SHA-512',
};
const CIPHER = { // AES-CBC key lengths WebCrypto offers (browsers do not do AES-192)
  '2.16.840.1.101.3.4.1.2': 128,
  '2.16.840.1.101.3.4.1.42': 256,
};
const MAX_ITERATIONS = 10_000_000;

export class KeyFileError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

export const MESSAGES = {
  not_a_key: ['这不是 gongkai 密钥文件（应为 .key 文件）', 'This is not a gongkai key file (choose the .key file).'],
  wrong_passphrase: ['口令错误，或密钥文件已损坏', 'Wrong passphrase, or a damaged key file.'],
  unsupported: ['不支持的密钥文件加密方式', 'This key file is encrypted in a way this page does not support.'],
  no_webcrypto: ['此浏览器不能在本页签名（需 HTTPS 和支持 Ed25519 的浏览器）',
    'This browser cannot sign here: it needs HTTPS and WebCrypto Ed25519 (Chrome 137+, Firefox 129+, Safari 17+).'],
};

function fail(code) { return new KeyFileError(code, MESSAGES[code].join(' ')); }

// PBES2 parameters and ciphertext of an EncryptedPrivateKeyInfo.
export function pbes2Of(der) {
  const top = children(expect(tlv(der), 0x30, 'EncryptedPrivateKeyInfo'));
  const [algorithm, data] = top;
  const [scheme, params] = children(expect(algorithm, 0x30, 'AlgorithmIdentifier'));
  if (oid(scheme) !== OID.pbes2) throw fail('unsupported');
  const [kdf, enc] = children(params);
  const [kdfOid, kdfParams] = children(kdf);
  if (oid(kdfOid) !== OID.pbkdf2) throw fail('unsupported');
  const fields = children(kdfParams);
  const salt = octets(fields[0]);
  const iterations = integer(fields[1]);
  let hash = 'SHA-1';
  for (const field of fields.slice(2)) {
    if (field.tag === 0x30) {
      hash = PRF[oid(children(field)[0])];
      if (!hash) throw fail('unsupported');
    }
  }
  const [encOid, ivNode] = children(enc);
  const bits = CIPHER[oid(encOid)];
  if (!bits || iterations < 1 || iterations > MAX_ITERATIONS) throw fail('unsupported');
  return { salt, iterations, hash, bits, iv: octets(ivNode), ciphertext: octets(data) };
}

async function decrypt(der, passphrase) {
  const p = pbes2Of(der);
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey']);
  const aes = await crypto.subtle.deriveKey(
    { name: 'PBKDF2', salt: p.salt, iterations: p.iterations, hash: p.hash },
    base, { name: 'AES-CBC', length: p.bits }, false, ['decrypt']);
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CBC', iv: p.iv }, aes, p.ciphertext));
  } catch {
    throw fail('wrong_passphrase'); // bad padding: the derived key is wrong
  }
}

// Is this a PKCS#8 PrivateKeyInfo holding an Ed25519 key? (A wrong passphrase that happened to
// give valid padding gives garbage here.)
function isEd25519(info) {
  try {
    const [version, algorithm, key] = children(expect(tlv(info), 0x30, 'PrivateKeyInfo'));
    integer(version);
    octets(key);
    return oid(children(algorithm)[0]) === OID.ed25519;
  } catch (error) {
    if (error instanceof DerError) return false;
    throw error;
  }
}

// -> {key: CryptoKey (Ed25519, sign only, not extractable), publicRaw: Uint8Array(32), keyId}
export async function openKeyFile(text, passphrase) {
  if (!globalThis.crypto || !crypto.subtle) throw fail('no_webcrypto');
  let block;
  try { block = pem(text); } catch { throw fail('not_a_key'); }
  let info;
  if (block.label === 'ENCRYPTED PRIVATE KEY') {
    try { info = await decrypt(block.der, passphrase); } catch (error) {
      if (error instanceof KeyFileError) throw error;
      if (error instanceof DerError) throw fail('not_a_key');
      throw error;
    }
    if (!isEd25519(info)) throw fail('wrong_passphrase');
  } else if (block.label === 'PRIVATE KEY') {
    info = block.der; // an unencrypted key file (never written by gongkai, but readable)
    if (!isEd25519(info)) throw fail('not_a_key');
  } else {
    throw fail('not_a_key');
  }
  let publicRaw;
  let key;
  try {
    // Import once extractable only to learn the public half (JWK "x"), then for good as a key
    // that script can sign with but never read back.
    const once = await crypto.subtle.importKey('pkcs8', info, { name: 'Ed25519' }, true, ['sign']);
    const jwk = await crypto.subtle.exportKey('jwk', once);
    publicRaw = Uint8Array.from(atob(jwk.x.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    key = await crypto.subtle.importKey('pkcs8', info, { name: 'Ed25519' }, false, ['sign']);
  } catch (error) {
    if (error && error.name === 'NotSupportedError') throw fail('no_webcrypto');
    throw fail('wrong_passphrase');
  } finally {
    info.fill(0);
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', publicRaw));
  return { key, publicRaw, keyId: hex(digest).slice(0, 32) };
}

