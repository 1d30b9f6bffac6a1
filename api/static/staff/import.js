// Imports: the server checks the sheet row by row and prepares each row's command; nothing is
// recorded until this browser has signed every row and posted them as one all-or-nothing batch.

import { call, csrf, describe, Problem, show } from './api.js';
import { formatYuan } from './money.js';
import { checkPrepared, currentKey, signPrepared } from './sign.js';

const form = document.getElementById('import-check');
const checkStatus = document.getElementById('check-status');
const errors = document.getElementById('import-errors');
const preview = document.getElementById('import-preview');
const signButton = document.getElementById('import-sign');
const signStatus = document.getElementById('sign-status');
let sheet = null;

function showErrors(list) {
  const body = document.getElementById('error-rows');
  body.replaceChildren();
  for (const p of list) {
    const row = body.insertRow();
    for (const text of [p.row, p.column, p.detail]) row.insertCell().textContent = text ?? '';
  }
  errors.hidden = list.length === 0;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = form.elements.sheet.files[0];
  if (!file) return;
  sheet = null;
  preview.hidden = true;
  showErrors([]);
  show(checkStatus, '检查中… Checking…', 'busy');
  try {
    const data = await call('POST', `/api/v1/imports?name=${encodeURIComponent(file.name)}`, file,
      { raw: true, headers: { 'Content-Type': 'application/octet-stream', 'X-CSRF-Token': csrf() } });
    const record = await currentKey();
    let total = 0;
    const body = document.getElementById('preview-rows');
    body.replaceChildren();
    for (const row of data.rows) {
      const payload = await checkPrepared(row.prepared, { cmd: data.cmd, body: row.body, keyId: record.keyId, idem: row.prepared.idem });
      total += Number.isInteger(payload.body.amount) ? payload.body.amount : 0;
      if (body.rows.length < 200) {
        const tr = body.insertRow();
        tr.insertCell().textContent = row.row;
        tr.insertCell().textContent = JSON.stringify(payload.body);
      }
    }
    sheet = data;
    document.getElementById('preview-summary').textContent =
      `${data.file} · ${data.cmd} · ${data.rows.length} 行 rows · 合计 total ${formatYuan(total)}`;
    preview.hidden = false;
    show(checkStatus, `全部 ${data.rows.length} 行检查无误，尚未记录 All rows are fine; nothing recorded yet`, 'ok');
  } catch (error) {
    if (error instanceof Problem && Array.isArray(error.body.problems)) {
      showErrors(error.body.problems);
      show(checkStatus, `${error.body.problems.length} 处问题，未记录任何内容 problem(s); nothing was recorded`, 'error');
    } else {
      show(checkStatus, describe(error), 'error');
    }
  }
});

signButton.addEventListener('click', async () => {
  if (!sheet) return;
  signButton.disabled = true;
  show(signStatus, `正在签名 ${sheet.rows.length} 行… Signing…`, 'busy');
  try {
    const record = await currentKey();
    const commands = [];
    for (const row of sheet.rows) commands.push(await signPrepared(record, row.prepared));
    const results = await call('POST', '/api/v1/commands/batch', { commands });
    const duplicates = results.filter((r) => r.duplicate).length;
    show(signStatus, `已记录 Recorded ${results.length - duplicates} 行 rows；此前已记录 already recorded ${duplicates}`, 'ok');
    sheet = null;
  } catch (error) {
    if (error instanceof Problem && Array.isArray(error.body.problems) && sheet) {
      showErrors(error.body.problems.map((p) => ({
        row: sheet.rows[p.index] ? sheet.rows[p.index].row : '',
        column: (p.field && sheet.headers[p.field]) || p.field || '',
        detail: p.detail,
      })));
      show(signStatus, '被拒绝，未记录任何内容 Refused; nothing was recorded', 'error');
    } else {
      show(signStatus, describe(error), 'error');
    }
    signButton.disabled = false;
  }
});
