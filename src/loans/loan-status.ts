/** Values are what the database and the legacy REST API use; GraphQL exposes the keys. */
export enum LoanStatus {
  PENDING = 'pending',
  APPROVED = 'approved',
  REJECTED = 'rejected',
  DISBURSED = 'disbursed',
  REPAID = 'repaid',
  DEFAULTED = 'defaulted',
}

/**
 * The loan lifecycle: every allowed transition of the lifecycle mutations, and nothing else. One more move
 * exists outside it: REPAID -> DISBURSED, made only by `reverseRepayment` when it takes back a repayment of a
 * REPAID loan, which then owes that amount again (src/repayments/repayment.service.ts); never by a lifecycle
 * mutation.
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<LoanStatus, readonly LoanStatus[]>> = {
  [LoanStatus.PENDING]: [LoanStatus.APPROVED, LoanStatus.REJECTED],
  [LoanStatus.APPROVED]: [LoanStatus.DISBURSED],
  [LoanStatus.REJECTED]: [],
  [LoanStatus.DISBURSED]: [LoanStatus.REPAID, LoanStatus.DEFAULTED],
  [LoanStatus.REPAID]: [],
  [LoanStatus.DEFAULTED]: [],
};

export function canTransition(from: LoanStatus, to: LoanStatus): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}
