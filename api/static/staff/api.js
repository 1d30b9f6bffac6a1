// Calls to the JSON API from the staff pages: CSRF header, RFC 9457 problems, messages.

export class Problem extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function csrf() {
  const found = document.cookie.split('; ').find((c) => c.startsWith('gk_csrf='));
  return found ? decodeURIComponent(found.slice(8)) : '';
}

// fetch + JSON; `raw` sends a Blob/File as it is. Throws Problem for any non-2xx answer.
export async function call(method, url, body, { headers = {}, raw = false } = {}) {
  const init = { method, headers: { Accept: 'application/json', 'X-CSRF-Token': csrf(), ...headers }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.body = raw ? body : JSON.stringify(body);
    if (!raw) init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new Problem(0, { title: 'Network error', title_zh: '网络错误，未能连接服务器', detail: String(error) });
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text.slice(0, 300) }; }
  if (!response.ok) throw new Problem(response.status, data);
  return data;
}

// A refusal as people read it: Chinese title first, the English title and the detail after.
export function describe(error) {
  if (error instanceof Problem) {
    const b = error.body;
    const zh = b.title_zh || '请求被拒绝';
    const en = b.title || `HTTP ${error.status}`;
    return `${zh}（${en}）：${b.detail || ''}`;
  }
  return `出错了 Error: ${error && error.message ? error.message : error}`;
}

export function show(target, text, kind = '') {
  if (!target) return;
  target.textContent = text;
  target.className = `status ${kind}`.trim();
}
