/** Business limits of a loan, shared by validation, the database checks and the docs. */
export const LOAN_LIMITS = {
  maxAmount: 50000,
  minTermMonths: 1,
  maxTermMonths: 360,
  maxAprPercent: 100,
  /** Decimal places allowed in amounts and rates. */
  scale: 2,
  maxBorrowerIdLength: 64,
} as const;
