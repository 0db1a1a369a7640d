import type { TestApp } from '../support/app';
import { createProduct } from '../products/support';
import { borrowerHeaders } from '../products/support';

/** The test admin's POST /graphql, its body loosely typed: these tests assert whole values. */
export const gqlOf =
  (t: TestApp) => (query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) =>
    t.graphql(query, variables, headers) as Promise<{ status: number; body: any }>;

export const MONEY = 'amount currencyCode';
export const INSTALLMENT = `number dueDate principal { ${MONEY} } interest { ${MONEY} } fee { ${MONEY} }
  total { ${MONEY} } paid { ${MONEY} } state`;
export const BALANCE = `principal { ${MONEY} } interest { ${MONEY} } fees { ${MONEY} } total { ${MONEY} }`;
export const REPAYMENT = `id amount { ${MONEY} } paidAt reference allocated { ${BALANCE} } createdAt reversedAt reversalReason`;

export const LOAN_REPAYMENT_STATE = `query ($id: ID!) {
  loan(id: $id) {
    id status
    schedule { ${INSTALLMENT} }
    outstanding { ${BALANCE} }
    nextInstallment { number }
    daysPastDue
    repayments(first: 100) { totalCount edges { node { id reference reversedAt } } }
  }
}`;

export const RECORD = `mutation ($input: RecordRepaymentInput!) {
  recordRepayment(input: $input) {
    repayment { ${REPAYMENT} }
    loan { id status version outstanding { ${BALANCE} } }
    userErrors { field code message }
  }
}`;

export const REVERSE = `mutation ($input: ReverseRepaymentInput!) {
  reverseRepayment(input: $input) {
    repayment { ${REPAYMENT} }
    loan { id status outstanding { ${BALANCE} } }
    userErrors { field code message }
  }
}`;

const CREATE_LOAN = `mutation ($input: CreateLoanInput!) {
  createLoan(input: $input) { loan { id } userErrors { field code message } }
}`;

/** Approves then disburses a loan as the test admin, failing the test on any error. */
export async function approveAndDisburse(t: TestApp, loanId: string): Promise<void> {
  for (const action of ['approveLoan', 'disburseLoan']) {
    const input = action === 'approveLoan' ? 'ApproveLoanInput' : 'DisburseLoanInput';
    const res = await gqlOf(t)(
      `mutation ($input: ${input}!) { ${action}(input: $input) { loan { status } userErrors { code message } } }`,
      { input: { loanId } },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data[action].userErrors).toEqual([]);
  }
}

export interface DisbursedLoan {
  id: string;
  borrowerId: string;
  headers: Record<string, string>;
}

/**
 * A loan of a new borrower, applied for through GraphQL `createLoan` (under a product when `product` is given:
 * created with these overrides), approved and disbursed: its schedule starts on the app clock's UTC date.
 */
export async function disbursedLoan(
  t: TestApp,
  loan: { amount: string; currency: string; termMonths?: number; interestRateApr?: string },
  product?: Record<string, unknown>,
): Promise<DisbursedLoan> {
  const borrower = await borrowerHeaders(t);
  const productId = product ? (await createProduct(t, product)).id : undefined;
  const res = await gqlOf(t)(CREATE_LOAN, {
    input: {
      borrowerId: borrower.id,
      amount: { amount: loan.amount, currencyCode: loan.currency },
      termMonths: loan.termMonths,
      interestRateApr: loan.interestRateApr,
      productId,
    },
  });
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data.createLoan.userErrors).toEqual([]);
  const id = res.body.data.createLoan.loan.id as string;
  await approveAndDisburse(t, id);
  return { id, borrowerId: borrower.id, headers: borrower.headers };
}

export const money = (amount: string, currencyCode: string) => ({ amount, currencyCode });

let sequence = 0;
/** A reference no other call of the test run uses. */
export const newReference = (prefix = 'REF') => `${prefix}-${Date.now().toString(36)}-${++sequence}`;

export function recordInput(
  loanId: string,
  amount: string,
  currencyCode: string,
  reference = newReference(),
  paidAt?: string,
): Record<string, unknown> {
  return { input: { loanId, amount: { amount, currencyCode }, reference, ...(paidAt ? { paidAt } : {}) } };
}

/** Rows of the repayment tables for one loan, straight from PostgreSQL. */
export async function repaymentRows(t: TestApp, loanId: string) {
  const sql = t.app.orm.em.fork().getConnection();
  const [counts] = await sql.execute<{ repayments: number; allocations: number; events: number }[]>(
    `select (select count(*)::int from repayments where loan_id = ?) as repayments,
            (select count(*)::int from repayment_allocations a join repayments r on r.id = a.repayment_id where r.loan_id = ?) as allocations,
            (select count(*)::int from loan_events where loan_id = ?) as events`,
    [loanId, loanId, loanId],
  );
  const installments = await sql.execute<
    { number: number; paid_principal: string; paid_interest: string; paid_fee: string }[]
  >(
    `select number, paid_principal::text, paid_interest::text, paid_fee::text from loan_installments where loan_id = ? order by number`,
    [loanId],
  );
  return { ...counts, installments };
}
