import type { EntityManager } from '@mikro-orm/postgresql';
import { Decimal } from '../common/decimal';
import { InvalidArgumentError } from '../common/errors';
import type { Loan } from '../loans/loan.entity';
import { LoanProduct } from '../products/loan-product.entity';
import { buildSchedule, minorUnitsOf, type ScheduleTerms } from '../schedule/calculator';
import { LoanInstallment } from './loan-installment.entity';

/** The loan fields the terms come from. */
type LoanTermsSource = Pick<Loan, 'amount' | 'currency' | 'termMonths' | 'interestRateApr'>;

/**
 * The terms a loan's schedule is built from at disbursement, or `null` when it gets no schedule:
 * - under a product: the product's method, frequency and fee, the loan's rate (the product's, stored on the
 *   loan at application), amount, currency and term;
 * - without a product but with `termMonths` and `interestRateApr` (legacy REST loans): DECLINING_BALANCE,
 *   MONTHLY, no fee;
 * - otherwise (no term or no rate), or when the amount has more decimals than its currency has
 *   (a legacy "8400.50 VND"): null, no schedule.
 */
export function scheduleTermsFor(
  loan: LoanTermsSource,
  product: Pick<LoanProduct, 'interestMethod' | 'repaymentFrequency' | 'feeKind' | 'feeValue'> | null,
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
    method: product?.interestMethod ?? 'DECLINING_BALANCE',
    frequency: product?.repaymentFrequency ?? 'MONTHLY',
    termMonths: loan.termMonths,
    startDate,
    fee: product?.feeKind && product.feeValue !== null ? { kind: product.feeKind, value: product.feeValue } : null,
  };
}

/**
 * Writes the schedule of a loan being disbursed (inside the transition's transaction: it commits or rolls back
 * with the status change), starting `startDate` (the clock's UTC date). Returns how many installments were
 * written: 0 for a loan without terms, or whose terms the calculator refuses (a fixed fee above the
 * principal): such a loan is disbursed without a schedule, like the loans disbursed before schedules existed.
 */
export async function storeSchedule(em: EntityManager, loan: Loan, startDate: string): Promise<number> {
  const product = loan.product ? await em.findOne(LoanProduct, { id: loan.product.id }) : null;
  const terms = scheduleTermsFor(loan, product, startDate);
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
