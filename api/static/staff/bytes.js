// Bytes <-> text helpers shared by the staff pages.
export const utf8 = (text) => new TextEncoder().encode(text);

export function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function b64(bytes) {
  let binary = '';
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
  return btoa(binary);
}

export async function sha256hex(data) {
  return hex(await crypto.subtle.digest('SHA-256', typeof data === 'string' ? utf8(data) : data));
}
