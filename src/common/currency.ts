/**
 * Active ISO 4217 currency codes, from the ICU data that ships with Node (`Intl`), minus the
 * units that are not money one can lend (special drawing rights, the SUCRE accounting unit).
 */
const NOT_LENDABLE = new Set(['XDR', 'XSU', 'XUA', 'XAU', 'XAG', 'XPD', 'XPT', 'XTS', 'XXX']);

export const CURRENCY_CODES: ReadonlySet<string> = new Set(
  Intl.supportedValuesOf('currency').filter((code) => !NOT_LENDABLE.has(code)),
);

export function isCurrencyCode(code: string): boolean {
  return CURRENCY_CODES.has(code);
}
