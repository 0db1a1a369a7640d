/** How interest is charged (README "Loan products and financing options"); values match the schedule calculator. */
export enum InterestMethod {
  /** Equal installments (an annuity); interest on the outstanding principal. */
  DECLINING_BALANCE = 'DECLINING_BALANCE',
  /** Interest on the original principal for the whole term, spread evenly. */
  FLAT = 'FLAT',
}

export enum RepaymentFrequency {
  MONTHLY = 'MONTHLY',
  BIWEEKLY = 'BIWEEKLY',
  WEEKLY = 'WEEKLY',
}

export enum FeeKind {
  /** A percentage of the principal ("2.50" is 2.5%). */
  PERCENT = 'PERCENT',
  /** A fixed amount in the product's currency. */
  FIXED = 'FIXED',
}
