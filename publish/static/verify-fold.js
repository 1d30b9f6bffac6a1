// The published figures, recomputed from the signed commands of the public bundle.
//
// A fold equivalent to the server's flows read model (projections/flows.py) and its reports
// (projections/reports.py: flow_report and goods_totals over all time) as publish/site_figures.py
// names them. Money is integer fen, goods in their unit; a correction negates the rows of the
// command it corrects and adds the rows of its replacement. Pledges are never counted.
// `commands` are the parsed signed payloads, once per command, in log order.

const FIRST = "0000-00-00";
const LAST = "9999-99-99";

function goodsRows(base, goods) {
  return (goods || []).map((g) => ({ ...base, item: g.item, grade: g.grade ?? "", unit: g.unit, quantity: g.quantity }));
}

// The flow rows of one command body (positive; a correction negates them): flows.py `_rows`.
export function flowRows(cmd, body) {
  const day = body.date ?? "";
  if (cmd === "donation.receive") {
    const base = { day, boundary: "incoming", kind: "donation", source: `donor:${body.donor_class}`,
      donor_class: body.donor_class, receipt_no: body.receipt_no ?? null };
    if (body.fund != null) {
      return [{ ...base, dest: `fund:${body.fund}`, fund: body.fund, amount: body.amount }];
    }
    return goodsRows({ ...base, dest: `store:${body.store}`, store: body.store }, body.goods);
  }
  if (cmd === "appropriation.receive") {
    return [{ day, boundary: "incoming", kind: "appropriation", source: `government:${body.level}`,
      dest: `fund:${body.fund}`, fund: body.fund, level: body.level, amount: body.amount }];
  }
  if (cmd === "allocation.make") {
    return [{ day, boundary: "internal", kind: "allocation", source: `fund:${body.fund}`,
      dest: `program:${body.program}`, fund: body.fund, amount: body.amount }];
  }
  if (cmd === "transfer.make") {
    return [{ day, boundary: "internal", kind: "transfer", source: `fund:${body.from_fund}`,
      dest: `fund:${body.to_fund}`, fund: body.from_fund, amount: body.amount }];
  }
  if (cmd === "disbursement.make") {
    return [{ day, boundary: "outgoing", kind: "disbursement", source: `program:${body.program}`,
      dest: "recipient", amount: body.amount }];
  }
  if (cmd === "goods.receive") {
    return goodsRows({ day, boundary: "incoming", kind: "goods_in", source: "external",
      dest: `store:${body.store}`, store: body.store }, body.goods);
  }
  if (cmd === "goods.issue") {
    return goodsRows({ day, boundary: "outgoing", kind: "goods_issue", source: `store:${body.store}`,
      dest: body.institution ? "institution" : "recipient", store: body.store }, body.goods);
  }
  return []; // pledges and every other command move no money or goods that is counted
}

function rowsOf(payload) {
  const body = payload.body || {};
  if (payload.cmd !== "correction.record") {
    return flowRows(payload.cmd, body);
  }
  const original = body.original || {};
  const negated = flowRows(original.cmd, original.body || {}).map((r) => ({
    ...r, amount: -(r.amount ?? 0), quantity: -(r.quantity ?? 0) }));
  const replaced = body.replacement != null ? flowRows(original.cmd, body.replacement) : [];
  return [...negated, ...replaced];
}

function add(map, key, value) {
  map.set(key, (map.get(key) ?? 0) + value);
}

