// verify.html: check the published figures against the signed log, in this browser, with no server.
//
// 1. the checkpoint (bundle/checkpoint) is signed by the trusted log key: the one given in the
//    form or as ?key=, else bundle/log-key.txt (which only shows the site agrees with itself);
// 2. every command of bundle/events.jsonl is signed (Ed25519) by a key enrolled and not revoked
//    at that point, replaying the key registry from the log's own entries;
// 3. every leaf SHA-256(0x00 ‖ signed ‖ sig ‖ key id) folds (RFC 9162) to the checkpoint's root;
// 4. every figure of data/figures.json equals the one recomputed from the commands (verify-fold.js);
// 5. every data-figure/data-value of the site's pages (followed by links from index.html)
//    equals figures.json, and the element's text shows that value.
// Ed25519 and SHA-256 come from WebCrypto; where the browser lacks them (an old browser, or a
// page served over plain http, which is not a secure context) from the vendored, audited
// noble-ed25519 and noble-hashes. ?engine=js forces those.
import { foldFigures } from "./verify-fold.js";

const MAX_PAGES = 2000;
const enc = new TextEncoder();
const $ = (id) => document.getElementById(id);

function b64(text) {
  const bin = atob(text.trim());
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// --- crypto engines -----------------------------------------------------------------------

async function webCryptoEngine(probeKey) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return null;
  try {
    await subtle.importKey("raw", probeKey, { name: "Ed25519" }, false, ["verify"]);
  } catch {
    return null;
  }
  const keys = new Map();
  return {
    name: "WebCrypto（浏览器内置 built in）",
    sha256: async (data) => new Uint8Array(await subtle.digest("SHA-256", data)),
    verify: async (pub, sig, msg) => {
      const id = hex(pub);
      if (!keys.has(id)) keys.set(id, await subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]));
      return subtle.verify({ name: "Ed25519" }, keys.get(id), sig, msg);
    },
  };
}

async function nobleEngine() {
  const ed = await import("./vendor/noble-ed25519/index.js");
  const { sha256, sha512 } = await import("./vendor/noble-hashes/sha2.js");
  ed.hashes.sha512 = sha512;
  return {
    name: "noble-ed25519 + noble-hashes（随网站提供 vendored）",
    sha256: async (data) => sha256(data),
    verify: async (pub, sig, msg) => {
      try { return ed.verify(sig, msg, pub, { zip215: false }); } catch { return false; }
    },
  };
}

// --- the page -------------------------------------------------------------------------------

const state = { ok: true, current: null };

function step(name, text) {
  let li = document.querySelector(`#steps li[data-step="${name}"]`);
  if (!li) {
    li = document.createElement("li");
    li.dataset.step = name;
    $("steps").append(li);
  }
  li.dataset.result = "pending";
  li.textContent = `… ${text}`;
  const started = performance.now();
  const handle = {
    pending: true,
    progress: (more) => { li.textContent = `… ${text} ${more}`; },
    done: (ok, more) => {
      handle.pending = false;
      li.dataset.ms = String(Math.round(performance.now() - started));
      li.dataset.result = ok ? "ok" : "fail";
      li.textContent = `${ok ? "✔" : "✘"} ${text}${more ? "：" + more : ""}`;
      if (!ok) state.ok = false;
    },
  };
  state.current = handle;
  return handle;
}

