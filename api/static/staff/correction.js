// Corrections: find the aggregate's events, pick the one to correct, reverse it or replace it
// with adjusted content, and sign a correction.record carrying the 更正说明.

import { call, describe, show } from './api.js';
import { bodyOf, toggles, wire } from './formkit.js';
import { fenToYuanText } from './money.js';

const find = document.getElementById('find');
const findStatus = document.getElementById('find-status');
const history = document.getElementById('history');
const rows = document.getElementById('history-rows');
const correct = document.getElementById('correct');
const replacement = document.getElementById('replacement');
let chosen = null; // {aggregate, version, cmd, body}
let keepForm = false; // refreshing after a correction keeps its result in view

function cell(row, text, className) {
  const td = row.insertCell();
  if (className) {
    const pre = document.createElement('pre');
    pre.textContent = text;
    td.append(pre);
  } else {
    td.textContent = text;
  }
  return td;
}

function field(name, label, value) {
  const p = document.createElement('p');
  const id = `r-${name}`;
  const lab = document.createElement('label');
  lab.htmlFor = id;
  lab.textContent = label;
  let input;
  if (typeof value === 'boolean') {
    input = document.createElement('input');
    input.type = 'checkbox';
    input.checked = value;
    input.dataset.kind = 'bool';
  } else if (name === 'goods' && Array.isArray(value)) {
    input = document.createElement('textarea');
    input.rows = Math.max(2, value.length);
    input.value = value.map((g) => [g.item, g.grade, g.unit, g.quantity].join('|')).join('\n');
    input.dataset.kind = 'goods';
  } else if (name === 'amount' && typeof value === 'number') {
    input = document.createElement('input');
    input.value = fenToYuanText(value);
    input.dataset.kind = 'yuan';
    lab.textContent = `${label}（元 yuan）`;
  } else if (typeof value === 'number') {
    input = document.createElement('input');
    input.value = String(value);
    input.dataset.kind = 'int';
  } else if (typeof value === 'string') {
    input = document.createElement('input');
    input.value = value;
  } else {
    input = document.createElement('input');
    input.type = 'hidden';
    input.value = JSON.stringify(value);
    input.dataset.kind = 'json';
  }
  input.id = id;
  input.name = `replacement.${name}`;
  p.append(lab, input);
  return p;
}

function choose(aggregate, event) {
  chosen = { aggregate, version: event.version, cmd: event.cmd, body: event.body };
  document.getElementById('correct-what').textContent = `${event.cmd} v${event.version}`;
  for (const old of replacement.querySelectorAll('p')) old.remove();
  for (const [name, value] of Object.entries(event.body)) replacement.append(field(name, name, value));
  correct.hidden = false;
}

find.addEventListener('submit', async (e) => {
  e.preventDefault();
  const kind = find.elements.kind.value;
  const code = find.elements.code.value.trim();
  const ref = kind === 'uuid' ? code : `${kind}:${code}`;
  show(findStatus, '查找中… Looking…', 'busy');
  try {
    const found = await call('GET', `/api/v1/history/${encodeURIComponent(ref)}`);
    rows.replaceChildren();
    if (!keepForm) correct.hidden = true; // a new search: choose again
    keepForm = false;
    for (const event of found.events) {
      const row = rows.insertRow();
      const pick = row.insertCell();
      if (event.correctable) {
        const radio = document.createElement('input');
        radio.type = 'radio';
        radio.name = 'pick';
        radio.value = String(event.version);
        radio.setAttribute('aria-label', `更正 v${event.version}`);
        radio.addEventListener('change', () => choose(found.aggregate, event));
        pick.append(radio);
      } else if (event.corrected_by) {
        pick.textContent = `已由 v${event.corrected_by} 更正`;
      } else if (event.home) {
        const go = document.createElement('button');
        go.type = 'button';
        go.className = 'link';
        go.textContent = '到原记录更正 correct it at its record';
        go.addEventListener('click', () => {
          find.elements.kind.value = 'uuid';
          find.elements.code.value = event.home;
          find.requestSubmit();
        });
        pick.append(go);
      }
      cell(row, `v${event.version}`);
      cell(row, event.at);
      cell(row, event.cmd);
      cell(row, event.official || event.by);
      cell(row, JSON.stringify(event.body, null, 1), 'body');
    }
    document.getElementById('history-id').textContent = found.aggregate;
    history.hidden = false;
    show(findStatus, `${found.events.length} 条记录 events${found.more ? '（仅显示最近的 latest only）' : ''}`, 'ok');
  } catch (error) {
    history.hidden = true;
    show(findStatus, describe(error), 'error');
  }
});

toggles(correct);
wire(correct, async (form) => {
  const fields = bodyOf(form);
  const body = {
    corrects: { aggregate: chosen.aggregate, version: chosen.version },
    original: { cmd: chosen.cmd, body: chosen.body },
    note: fields.note,
  };
  if (fields.replacement) body.replacement = fields.replacement;
  return { cmd: 'correction.record', body };
}, { done() { keepForm = true; find.requestSubmit(); } }); // the history now shows the correction
