import { Decimal } from '../common/decimal';
import { buildSchedule, type Schedule } from '../schedule/calculator';
import type { Money } from '../graphql/common-types';
import type { LoanProductView } from './loan-product.view';

/** One offer of `financingOptions`: a product, the term used, and its schedule's figures. */
export interface FinancingOption {
  product: LoanProductView;
  termMonths: number;
  installmentAmount: Money;
  numberOfInstallments: number;
  firstDueDate: string;
  totalInterest: Money;
  fees: Money;
  totalRepayable: Money;
  effectiveAnnualRate: string;
}

/** Does a loan of this principal and term fit the product's ranges? (Currency is the caller's filter.) */
export function productFits(product: LoanProductView, principal: Decimal, termMonths: number): boolean {
  return (
    principal.gte(product.minPrincipal) &&
    principal.lte(product.maxPrincipal) &&
    termMonths >= product.minTermMonths &&
    termMonths <= product.maxTermMonths
  );
}

/**
 * The offers for `principal` (already in the products' currency, at most its minor units) among `products`:
 * each fitting product priced with its schedule from `startDate` (YYYY-MM-DD), cheapest total first, then
 * by code. Without `termMonths` each product is priced at its longest term, the smallest installment it
 * allows (README "Loan products and financing options").
 */
export function financingOptionsFor(
  products: readonly LoanProductView[],
  principal: string,
  termMonths: number | null,
  startDate: string,
): FinancingOption[] {
  const amount = new Decimal(principal);
  const offers: { option: FinancingOption; total: Decimal }[] = [];
  for (const product of products) {
    const term = termMonths ?? product.maxTermMonths;
    if (!productFits(product, amount, term)) continue;
    const schedule = scheduleOf(product, principal, term, startDate);
    const money = (value: string) => ({ amount: value, currencyCode: product.currency });
    offers.push({
      total: new Decimal(schedule.totalRepayable),
      option: {
        product,
        termMonths: term,
        installmentAmount: money(schedule.installmentAmount),
        numberOfInstallments: schedule.numberOfInstallments,
        firstDueDate: schedule.firstDueDate,
        totalInterest: money(schedule.totalInterest),
        fees: money(schedule.totalFees),
        totalRepayable: money(schedule.totalRepayable),
        effectiveAnnualRate: schedule.effectiveAnnualRatePercent,
      },
    });
  }
  return offers
    .sort((a, b) => a.total.comparedTo(b.total) || (a.option.product.code < b.option.product.code ? -1 : 1))
    .map((offer) => offer.option);
}

export function scheduleOf(
  product: LoanProductView,
  principal: string,
  termMonths: number,
  startDate: string,
): Schedule {
  return buildSchedule({
    principal,
    currency: product.currency,
    annualRatePercent: product.interestRateApr,
    method: product.interestMethod,
    frequency: product.repaymentFrequency,
    termMonths,
    startDate,
    fee: product.feeKind && product.feeValue !== null ? { kind: product.feeKind, value: product.feeValue } : null,
  });
}

/** Today's UTC date, YYYY-MM-DD. */
export const utcDate = (now: Date): string => now.toISOString().slice(0, 10);
