/**
 * The repayment-schedule calculator (issue 12 part 3): pure functions, no database, no GraphQL.
 *
 * Rules (the README quotes them):
 * - Exact decimals throughout (`decimal.js`, 40 significant digits); no float touches money. Amounts are
 *   returned as fixed text with the currency's ISO 4217 minor units (VND "8400", KES "12000.50",
 *   KWD "1.250"); see `minor-units.ts`. Every rounding below is to that minor unit.
 * - Number of installments: MONTHLY termMonths; BIWEEKLY round(termMonths × 26 / 12); WEEKLY
 *   round(termMonths × 52 / 12), halves rounded up (3 months weekly = 13, 3 months biweekly = 7).
 * - DECLINING_BALANCE (equal installments): periodic rate r = annual rate / 100 / periods per year
 *   (12, 26 or 52). Installment A = P·r / (1 − (1 + r)^−n) rounded half-up (r = 0: P / n rounded
 *   half-up). Each period's interest = outstanding principal × r rounded half-up; principal part =
 *   A − interest, never more than the outstanding principal; the LAST installment takes whatever
 *   principal remains (so its total may differ from A).
 * - FLAT: total interest = P × annual rate / 100 × termMonths / 12 rounded half-up, spread evenly: each
 *   installment gets it / n rounded DOWN, the last the remainder; principal likewise P / n rounded down
 *   each, remainder on the last.
 * - Origination fee: PERCENT of principal ("2.50" is 2.5%) or FIXED (an amount in the loan currency),
 *   rounded half-up, charged with the FIRST installment (its `fee`; its `total` includes it).
 *   Installments sum exactly to principal + interest + fees (asserted on every schedule).
 * - Due dates: MONTHLY the start date's day of month, k months after the start, clamped to the month's
 *   last day, always computed from the start (Jan 31 → Feb 28/29 → Mar 31); BIWEEKLY start + 14·k days;
 *   WEEKLY start + 7·k days. Dates are UTC calendar dates.
 * - Effective annual rate (APR including fees): the periodic internal rate of return i of the cash
 *   flows +principal at the start and −total of installment k at period k, solved by safeguarded
 *   Newton iteration in Decimal; APR = i × periods per year × 100, rounded half-up to 2 decimals.
 *   Without a fee, for DECLINING_BALANCE it is the nominal rate up to the installment's rounding.
 * - Bad terms throw `InvalidArgumentError` naming the field: principal not positive or with more
 *   decimals than the currency has, termMonths not an integer in 1..360, rate outside 0..1000, unknown
 *   currency, a date that is not a real YYYY-MM-DD, a malformed method, frequency or fee.
 */
import { Decimal } from '../common/decimal';
import { InvalidArgumentError } from '../common/errors';
import { minorUnitsOf } from './minor-units';

export { minorUnitsOf };

export type InterestMethod = 'DECLINING_BALANCE' | 'FLAT';
export type RepaymentFrequency = 'MONTHLY' | 'BIWEEKLY' | 'WEEKLY';

/** PERCENT: "2.50" is 2.5% of principal; FIXED: an amount in the loan currency. */
export interface OriginationFee {
  kind: 'PERCENT' | 'FIXED';
  value: string;
}

export interface ScheduleTerms {
  /** Decimal text, e.g. "12000.50". */
  principal: string;
  /** ISO 4217. */
  currency: string;
  /** Nominal annual rate, "24.00" is 24%. */
  annualRatePercent: string;
  method: InterestMethod;
  frequency: RepaymentFrequency;
  /** Integer, 1..360. */
  termMonths: number;
  /** YYYY-MM-DD, the disbursement date (UTC calendar date). */
  startDate: string;
  fee?: OriginationFee | null;
}

export interface ScheduledInstallment {
  number: number;
  dueDate: string;
  principal: string;
  interest: string;
  fee: string;
  total: string;
}

