// Forms -> command bodies. Conventions (see templates/staff/_macros.html):
//   name="a.b.c"          sets body.a.b.c; names starting with "_" are for the page only
//   data-kind="yuan"      an amount in yuan -> integer fen;  "int" a whole number;
//   data-kind="bool"      a checkbox -> true/false;  "list" checkboxes/multi-select -> array;
//   data-kind="goods"     a textarea of ITEM|GRADE|UNIT|QUANTITY lines;  "json" a JSON value
//   data-list="goods"     rows ([data-line]) of inputs -> an array of objects
//   <fieldset data-when="_what=money">  enabled only while that radio is chosen; like a browser's
//   own form submission, disabled controls are left out. Empty text is left out.

import { describe, show } from './api.js';
import { submitCommand } from './sign.js';
import { parseYuan } from './money.js';

export class FieldError extends Error {
  constructor(element, message) { super(message); this.element = element; }
}

function setPath(target, path, value) {
  const parts = path.split('.');
  let at = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof at[part] !== 'object' || at[part] === null) at[part] = {};
    at = at[part];
  }
  at[parts[parts.length - 1]] = value;
}

function getPath(target, path) {
  return path.split('.').reduce((at, part) => (at && typeof at === 'object' ? at[part] : undefined), target);
}

function whole(raw, element) {
  if (!/^\d+$/.test(raw)) throw new FieldError(element, `“${raw}” 应为整数 must be a whole number`);
  return Number(raw);
}

function goodsLines(raw, element) {
  return raw.split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
    const parts = line.split('|').map((p) => p.trim());
    if (parts.length !== 4) throw new FieldError(element, `“${line}” 应为 物资|规格|单位|数量 must be ITEM|GRADE|UNIT|QUANTITY`);
    return { item: parts[0], grade: parts[1], unit: parts[2], quantity: whole(parts[3], element) };
  });
}

function valueOf(kind, raw, element) {
  try {
    if (kind === 'yuan') return parseYuan(raw);
    if (kind === 'int') return whole(raw, element);
    if (kind === 'goods') return goodsLines(raw, element);
    if (kind === 'json') return JSON.parse(raw);
  } catch (error) {
    if (error instanceof FieldError) throw error;
    throw new FieldError(element, error.message);
  }
  return raw;
}

const off = (element) => element.matches(':disabled') || Boolean(element.closest('fieldset:disabled'));

export function bodyOf(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.name.startsWith('_') || el.tagName === 'BUTTON' || el.tagName === 'FIELDSET'
        || el.type === 'file' || off(el) || el.closest('[data-list]')) continue;
    const kind = el.dataset.kind || 'text';
    if (kind === 'list') {
      const list = getPath(body, el.name) || [];
      if (el.type === 'checkbox') { if (el.checked) list.push(el.value); } else if (el.multiple) {
        for (const option of el.selectedOptions) list.push(option.value);
      }
      setPath(body, el.name, list);
    } else if (kind === 'bool') {
      setPath(body, el.name, el.checked);
    } else if (!((el.type === 'radio' || el.type === 'checkbox') && !el.checked)) {
      const raw = el.value.trim();
      if (raw !== '') setPath(body, el.name, valueOf(kind, raw, el));
    }
  }
  for (const list of form.querySelectorAll('[data-list]')) {
    if (list.closest('fieldset:disabled')) continue;
    const lines = [];
    for (const line of list.querySelectorAll('[data-line]')) {
      const inputs = [...line.querySelectorAll('[name]')];
      if (inputs.every((i) => i.value.trim() === '')) continue;
      const row = {};
      for (const input of inputs) row[input.name] = valueOf(input.dataset.kind || 'text', input.value.trim(), input);
      lines.push(row);
    }
    setPath(body, list.dataset.list, lines);
  }
  return body;
}

// Enable each [data-when] fieldset only while its radio is chosen.
export function toggles(form) {
  const apply = () => {
    for (const fieldset of form.querySelectorAll('fieldset[data-when]')) {
      const [name, value] = fieldset.dataset.when.split('=');
      const chosen = form.querySelector(`input[name="${name}"]:checked`);
      fieldset.disabled = !chosen || chosen.value !== value;
    }
  };
  form.addEventListener('change', (event) => { if (event.target.type === 'radio') apply(); });
  apply();
  return apply;
}

export function addLines(form) {
  for (const button of form.querySelectorAll('[data-add-line]')) {
    button.disabled = false;
    button.addEventListener('click', () => {
      const list = form.querySelector(`[data-list="${button.dataset.addLine}"]`);
      const line = list.querySelector('[data-line]').cloneNode(true);
      for (const input of line.querySelectorAll('input')) { input.value = ''; input.required = false; }
      list.append(line);
    });
  }
}

function markInvalid(form, name) {
  const element = name && form.elements.namedItem(name);
  if (element && element.setAttribute) {
    element.setAttribute('aria-invalid', 'true');
    element.focus();
  }
}

// Wire a form that signs one command (plus follow-ups). build(form) -> {cmd, body, sealed?, after?}
export function wire(form, build, { done } = {}) {
  const status = form.querySelector('[data-status]');
  const button = form.querySelector('button[type=submit]');
  let idem = crypto.randomUUID(); // a retry of the same form records once; a changed form is new
  form.addEventListener('input', () => { idem = crypto.randomUUID(); });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const bad of form.querySelectorAll('[aria-invalid]')) bad.removeAttribute('aria-invalid');
    if (!form.reportValidity()) return;
    button.disabled = true;
    show(status, '正在签名… Signing…', 'busy');
    try {
      const { cmd, body, sealed = null, after = [] } = await build(form);
      const result = await submitCommand(cmd, body, { sealed, idem });
      const lines = [`${result.duplicate ? '此前已记录，未重复记录 Already recorded before' : '已签名并记录 Signed and recorded'}：${result.cmd} · ${result.idem}`];
      for (const next of after) {
        const more = await submitCommand(next.cmd, next.body);
        lines.push(`已签名并记录 Signed and recorded：${more.cmd}`);
      }
      show(status, lines.join('；'), 'ok');
      idem = crypto.randomUUID();
      if (done) done(form, result);
    } catch (error) {
      if (error instanceof FieldError) {
        error.element.setAttribute('aria-invalid', 'true');
        error.element.focus();
        show(status, `输入有误 Bad input：${error.message}`, 'error');
      } else {
        if (error.body && error.body.field) markInvalid(form, error.body.field);
        show(status, describe(error), 'error');
      }
    } finally {
      button.disabled = false;
    }
  });
}
