import Decimal from 'decimal.js';
import { UserErrorCode } from './errors';

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

/** A bounded decimal's rule: its range and how many places it may have (never rounded). */
export interface DecimalRule {
  required: boolean;
  min: number;
  minInclusive: boolean;
  max: number;
  scale: number;
}

/**
 * A decimal from untrusted input within `rule`: `null` when absent (a REQUIRED problem if it must be
 * there) or invalid, with the problem handed to `fail` (INVALID, OUT_OF_RANGE or TOO_PRECISE).
 */
export function readBoundedDecimal(
  value: unknown,
  field: string,
  rule: DecimalRule,
  fail: (field: string, code: UserErrorCode, message: string) => void,
): Decimal | null {
  if (value === undefined || value === null) {
    if (rule.required) fail(field, UserErrorCode.REQUIRED, 'is required');
    return null;
  }
  const decimal = parseDecimal(value);
  if (decimal === null) {
    fail(field, UserErrorCode.INVALID, 'must be a number (or a decimal string such as "12000.50")');
    return null;
  }
  const belowMin = rule.minInclusive ? decimal.lt(rule.min) : decimal.lte(rule.min);
  if (belowMin || decimal.gt(rule.max)) {
    const lower = rule.minInclusive ? `at least ${rule.min}` : `greater than ${rule.min}`;
    fail(field, UserErrorCode.OUT_OF_RANGE, `must be ${lower} and at most ${rule.max}`);
    return null;
  }
  if (decimal.decimalPlaces() > rule.scale) {
    fail(field, UserErrorCode.TOO_PRECISE, `must have at most ${rule.scale} decimal places (values are never rounded)`);
    return null;
  }
  return decimal;
}
