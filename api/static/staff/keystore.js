// The signed-in official's key, kept for the session in this browser's IndexedDB as a
// non-extractable WebCrypto key: pages can sign with it, no script can read it out, and it is
// deleted on sign-out or once the session has expired.

const DB = 'gongkai-staff';
const STORE = 'keys';
const CURRENT = 'current';

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, act) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = act(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

// record: {keyId, key (CryptoKey), official, expires (ms since the epoch)}
export const saveKey = (record) => run('readwrite', (store) => store.put(record, CURRENT));

export const forgetKey = () => run('readwrite', (store) => store.delete(CURRENT));

export async function loadKey() {
  const record = await run('readonly', (store) => store.get(CURRENT));
  if (!record) return null;
  if (record.expires <= Date.now()) {
    await forgetKey();
    return null;
  }
  return record;
}
