/**
 * Pure rules of schedules in use (README "Repayment schedules and repayments"): what is outstanding, how a
 * repayment is allocated, the state of an installment on a given day. Exact decimals only (decimal.js); no
 * float touches money, and nothing here rounds (every amount already has at most the currency's minor units).
 */
import { Decimal } from '../common/decimal';
import { daysBetween } from '../common/clock';
import { minorUnitsOf } from '../schedule/minor-units';

/** An installment's amounts due and paid so far (decimal text, as stored). */
export interface InstallmentAmounts {
  number: number;
  dueDate: string;
  principal: string;
  interest: string;
  fee: string;
  paidPrincipal: string;
  paidInterest: string;
  paidFee: string;
}

/** What one repayment puts on (or, reversed, takes off) one installment. */
export interface AllocationLine {
  number: number;
  fee: Decimal;
  interest: Decimal;
  principal: Decimal;
}

export interface Breakdown {
  principal: Decimal;
  interest: Decimal;
  fees: Decimal;
  total: Decimal;
}

export enum InstallmentState {
  DUE = 'DUE',
  PAID = 'PAID',
  PARTIAL = 'PARTIAL',
  OVERDUE = 'OVERDUE',
}

const ZERO = new Decimal(0);

function owed(i: InstallmentAmounts): { fee: Decimal; interest: Decimal; principal: Decimal } {
  return {
    fee: new Decimal(i.fee).minus(i.paidFee),
    interest: new Decimal(i.interest).minus(i.paidInterest),
    principal: new Decimal(i.principal).minus(i.paidPrincipal),
  };
}

export function paidOf(i: InstallmentAmounts): Decimal {
  return new Decimal(i.paidPrincipal).plus(i.paidInterest).plus(i.paidFee);
}

export function isFullyPaid(i: InstallmentAmounts): boolean {
  const o = owed(i);
  return o.fee.isZero() && o.interest.isZero() && o.principal.isZero();
}

/** What is still owed over the whole schedule. */
export function outstandingOf(installments: readonly InstallmentAmounts[]): Breakdown {
  let principal = ZERO;
  let interest = ZERO;
  let fees = ZERO;
  for (const i of installments) {
    const o = owed(i);
    principal = principal.plus(o.principal);
    interest = interest.plus(o.interest);
    fees = fees.plus(o.fee);
  }
  return { principal, interest, fees, total: principal.plus(interest).plus(fees) };
}

/**
 * Allocates `amount` (positive, at most what is outstanding: the caller checks) installment by installment,
 * oldest (lowest number) first; within an installment its fee, then its interest, then its principal, before
 * anything goes to the next one. Returns one line per installment that received something.
 */
export function allocate(installments: readonly InstallmentAmounts[], amount: Decimal): AllocationLine[] {
  const lines: AllocationLine[] = [];
  let left = amount;
  for (const i of [...installments].sort((a, b) => a.number - b.number)) {
    if (left.isZero()) break;
    const o = owed(i);
    const fee = Decimal.min(left, o.fee);
    left = left.minus(fee);
    const interest = Decimal.min(left, o.interest);
    left = left.minus(interest);
    const principal = Decimal.min(left, o.principal);
    left = left.minus(principal);
    if (!fee.plus(interest).plus(principal).isZero()) lines.push({ number: i.number, fee, interest, principal });
  }
  if (!left.isZero()) throw new Error('allocation invariant broken: the amount is above what is outstanding');
  return lines;
}

/** PAID when nothing is owed; else OVERDUE once its due date is before `today`; else PARTIAL or DUE. */
export function installmentState(i: InstallmentAmounts, today: string): InstallmentState {
  if (isFullyPaid(i)) return InstallmentState.PAID;
  if (i.dueDate < today) return InstallmentState.OVERDUE;
  return paidOf(i).isZero() ? InstallmentState.DUE : InstallmentState.PARTIAL;
}

/** The oldest installment not fully paid, or null when everything is paid. */
export function nextInstallmentOf<T extends InstallmentAmounts>(installments: readonly T[]): T | null {
  return [...installments].sort((a, b) => a.number - b.number).find((i) => !isFullyPaid(i)) ?? null;
}

/** Days from the oldest unpaid due date to `today`; 0 when nothing unpaid is past due. */
export function daysPastDueOf(installments: readonly InstallmentAmounts[], today: string): number {
  const next = nextInstallmentOf(installments);
  if (!next || next.dueDate >= today) return 0;
  return daysBetween(next.dueDate, today);
}

/** Decimal text with the currency's minor units (as the schedule calculator writes money). */
export function moneyText(value: Decimal | string, currency: string): string {
  return new Decimal(value).toFixed(minorUnitsSafe(currency));
}

function minorUnitsSafe(currency: string): number {
  try {
    return minorUnitsOf(currency);
  } catch {
    // A legacy row's currency that is no longer an ISO 4217 code: show it as the loans table stores it.
    return 2;
  }
}