export interface Schedule {
  installments: ScheduledInstallment[];
  /** The regular installment (principal + interest); the first may also carry the fee, the last differs. */
  installmentAmount: string;
  numberOfInstallments: number;
  firstDueDate: string;
  totalPrincipal: string;
  totalInterest: string;
  totalFees: string;
  totalRepayable: string;
  /** APR including fees, percent with 2 decimals. */
  effectiveAnnualRatePercent: string;
}

/** Enough digits for (1 + r)^−1560 and the IRR; money is rounded explicitly to its minor unit. */
const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
type Dec = InstanceType<typeof D>;

const MAX_TERM_MONTHS = 360;
const MAX_RATE_PERCENT = 1000;
const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

export function periodsPerYear(frequency: RepaymentFrequency): 12 | 26 | 52 {
  switch (frequency) {
    case 'MONTHLY':
      return 12;
    case 'BIWEEKLY':
      return 26;
    case 'WEEKLY':
      return 52;
    default:
      throw new InvalidArgumentError('frequency', `unknown repayment frequency ${JSON.stringify(frequency)}`);
  }
}

/** MONTHLY: termMonths; BIWEEKLY: round(termMonths·26/12); WEEKLY: round(termMonths·52/12), halves up. */
export function numberOfInstallments(termMonths: number, frequency: RepaymentFrequency): number {
  const perYear = periodsPerYear(frequency);
  if (perYear === 12) return termMonths;
  // termMonths · perYear is an integer, so the quotient is exact in binary whenever it ends in .5.
  return Math.round((termMonths * perYear) / 12);
}

export function buildSchedule(terms: ScheduleTerms): Schedule {
  const t = validate(terms);
  const n = numberOfInstallments(t.termMonths, t.frequency);
  const perYear = periodsPerYear(t.frequency);
  const unit = t.minorUnits;
  const money = (x: Dec) => x.toDecimalPlaces(unit, Decimal.ROUND_HALF_UP);
  const moneyDown = (x: Dec) => x.toDecimalPlaces(unit, Decimal.ROUND_DOWN);

  const parts: { principal: Dec; interest: Dec }[] = [];
  let regular: Dec;

  if (t.method === 'DECLINING_BALANCE') {
    const r = t.rate.div(100).div(perYear);
    regular = r.isZero() ? money(t.principal.div(n)) : money(t.principal.mul(r).div(new D(1).minus(r.plus(1).pow(-n))));
    let outstanding = t.principal;
    for (let k = 1; k <= n; k++) {
      const interest = money(outstanding.mul(r));
      const principal = k === n ? outstanding : D.min(D.max(regular.minus(interest), 0), outstanding);
      parts.push({ principal, interest });
      outstanding = outstanding.minus(principal);
    }
  } else {
    const totalInterest = money(t.principal.mul(t.rate).div(100).mul(t.termMonths).div(12));
    const principalEach = moneyDown(t.principal.div(n));
    const interestEach = moneyDown(totalInterest.div(n));
    regular = principalEach.plus(interestEach);
    for (let k = 1; k <= n; k++) {
      const last = k === n;
      parts.push({
        principal: last ? t.principal.minus(principalEach.mul(n - 1)) : principalEach,
        interest: last ? totalInterest.minus(interestEach.mul(n - 1)) : interestEach,
      });
    }
  }

  const fee =
    t.fee === null ? new D(0) : money(t.fee.kind === 'PERCENT' ? t.principal.mul(t.fee.value).div(100) : t.fee.value);

  const totals = parts.map((p, i) => p.principal.plus(p.interest).plus(i === 0 ? fee : 0));
  const totalPrincipal = sum(parts.map((p) => p.principal));
  const totalInterest = sum(parts.map((p) => p.interest));
  const totalRepayable = sum(totals);
  // The invariants the README promises; a failure here is a bug in this file, never bad input.
  if (!totalPrincipal.eq(t.principal) || !totalRepayable.eq(totalPrincipal.plus(totalInterest).plus(fee))) {
    throw new Error('schedule invariant broken: installments do not sum to principal + interest + fees');
  }
  if (parts.some((p) => p.principal.isNeg() || p.interest.isNeg())) {
    throw new Error('schedule invariant broken: negative installment part');
  }

  const fixed = (x: Dec) => x.toFixed(unit);
  const installments = parts.map((p, i): ScheduledInstallment => ({
    number: i + 1,
    dueDate: dueDate(t.start, t.frequency, i + 1),
    principal: fixed(p.principal),
    interest: fixed(p.interest),
    fee: fixed(i === 0 ? fee : new D(0)),
    total: fixed(totals[i]),
  }));
  const periodicIrr = internalRateOfReturn(t.principal, totals);

  return {
    installments,
    installmentAmount: fixed(n === 1 ? parts[0].principal.plus(parts[0].interest) : regular),
    numberOfInstallments: n,
    firstDueDate: installments[0].dueDate,
    totalPrincipal: fixed(totalPrincipal),
    totalInterest: fixed(totalInterest),
    totalFees: fixed(fee),
    totalRepayable: fixed(totalRepayable),
    effectiveAnnualRatePercent: periodicIrr.mul(perYear).mul(100).toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toFixed(2),
  };
}

