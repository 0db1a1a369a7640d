import { Decimal } from '../common/decimal';
import { UserErrorCode, ValidationError, type FieldProblem } from '../common/errors';
import { LOAN_LIMITS } from '../loans/loan-limits';
import { minorUnitsOf } from '../schedule/minor-units';
import type { LoanProductView } from './loan-product.view';

/** What a loan application says, already valid on its own (`validateCreateLoan`). */
export interface ApplicationTerms {
  amount: string;
  currency: string;
  termMonths: number | null;
  interestRateApr: string | null;
}

/**
 * An application checked against the product it names: same currency, principal and term within the
 * product's ranges, and the product's rate (given: it must be equal; omitted: taken from the product).
 * An omitted term is the product's longest, as `financingOptions` prices it. Lists every failing field.
 */
export function applyProduct(
  product: LoanProductView,
  terms: ApplicationTerms,
): Pick<LoanProductView, 'interestMethod' | 'repaymentFrequency' | 'feeKind' | 'feeValue'> & {
  termMonths: number;
  interestRateApr: string;
} {
  const problems: FieldProblem[] = [];
  if (terms.currency !== product.currency) {
    problems.push({
      field: 'currency',
      code: UserErrorCode.INVALID,
      message: `must be ${product.currency}, the currency of product ${product.code}`,
    });
  } else {
    const amount = new Decimal(terms.amount);
    // A schedule is in the currency's minor units: an amount it cannot hold would be disbursed without one.
    const places = minorUnitsOf(product.currency);
    if (amount.decimalPlaces() > places) {
      problems.push({
        field: 'amount',
        code: UserErrorCode.TOO_PRECISE,
        message: `must have at most ${places} decimal places in ${product.currency} (never rounded)`,
      });
    } else if (amount.lt(product.minPrincipal) || amount.gt(product.maxPrincipal)) {
      problems.push({
        field: 'amount',
        code: UserErrorCode.OUT_OF_RANGE,
        message: `must be between ${product.minPrincipal} and ${product.maxPrincipal} ${product.currency} for product ${product.code}`,
      });
    }
  }
  const termMonths = terms.termMonths ?? product.maxTermMonths;
  if (termMonths < product.minTermMonths || termMonths > product.maxTermMonths) {
    problems.push({
      field: 'termMonths',
      code: UserErrorCode.OUT_OF_RANGE,
      message: `must be between ${product.minTermMonths} and ${product.maxTermMonths} months for product ${product.code}`,
    });
  }
  if (terms.interestRateApr !== null && !new Decimal(terms.interestRateApr).eq(product.interestRateApr)) {
    problems.push({
      field: 'interestRateApr',
      code: UserErrorCode.INVALID,
      message: `must be ${product.interestRateApr}, the rate of product ${product.code} (or omitted)`,
    });
  }
  if (new Decimal(product.interestRateApr).gt(LOAN_LIMITS.maxAprPercent)) {
    problems.push({
      field: 'productId',
      code: UserErrorCode.OUT_OF_RANGE,
      message: `its rate is above the ${LOAN_LIMITS.maxAprPercent}% a loan may carry`,
    });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  // The loan keeps the product's terms as they are now (README "Loan products and financing options").
  return {
    termMonths,
    interestRateApr: new Decimal(product.interestRateApr).toFixed(LOAN_LIMITS.scale),
    interestMethod: product.interestMethod,
    repaymentFrequency: product.repaymentFrequency,
    feeKind: product.feeKind,
    feeValue: product.feeValue,
  };
}
