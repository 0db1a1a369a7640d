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

/** A created product as an idempotent `createLoanProduct` keeps it (JSON, dates as ISO strings), to replay it as it was. */
export function productViewToJson(product: LoanProductView): string {
  const view: Record<keyof LoanProductView, unknown> = {
    id: product.id,
    code: product.code,
    name: product.name,
    description: product.description,
    currency: product.currency,
    minPrincipal: product.minPrincipal,
    maxPrincipal: product.maxPrincipal,
    minTermMonths: product.minTermMonths,
    maxTermMonths: product.maxTermMonths,
    interestRateApr: product.interestRateApr,
    interestMethod: product.interestMethod,
    repaymentFrequency: product.repaymentFrequency,
    feeKind: product.feeKind,
    feeValue: product.feeValue,
    active: product.active,
    createdAt: product.createdAt.toISOString(),
    updatedAt: product.updatedAt.toISOString(),
    version: product.version,
  };
  return JSON.stringify(view);
}

export function productViewFromJson(text: string): LoanProductView {
  const view = JSON.parse(text) as Omit<LoanProductView, 'createdAt' | 'updatedAt'> & {
    createdAt: string;
    updatedAt: string;
  };
  return { ...view, createdAt: new Date(view.createdAt), updatedAt: new Date(view.updatedAt) };
}