function sum(values: Dec[]): Dec {
  return values.reduce((acc, v) => acc.plus(v), new D(0));
}

// ---------------------------------------------------------------------------------------------------
// Validation

interface ValidTerms {
  principal: Dec;
  rate: Dec;
  minorUnits: number;
  method: InterestMethod;
  frequency: RepaymentFrequency;
  termMonths: number;
  start: { year: number; month: number; day: number };
  fee: { kind: 'PERCENT' | 'FIXED'; value: Dec } | null;
}

function decimalPlaces(text: string): number {
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

function readDecimal(field: string, value: unknown): Dec {
  if (typeof value !== 'string' || !DECIMAL_TEXT.test(value)) {
    throw new InvalidArgumentError(field, `${field} must be decimal text such as "12000.50"`);
  }
  return new D(value);
}

function validate(terms: ScheduleTerms): ValidTerms {
  if (typeof terms.currency !== 'string') throw new InvalidArgumentError('currency', 'currency is required');
  const minorUnits = minorUnitsOf(terms.currency);

  const principal = readDecimal('principal', terms.principal);
  if (!principal.gt(0)) throw new InvalidArgumentError('principal', 'principal must be greater than zero');
  if (decimalPlaces(terms.principal) > minorUnits) {
    throw new InvalidArgumentError(
      'principal',
      `principal has more decimals than ${terms.currency} allows (${minorUnits})`,
    );
  }

  const rate = readDecimal('annualRatePercent', terms.annualRatePercent);
  if (rate.lt(0) || rate.gt(MAX_RATE_PERCENT)) {
    throw new InvalidArgumentError('annualRatePercent', `annualRatePercent must be between 0 and ${MAX_RATE_PERCENT}`);
  }

  if (terms.method !== 'DECLINING_BALANCE' && terms.method !== 'FLAT') {
    throw new InvalidArgumentError('method', `unknown interest method ${JSON.stringify(terms.method)}`);
  }
  periodsPerYear(terms.frequency); // throws on an unknown frequency

  const termMonths = terms.termMonths;
  if (!Number.isInteger(termMonths) || termMonths < 1 || termMonths > MAX_TERM_MONTHS) {
    throw new InvalidArgumentError('termMonths', `termMonths must be an integer between 1 and ${MAX_TERM_MONTHS}`);
  }

  const start = parseDate(terms.startDate);

  let fee: ValidTerms['fee'] = null;
  if (terms.fee !== undefined && terms.fee !== null) {
    const { kind } = terms.fee;
    if (kind !== 'PERCENT' && kind !== 'FIXED') {
      throw new InvalidArgumentError('fee.kind', `unknown fee kind ${JSON.stringify(kind)}`);
    }
    const value = readDecimal('fee.value', terms.fee.value);
    if (value.lt(0)) throw new InvalidArgumentError('fee.value', 'fee.value must not be negative');
    if (kind === 'PERCENT' && value.gt(100)) {
      throw new InvalidArgumentError('fee.value', 'a percentage fee must not exceed 100');
    }
    if (kind === 'FIXED' && value.gt(principal)) {
      throw new InvalidArgumentError('fee.value', 'a fixed fee must not exceed the principal');
    }
    fee = { kind, value };
  }

  return { principal, rate, minorUnits, method: terms.method, frequency: terms.frequency, termMonths, start, fee };
}

function parseDate(text: unknown): { year: number; month: number; day: number } {
  const match = typeof text === 'string' ? DATE_TEXT.exec(text) : null;
  if (match) {
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (year >= 1900 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)) {
      return { year, month, day };
    }
  }
  throw new InvalidArgumentError('startDate', 'startDate must be a real calendar date written YYYY-MM-DD');
}

