import type { Loan } from './loan.entity';

/**
 * A loan as reads hand it to GraphQL and REST: plain data from a row (no entity, no identity map, no
 * change tracking; see conventions "hot read paths read rows"). Entities fit this shape too, so a
 * mutation's result is answered as it is.
 */
export type LoanView = Pick<
  Loan,
  'id' | 'amount' | 'currency' | 'status' | 'termMonths' | 'interestRateApr' | 'createdAt' | 'updatedAt' | 'version'
> & { borrower: { id: string }; product: { id: string } | null };

/** A loan row as MikroORM maps it (property names, Dates), the borrower and the product as their ids. */
export type MappedLoanRow = Omit<LoanView, 'borrower' | 'product'> & { borrower: string; product?: string | null };

/** The one mapper from a mapped row to the view. */
export function loanView(row: MappedLoanRow): LoanView {
  return {
    id: row.id,
    borrower: { id: row.borrower },
    product: row.product ? { id: row.product } : null,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    termMonths: row.termMonths,
    interestRateApr: row.interestRateApr,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    version: row.version,
  };
}

/** A created loan as an idempotent `createLoan` keeps it (JSON, dates as ISO strings), to replay it as it was. */
export function loanViewToJson(loan: LoanView): string {
  const row: Omit<MappedLoanRow, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string } = {
    id: loan.id,
    borrower: loan.borrower.id,
    product: loan.product?.id ?? null,
    amount: loan.amount,
    currency: loan.currency,
    status: loan.status,
    termMonths: loan.termMonths,
    interestRateApr: loan.interestRateApr,
    createdAt: loan.createdAt.toISOString(),
    updatedAt: loan.updatedAt.toISOString(),
    version: loan.version,
  };
  return JSON.stringify(row);
}

export function loanViewFromJson(text: string): LoanView {
  const row = JSON.parse(text) as MappedLoanRow & { createdAt: string; updatedAt: string };
  return loanView({ ...row, createdAt: new Date(row.createdAt), updatedAt: new Date(row.updatedAt) });
}