function money(value, unit) {
  if (unit !== "fen") return `${value} ${unit}`;
  const sign = value < 0 ? "-" : "";
  const abs = Math.abs(value);
  const yuan = String(Math.trunc(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}¥${yuan}.${String(abs % 100).padStart(2, "0")}`;
}

// Whether an element's text shows the value it is marked with (money as ¥1,234.56; goods as
// 1,500 or 1500), as publish/page_figures.py `displays` decides.
function displays(text, value, unit) {
  const grouped = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const forms = unit === "fen" ? [money(value, unit)] : [grouped(value), String(value)];
  return forms.some((form) => {
    for (let at = text.indexOf(form); at >= 0; at = text.indexOf(form, at + 1)) {
      const before = text[at - 1] || "";
      const after = text[at + form.length] || "";
      if (!/[\d.,]/.test(before) && !/\d/.test(after)) return true;
    }
    return false;
  });
}

async function fetchText(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.text();
}

function parseVerifierKey(text) {
  const t = text.trim();
  const first = t.indexOf("+");
  const second = t.indexOf("+", first + 1);
  if (first < 1 || second < 0) throw new Error("不是验证公钥 not a verifier key");
  const blob = b64(t.slice(second + 1));
  if (blob[0] !== 1 || blob.length !== 33) throw new Error("不是 Ed25519 公钥 not an Ed25519 key");
  return { name: t.slice(0, first), hash: t.slice(first + 1, second), key: blob.slice(1) };
}

async function checkCheckpoint(engine, note, vkey) {
  const [bodyPart, sigPart] = note.split("\n\n");
  const body = bodyPart + "\n";
  const [origin, size, root] = bodyPart.split("\n");
  const keyHash = (await engine.sha256(concat(enc.encode(vkey.name + "\n"), new Uint8Array([1]), vkey.key))).slice(0, 4);
  if (hex(keyHash) !== vkey.hash) throw new Error("公钥哈希不符 the key's hash does not match the key");
  if (origin !== vkey.name) throw new Error(`检查点来源 ${origin} 不是 ${vkey.name}`);
  const cosigners = [];
  let signed = false;
  for (const line of (sigPart || "").split("\n").filter(Boolean)) {
    const at = line.lastIndexOf(" ");
    const name = line.slice(2, at);
    const blob = b64(line.slice(at + 1));
    if (name === vkey.name && equal(blob.slice(0, 4), keyHash)) {
      signed = await engine.verify(vkey.key, blob.slice(4), enc.encode(body));
    } else {
      cosigners.push(name);
    }
  }
  if (!signed) throw new Error("检查点签名无效 the checkpoint's signature is not valid");
  return { origin, size: Number(size), root: b64(root), rootText: root, cosigners };
}

async function keyId(engine, raw) {
  return hex((await engine.sha256(raw)).slice(0, 16));
}

// A command's signature: 64 bytes of Ed25519 over its signed bytes, or a batch signature
// (ledger/batch.py): "GKB1" ‖ Ed25519 (64) ‖ index (u32 BE) ‖ size (u32 BE) ‖ RFC 9162 inclusion
// proof of SHA-256(0x00 ‖ signed) in the batch's tree; the Ed25519 signature is over
// "gongkai batch v1\n<size>\n<base64 root>\n". Each batch message is checked once (`batches`).
const BATCH_MAGIC = enc.encode("GKB1");
async function verifyCommand(engine, key, sig, signed, batches) {
  if (sig.length === 64) return engine.verify(key, sig, signed);
  if (sig.length < 76 || (sig.length - 76) % 32 !== 0 || !equal(sig.slice(0, 4), BATCH_MAGIC)) return false;
  const view = new DataView(sig.buffer, sig.byteOffset, sig.byteLength);
  const index = view.getUint32(68);
  const size = view.getUint32(72);
  if (index >= size) return false;
  const node = async (l, r) => engine.sha256(concat(new Uint8Array([1]), l, r));
  let r = await engine.sha256(concat(new Uint8Array([0]), signed));
  let fn = index;
  let sn = size - 1;
  for (let at = 76; at < sig.length; at += 32) {
    const p = sig.slice(at, at + 32);
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      r = await node(p, r);
      while (!(fn & 1) && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else {
      r = await node(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn !== 0) return false;
  const message = enc.encode(`gongkai batch v1\n${size}\n${btoa(String.fromCharCode(...r))}\n`);
  const seen = `${hex(key)}:${hex(sig.slice(4, 68))}:${hex(message)}`;
  if (!batches.has(seen)) batches.set(seen, await engine.verify(key, sig.slice(4, 68), message));
  return batches.get(seen);
}

// Verify every command against the registry as it stood; fold every leaf into the root.
async function checkLog(engine, lines, onProgress) {
  const batches = new Map();
  const keys = new Map();
  const revoked = new Set();
  const bad = [];
  const commands = [];
  const edge = []; // the tree's right edge: [level, hash]
  let previous = null;
  const node = async (l, r) => engine.sha256(concat(new Uint8Array([1]), l, r));
  for (let index = 0; index < lines.length; index++) {
    const line = JSON.parse(lines[index]);
    const signed = enc.encode(line.signed);
    const sig = b64(line.sig);
    let leaf = await engine.sha256(concat(new Uint8Array([0]), signed, sig, enc.encode(line.key_id)));
    let level = 0;
    while (edge.length && edge[edge.length - 1][0] === level) {
      leaf = await node(edge.pop()[1], leaf);
      level += 1;
    }
    edge.push([level, leaf]);
    if (previous && previous.signed === line.signed && previous.sig === line.sig) continue; // same command
    previous = line;
    const payload = JSON.parse(line.signed);
    commands.push(payload);
    let key = keys.get(line.key_id);
    if (payload.cmd === "registry.found" && keys.size === 0) {
      key = b64(payload.body.administrator.public_key);
      if ((await keyId(engine, key)) !== line.key_id) key = undefined;
    }
    let reason = null;
    if (payload.by !== line.key_id) reason = "签名人与 key_id 不符 signer differs from key_id";
    else if (revoked.has(line.key_id)) reason = "密钥已撤销 the key was revoked";
    else if (!key) reason = "密钥未登记 the key is not enrolled";
    else if (!(await verifyCommand(engine, key, sig, signed, batches))) reason = "签名无效 the signature does not verify";
    if (reason) {
      bad.push({ index, cmd: payload.cmd, reason });
    } else if (payload.cmd === "registry.found") {
      const admin = b64(payload.body.administrator.public_key);
      keys.set(await keyId(engine, admin), admin);
    } else if (payload.cmd === "official.enrol") {
      const enrolled = b64(payload.body.public_key);
      keys.set(await keyId(engine, enrolled), enrolled);
    } else if (payload.cmd === "official.revoke") {
      revoked.add(payload.body.key_id);
    }
    if (index % 500 === 0) onProgress(index, lines.length);
  }
  let root = edge.length ? edge[edge.length - 1][1] : await engine.sha256(new Uint8Array());
  for (let i = edge.length - 2; i >= 0; i--) root = await node(edge[i][1], root);
  return { bad, commands, root, size: lines.length };
}

function figureRow(id, figure, again) {
  const tr = document.createElement("tr");
  const ok = again !== undefined && again.value === figure.value && again.unit === figure.unit;
  tr.dataset.figureRow = id;
  tr.dataset.result = ok ? "ok" : "fail";
  const cells = [figure.label || id, id, money(figure.value, figure.unit),
    again === undefined ? "无法重算 cannot be recomputed" : money(again.value, again.unit), ok ? "✔" : "✘"];
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

async function checkPages(published) {
  const base = new URL(".", document.baseURI);
  const queue = [new URL("index.html", base).href];
  const seen = new Set(queue);
  const wrong = [];
  let pages = 0;
  let shown = 0;
  const visit = async (url) => {
    let text;
    try { text = await fetchText(url); } catch { return; }
    pages += 1;
    const doc = new DOMParser().parseFromString(text, "text/html");
    for (const el of doc.querySelectorAll("[data-figure]")) {
      shown += 1;
      const id = el.getAttribute("data-figure");
      const value = el.getAttribute("data-value");
      const listed = published[id];
      const where = `${url.slice(base.href.length)} ${id}`;
      if (!listed || String(listed.value) !== value) {
        wrong.push(`${where}: ${value} ≠ ${listed ? listed.value : "—"}`);
      } else if (!displays(el.textContent, listed.value, listed.unit)) {
        wrong.push(`${where}: 页面显示 reads “${el.textContent.trim()}” ≠ ${money(listed.value, listed.unit)}`);
      }
    }
    for (const a of doc.querySelectorAll("a[href]")) {
      const next = new URL(a.getAttribute("href"), url);
      next.hash = "";
      next.search = "";
      const href = next.href;
      if (href.startsWith(base.href) && href.endsWith(".html") && !href.startsWith(base.href + "bundle/")
          && !seen.has(href) && seen.size < MAX_PAGES) {
        seen.add(href);
        queue.push(href);
      }
    }
  };
  // A few pages at a time: a static server answers them in parallel.
  const worker = async () => {
    while (queue.length) await visit(queue.shift());
  };
  while (queue.length) {
    await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
  }
  wrong.sort();
  return { pages, shown, wrong };
}

async function run() {
  state.ok = true;
  $("steps").replaceChildren();
  $("figures").querySelector("tbody").replaceChildren();
  const verdict = $("verdict");
  verdict.dataset.verdict = "pending";
  verdict.textContent = "正在核验… Verifying…";
  const given = $("log-key").value.trim();
  const s1 = step("checkpoint", "检查点签名 The checkpoint is signed by the log key");
  try {
    const [note, published, eventsText, figuresText] = await Promise.all([
      fetchText("bundle/checkpoint"), fetchText("bundle/log-key.txt"),
      fetchText("bundle/events.jsonl"), fetchText("data/figures.json")]);
    const vkeyText = given || published.trim();
    $("key-source").textContent = given
      ? "使用您给出的公钥。Using the key you gave."
      : "使用随网站发布的公钥（bundle/log-key.txt）：请与公告栏、县门户网站公布的公钥比对。" +
        " Using the key that came with the site: compare it with the key published elsewhere.";
    $("key-used").textContent = vkeyText;
    const vkey = parseVerifierKey(vkeyText);
    const forced = new URLSearchParams(location.search).get("engine") === "js";
    const engine = (!forced && (await webCryptoEngine(vkey.key))) || (await nobleEngine());
    $("engine").textContent = engine.name;
    document.body.dataset.engine = engine.name.startsWith("WebCrypto") ? "webcrypto" : "noble";
    const checkpoint = await checkCheckpoint(engine, note, vkey);
    s1.done(true, `${checkpoint.origin}，${checkpoint.size} 条，根 root ${checkpoint.rootText}` +
      (checkpoint.cosigners.length ? `；见证 cosigned by ${checkpoint.cosigners.join("、")}` : ""));

    const s2 = step("signatures", "每条记录的签名 Every command's signature");
    const lines = eventsText.split("\n").filter((l) => l.length);
    const log = await checkLog(engine, lines, (i, n) => s2.progress(`${i}/${n}`));
    s2.done(log.bad.length === 0, log.bad.length
      ? log.bad.slice(0, 5).map((b) => `第 ${b.index} 条 leaf ${b.index} ${b.cmd}: ${b.reason}`).join("；")
      : `${log.commands.length} 条命令 commands`);

    const s3 = step("root", "Merkle 根与检查点一致 The log recomputes to the checkpoint's root");
    const rootOk = log.size === checkpoint.size && equal(log.root, checkpoint.root);
    s3.done(rootOk, rootOk ? `${log.size} 个叶子 leaves`
      : `根不符 root mismatch：重算 recomputed ${log.size} 个叶子 leaves，根 root ${btoa(String.fromCharCode(...log.root))}`);

    const s4 = step("figures", "公布的数字可由记录重算 Every published figure recomputes");
    const data = JSON.parse(figuresText);
    const stated = data.checkpoint || {};
    const sameCheckpoint = stated.origin === checkpoint.origin && stated.size === checkpoint.size && stated.root === checkpoint.rootText;
    const again = foldFigures(log.commands);
    const tbody = $("figures").querySelector("tbody");
    const rows = Object.entries(data.figures).sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([id, figure]) => figureRow(id, figure, again[id]));
    const failed = rows.filter((row) => row.dataset.result !== "ok");
    const wrong = failed.length;
    tbody.append(...failed, ...rows.filter((row) => row.dataset.result === "ok")); // ✘ first
    s4.done(wrong === 0 && sameCheckpoint, (sameCheckpoint ? "" : "figures.json 属于另一个检查点 is for another checkpoint；") +
      `${Object.keys(data.figures).length - wrong} ✔，${wrong} ✘`);

    const s5 = step("pages", "网页上的数字与 figures.json 一致 The pages show the published figures");
    const pages = await checkPages(data.figures);
    s5.done(pages.wrong.length === 0, pages.wrong.length ? pages.wrong.slice(0, 5).join("；") : `${pages.pages} 个页面 pages，${pages.shown} 个数字 figures`);
  } catch (error) {
    const message = String(error.message || error);
    if (state.current && state.current.pending) state.current.done(false, message);
    else step("error", "核验未能完成 The check could not finish").done(false, message);
  }
  verdict.dataset.verdict = state.ok ? "ok" : "fail";
  verdict.textContent = state.ok
    ? "✔ 全部核验通过：公布的每个数字都可由签名记录重算。All checks pass."
    : "✘ 核验未通过：见上方标 ✘ 的项目。Verification failed: see the items marked ✘.";
}

document.addEventListener("DOMContentLoaded", () => {
  const params = new URLSearchParams(location.search);
  if (params.get("key")) $("log-key").value = params.get("key");
  $("key-form").addEventListener("submit", (event) => { event.preventDefault(); run(); });
  run();
});