// Every figure as { id: { value, unit } }, keyed exactly as data/figures.json.
export function foldFigures(commands) {
  const accounts = new Set();
  const sums = new Map(); // "kind|source|dest" -> [before, during]
  const donors = new Map();
  const governments = new Map();
  const goods = new Map(); // "store|item|grade|unit" -> {received, issued, in_store, unit}
  const donations = new Map();
  for (const payload of commands) {
    const body = payload.body || {};
    if (payload.cmd === "fund.open" || payload.cmd === "program.open") {
      accounts.add(`${payload.cmd.split(".")[0]}:${body.code}`);
      continue;
    }
    for (const row of rowsOf(payload)) {
      const amount = row.amount ?? 0;
      const quantity = row.quantity ?? 0;
      if (row.day > LAST) continue;
      if (quantity !== 0) {
        const key = [row.store, row.item, row.grade, row.unit].join("|");
        const line = goods.get(key) ?? { store: row.store, item: row.item, grade: row.grade, unit: row.unit,
          received: 0, issued: 0, in_store: 0 };
        if (row.boundary === "incoming" && row.day >= FIRST) line.received += quantity;
        if (row.boundary === "outgoing" && row.day >= FIRST) line.issued += quantity;
        line.in_store += row.boundary === "incoming" ? quantity : -quantity;
        goods.set(key, line);
        continue;
      }
      const key = `${row.kind}|${row.source}|${row.dest}`;
      const pair = sums.get(key) ?? [0, 0];
      pair[row.day < FIRST ? 0 : 1] += amount;
      sums.set(key, pair);
      if (row.boundary === "incoming" && row.day >= FIRST && row.fund != null && accounts.has(`fund:${row.fund}`)) {
        if (row.kind === "donation") add(donors, row.donor_class, amount);
        if (row.kind === "appropriation") add(governments, row.level, amount);
      }
      if (row.kind === "donation" && row.fund != null && row.receipt_no != null) {
        add(donations, row.receipt_no, amount);
      }
    }
  }
  return figuresOf(accounts, sums, donors, governments, goods, donations);
}

function figuresOf(accounts, sums, donors, governments, goods, donations) {
  const f = new Map(); // account -> measures
  const get = (account) => {
    if (!f.has(account)) {
      f.set(account, { opening: 0, received: 0, transfers_in: 0, transfers_out: 0, allocated: 0, disbursed: 0 });
    }
    return f.get(account);
  };
  let incoming = 0;
  let outgoing = 0;
  for (const [key, [before, during]] of sums) {
    const [kind, source, dest] = key.split("|");
    if (accounts.has(dest)) {
      const m = get(dest);
      m.opening += before;
      const column = { donation: "received", appropriation: "received", transfer: "transfers_in", allocation: "allocated" }[kind];
      if (column) m[column] += during;
      if (kind === "donation" || kind === "appropriation") incoming += during;
    }
    if (accounts.has(source)) {
      const m = get(source);
      m.opening -= before;
      const column = { transfer: "transfers_out", allocation: "allocated", disbursement: "disbursed" }[kind];
      if (column) m[column] += during;
      if (kind === "disbursement") outgoing += during;
    }
  }
  const out = {};
  const fen = (id, value) => { out[id] = { value, unit: "fen" }; };
  let idleTotal = 0;
  for (const account of [...accounts].sort()) {
    const [kind, code] = [account.slice(0, account.indexOf(":")), account.slice(account.indexOf(":") + 1)];
    const m = get(account);
    if (kind === "fund") {
      const idle = m.opening + m.received + m.transfers_in - m.transfers_out - m.allocated;
      for (const c of ["received", "transfers_in", "transfers_out", "allocated"]) fen(`fund/${code}/${c}`, m[c]);
      fen(`fund/${code}/idle`, idle);
      idleTotal += idle;
    } else {
      const idle = m.opening + m.allocated - m.disbursed;
      fen(`program/${code}/allocated`, m.allocated);
      fen(`program/${code}/disbursed`, m.disbursed);
      fen(`program/${code}/idle`, idle);
      idleTotal += idle;
    }
  }
  let sources = 0;
  for (const [donorClass, amount] of donors) { fen(`sources/donor/${donorClass}`, amount); sources += amount; }
  for (const [level, amount] of governments) { fen(`sources/government/${level}`, amount); sources += amount; }
  fen("sources/total", sources);
  fen("totals/incoming", incoming);
  fen("totals/outgoing", outgoing);
  fen("totals/idle", idleTotal);
  for (const line of goods.values()) {
    const base = `goods/${line.store}/${line.item}|${line.grade}|${line.unit}`;
    for (const c of ["received", "issued", "in_store"]) out[`${base}/${c}`] = { value: line[c], unit: line.unit };
  }
  for (const [receipt, amount] of donations) fen(`donation/${receipt}/amount`, amount);
  return out;
}