// ---------------------------------------------------------------------------------------------------
// Due dates

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function dueDate(start: ValidTerms['start'], frequency: RepaymentFrequency, k: number): string {
  if (frequency === 'MONTHLY') {
    const monthIndex = start.month - 1 + k;
    const year = start.year + Math.floor(monthIndex / 12);
    const month = (monthIndex % 12) + 1;
    return isoDate(Date.UTC(year, month - 1, Math.min(start.day, daysInMonth(year, month))));
  }
  const days = frequency === 'BIWEEKLY' ? 14 : 7;
  return isoDate(Date.UTC(start.year, start.month - 1, start.day) + k * days * DAY_MS);
}

// ---------------------------------------------------------------------------------------------------
// Effective rate

const IRR_TOLERANCE = new D('1e-18');

/**
 * The periodic rate i ≥ 0 with principal = Σ total_k / (1 + i)^k. The present value falls strictly as
 * i grows, so the root is unique; Newton steps that leave the bracket [low, high] are replaced by
 * bisection, which guarantees convergence.
 */
function internalRateOfReturn(principal: Dec, totals: Dec[]): Dec {
  // f(i) = principal − PV(i): increasing in i, f(0) = principal − Σ totals ≤ 0.
  const f = (i: Dec): { value: Dec; slope: Dec } => {
    const v = new D(1).div(i.plus(1));
    let discount = new D(1);
    let pv = new D(0);
    let dpv = new D(0); // d PV / d i = −Σ k·total_k·v^(k+1)
    totals.forEach((total, index) => {
      discount = discount.mul(v);
      pv = pv.plus(total.mul(discount));
      dpv = dpv.minus(
        total
          .mul(index + 1)
          .mul(discount)
          .mul(v),
      );
    });
    return { value: principal.minus(pv), slope: dpv.neg() };
  };

  if (!f(new D(0)).value.lt(0)) return new D(0);
  let low = new D(0);
  let high = new D(1);
  while (f(high).value.lt(0)) {
    low = high;
    high = high.mul(2);
  }
  // Start from the usual closed-form approximation 2·(repaid − principal) / (principal · (n + 1)).
  let guess = sum(totals)
    .minus(principal)
    .mul(2)
    .div(principal.mul(totals.length + 1));
  if (guess.lte(low) || guess.gte(high)) guess = low.plus(high).div(2);
  for (let iteration = 0; iteration < 200; iteration++) {
    const { value, slope } = f(guess);
    if (value.isZero()) return guess;
    if (value.lt(0)) low = guess;
    else high = guess;
    let next = slope.isZero() ? null : guess.minus(value.div(slope));
    if (next === null || next.lte(low) || next.gte(high)) next = low.plus(high).div(2);
    if (next.minus(guess).abs().lt(IRR_TOLERANCE) || high.minus(low).lt(IRR_TOLERANCE)) return next;
    guess = next;
  }
  return guess;
}
