import { isCurrencyCode } from '../common/currency';
import { InvalidArgumentError } from '../common/errors';

/**
 * ISO 4217 exponents where Node's ICU (CLDR) data disagrees with ISO 4217 itself. CLDR gives these
 * currencies 0 fraction digits because nobody uses their subunits in practice (or, for IQD, because
 * the fils is out of circulation), but ISO 4217 — which our numeric columns, the README and the
 * ledger follow — lists the exponent below. Checked on Node 20 (ICU 7x): every other active code
 * agrees (VND 0, JPY 0, KWD 3, KES 2, INR 2, NGN 2, PHP 2, BHD 3, OMR 3...). A test pins the table.
 */
const ISO_4217_OVERRIDES: Readonly<Record<string, number>> = {
  AFN: 2,
  ALL: 2,
  COP: 2,
  HUF: 2,
  IDR: 2,
  IQD: 3,
  IRR: 2,
  KPW: 2,
  LAK: 2,
  LBP: 2,
  MGA: 2,
  MMK: 2,
  PKR: 2,
  SLL: 2,
  SOS: 2,
  SYP: 2,
  YER: 2,
};

const cache = new Map<string, number>();

/**
 * The number of decimal places (ISO 4217 exponent) of a currency's minor unit: VND 0, KES 2, KWD 3.
 * Throws `InvalidArgumentError('currency')` for a code that is not an active, lendable ISO 4217 code.
 */
export function minorUnitsOf(currency: string): number {
  const known = cache.get(currency);
  if (known !== undefined) return known;
  if (!isCurrencyCode(currency)) {
    throw new InvalidArgumentError('currency', `unknown currency code ${JSON.stringify(currency)}`);
  }
  const digits =
    ISO_4217_OVERRIDES[currency] ??
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  if (digits === undefined) {
    throw new InvalidArgumentError('currency', `no minor unit known for ${currency}`);
  }
  cache.set(currency, digits);
  return digits;
}
