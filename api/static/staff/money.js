// Amounts typed by people, in yuan, to integer fen — exactly as ledger/money.py parse_yuan does
// ("1234", "1234.5", "1,234.56", "¥1,234.56", "1.5万"); never through a float.

const AMOUNT = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(万)?$/;
const MAX_FEN = 10n ** 15n;

export function parseYuan(text) {
  let raw = text.trim();
  if (raw.startsWith('¥') || raw.startsWith('￥')) raw = raw.slice(1).trim();
  if (raw.endsWith('元')) raw = raw.slice(0, -1).trim();
  const match = AMOUNT.exec(raw);
  if (!match) throw new RangeError(`“${text}” 不是以元为单位的金额（如 1234.56 或 1.5万） is not an amount in yuan`);
  const whole = BigInt(match[1].replace(/,/g, ''));
  const cents = BigInt((match[2] || '').padEnd(2, '0'));
  const fen = match[3] ? whole * 1_000_000n + cents * 10_000n : whole * 100n + cents;
  if (fen > MAX_FEN) throw new RangeError(`“${text}” 金额过大 is too large`);
  return Number(fen);
}

export function formatYuan(fen) {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  const yuan = Math.floor(abs / 100).toLocaleString('en-US');
  return `${sign}¥${yuan}.${String(abs % 100).padStart(2, '0')}`;
}

export const fenToYuanText = (fen) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
