import Decimal from 'decimal.js';

export { Decimal };

const DECIMAL_STRING = /^-?\d+(\.\d+)?$/;

/**
 * Reads a money-like value from untrusted input: a finite JSON number or a plain decimal string
 * (`"12000.50"`). Anything else (booleans, null, exponents, blanks, `NaN`, `Infinity`) is `null`.
 * Numbers are read through their shortest round-trip text, so `12000.5` is exactly `12000.5`.
 */
export function parseDecimal(value: unknown): Decimal | null {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    return new Decimal(String(value));
  }
  if (typeof value === 'string' && DECIMAL_STRING.test(value)) {
    return new Decimal(value);
  }
  return null;
}

/** Fixed-point text with `scale` places, as PostgreSQL's numeric(p, scale) would store it. */
export function toFixedScale(value: Decimal | string, scale = 2): string {
  return new Decimal(value).toFixed(scale);
}
