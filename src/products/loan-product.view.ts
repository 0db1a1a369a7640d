import type { LoanProduct } from './loan-product.entity';

/** A product as reads hand it out: plain data (a mapped row), or the entity after a mutation. */
export type LoanProductView = Pick<
  LoanProduct,
  | 'id'
  | 'code'
  | 'name'
  | 'description'
  | 'currency'
  | 'minPrincipal'
  | 'maxPrincipal'
  | 'minTermMonths'
  | 'maxTermMonths'
  | 'interestRateApr'
  | 'interestMethod'
  | 'repaymentFrequency'
  | 'feeKind'
  | 'feeValue'
  | 'active'
  | 'createdAt'
  | 'updatedAt'
  | 'version'
>;
