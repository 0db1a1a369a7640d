import type { EntityManager } from '@mikro-orm/postgresql';
import { Decimal } from '../common/decimal';
import { InvalidArgumentError } from '../common/errors';
import type { Loan } from '../loans/loan.entity';
import type { FeeKind, InterestMethod, RepaymentFrequency } from '../products/loan-product.enums';
import { buildSchedule, minorUnitsOf, type ScheduleTerms } from '../schedule/calculator';
import { LoanInstallment } from './loan-installment.entity';

/** The loan fields the terms come from. */
type LoanTermsSource = Pick<Loan, 'amount' | 'currency' | 'termMonths' | 'interestRateApr'>;

/** The product's terms a loan kept when it was applied for (all null for a loan without a product). */
export interface KeptProductTerms {
  interestMethod: InterestMethod | null;
  repaymentFrequency: RepaymentFrequency | null;
  feeKind: FeeKind | null;
  feeValue: string | null;
}

/**
 * The terms a loan's schedule is built from at disbursement, or `null` when it gets no schedule:
 * - under a product: the method, frequency and fee the loan kept from its product at application (a later
 *   edit of the product changes nothing here), the loan's rate, amount, currency and term;
 * - without a product but with `termMonths` and `interestRateApr` (legacy REST loans): DECLINING_BALANCE,
 *   MONTHLY, no fee;
 * - otherwise (no term or no rate), or when the amount has more decimals than its currency has
 *   (a legacy "8400.50 VND"): null, no schedule.
 */
export function scheduleTermsFor(
  loan: LoanTermsSource,
  kept: KeptProductTerms,
  startDate: string,
): ScheduleTerms | null {
  if (loan.termMonths === null || loan.interestRateApr === null) return null;
  let principal: string;
  try {
    const minor = minorUnitsOf(loan.currency);
    const amount = new Decimal(loan.amount);
    if (amount.decimalPlaces() > minor) return null;
    principal = amount.toFixed(minor);
  } catch (error) {
    if (error instanceof InvalidArgumentError) return null;
    throw error;
  }
  return {
    principal,
    currency: loan.currency,
    annualRatePercent: loan.interestRateApr,
    method: kept.interestMethod ?? 'DECLINING_BALANCE',
    frequency: kept.repaymentFrequency ?? 'MONTHLY',
    termMonths: loan.termMonths,
    startDate,
    fee: kept.feeKind && kept.feeValue !== null ? { kind: kept.feeKind, value: kept.feeValue } : null,
  };
}

interface KeptRow {
  interest_method: InterestMethod | null;
  repayment_frequency: RepaymentFrequency | null;
  fee_kind: FeeKind | null;
  fee_value: string | null;
}

/**
 * Writes the schedule of a loan being disbursed (inside the transition's transaction: it commits or rolls back
 * with the status change), starting `startDate` (the clock's UTC date). Returns how many installments were
 * written: 0 for a loan without terms, or whose terms the calculator refuses (a fixed fee above the
 * principal): such a loan is disbursed without a schedule, like the loans disbursed before schedules existed.
 */
export async function storeSchedule(em: EntityManager, loan: Loan, startDate: string): Promise<number> {
  // The kept terms are lazy columns (no page of loans reads them): read here, in the transition's transaction.
  const [kept] = await em.execute<KeptRow[]>(
    'select interest_method, repayment_frequency, fee_kind, fee_value from loans where id = ?',
    [loan.id],
    'all',
    em.getTransactionContext(),
  );
  const terms = scheduleTermsFor(
    loan,
    {
      interestMethod: kept?.interest_method ?? null,
      repaymentFrequency: kept?.repayment_frequency ?? null,
      feeKind: kept?.fee_kind ?? null,
      feeValue: kept?.fee_value ?? null,
    },
    startDate,
  );
  if (!terms) return 0;
  let installments;
  try {
    installments = buildSchedule(terms).installments;
  } catch (error) {
    if (error instanceof InvalidArgumentError) return 0;
    throw error;
  }
  for (const i of installments) {
    em.create(LoanInstallment, {
      loan,
      number: i.number,
      dueDate: i.dueDate,
      principal: i.principal,
      interest: i.interest,
      fee: i.fee,
      total: i.total,
    });
  }
  return installments.length;
}
