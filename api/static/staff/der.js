// A tiny DER (ASN.1) reader: just enough to open an encrypted PKCS#8 key file in the browser.
// Definite lengths only (DER has no others); every read is bounds-checked.

export class DerError extends Error {}

// One TLV at `offset` of `bytes`: {tag, start, end} (content is bytes[start:end]).
export function tlv(bytes, offset = 0) {
  if (offset + 2 > bytes.length) throw new DerError('truncated DER');
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > bytes.length) throw new DerError('bad DER length');
    length = 0;
    for (let i = 0; i < count; i += 1) length = length * 256 + bytes[start + i];
    start += count;
  }
  const end = start + length;
  if (end > bytes.length) throw new DerError('truncated DER');
  return { tag, start, end, bytes };
}

export function expect(node, tag, what) {
  if (node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${node.tag.toString(16)}`);
  return node;
}

// The TLVs inside a constructed node (a SEQUENCE).
export function children(node) {
  const out = [];
  let at = node.start;
  while (at < node.end) {
    const child = tlv(node.bytes.subarray(0, node.end), at);
    out.push(child);
    at = child.end;
  }
  return out;
}

export const content = (node) => node.bytes.subarray(node.start, node.end);

export function oid(node) {
  expect(node, 0x06, 'OBJECT IDENTIFIER');
  const b = content(node);
  if (b.length === 0) throw new DerError('empty OID');
  const parts = [Math.floor(b[0] / 40), b[0] % 40];
  let value = 0;
  for (let i = 1; i < b.length; i += 1) {
    value = value * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) { parts.push(value); value = 0; }
  }
  return parts.join('.');
}

export function integer(node) {
  expect(node, 0x02, 'INTEGER');
  const b = content(node);
  if (b.length === 0 || b.length > 6 || (b[0] & 0x80)) throw new DerError('INTEGER out of range');
  return b.reduce((n, byte) => n * 256 + byte, 0);
}

export function octets(node) {
  return content(expect(node, 0x04, 'OCTET STRING'));
}

// The DER bytes and label of a PEM block ("-----BEGIN <label>-----").
export function pem(text) {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!match) throw new DerError('not a PEM file');
  const b64 = match[2].replace(/\s+/g, '');
  let binary;
  try { binary = atob(b64); } catch { throw new DerError('PEM body is not base64'); }
  return { label: match[1], der: Uint8Array.from(binary, (c) => c.charCodeAt(0)) };
}
