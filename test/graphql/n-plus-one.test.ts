import {
  LoanBorrowersDocument,
  UsersLoanBreakdownDocument,
  UsersWithLoansDocument,
} from '../../client/generated/graphql';
import type { Loan } from '../../src/loans/loan.entity';
import { LoanStatus } from '../../src/loans/loan-status';
import type { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp } from '../support/app';
import { countQueries } from '../support/factories';
import { at, insertBorrowers, insertLoans, newestFirst } from './helpers';
import { disbursedLoan, RECORD, recordInput } from '../repayments/support';

let t: TestApp;
let loanBorrowers: User[];
/** 50 users (the newest of the table), user i owning i % 6 loans. */
let owners: User[];
const loansByOwner = new Map<string, Loan[]>();

beforeAll(async () => {
  t = await startTestApp();
  const em = t.app.orm.em;
  // 100 loans, each of a different borrower.
  loanBorrowers = await insertBorrowers(em, 100, (i) => ({ createdAt: at('2020-01-01T00:00:00Z', i) }));
  await insertLoans(
    em,
    loanBorrowers.map((borrower, i) => ({ borrower, createdAt: at('2025-01-01T00:00:00Z', i) })),
  );

  owners = await insertBorrowers(em, 50, (i) => ({ createdAt: at('2030-01-01T00:00:00Z', i) }));
  const specs = owners.flatMap((owner, i) =>
    Array.from({ length: i % 6 }, (_, k) => ({
      borrower: owner,
      status: k % 2 === 0 ? LoanStatus.PENDING : LoanStatus.APPROVED,
      createdAt: at('2021-01-01T00:00:00Z', i * 10 + k),
    })),
  );
  const created = await insertLoans(em, specs);
  for (const loan of created) {
    const list = loansByOwner.get(loan.borrower.id) ?? [];
    list.push(loan);
    loansByOwner.set(loan.borrower.id, list);
  }
});
afterAll(() => t.close());

const statements = <T>(work: () => Promise<T>) => countQueries(t.app.orm.em, work);

/**
 * Every request here carries the test admin's token, and an authenticated request makes one more
 * statement before any resolver: the token check (`select role, token_version from users where id = $1`,
 * src/auth/access.ts). The counts below include it: each is the resolvers' statements + 1.
 */
const TOKEN_CHECK = 1;

describe('Loan.borrower is batched', () => {
  test('loans(first: 100) { borrower } over 100 borrowers makes at most 3 statements (+ the token check), as many as first: 5', async () => {
    const big = await statements(() => t.graphql(LoanBorrowersDocument, { first: 100 }));
    const small = await statements(() => t.graphql(LoanBorrowersDocument, { first: 5 }));

    expect(big.result.body.errors).toBeUndefined();
    const borrowerIds = big.result.body.data!.loans.edges.map((e) => e.node.borrower.id);
    // The newest 100 loans are the 2025 ones: one per borrower, newest (last created) first.
    expect(borrowerIds).toEqual([...loanBorrowers].reverse().map((u) => u.id));
    expect(new Set(borrowerIds).size).toBe(100);
    expect(small.result.body.data!.loans.edges.map((e) => e.node.borrower.id)).toEqual(borrowerIds.slice(0, 5));

    expect(big.queries.length).toBeLessThanOrEqual(3 + TOKEN_CHECK);
    expect(big.queries).toHaveLength(small.queries.length);
  });
});

describe('User.loans is batched', () => {
  test('users(first: 50) { loans(first: 3) { totalCount edges } } costs what users(first: 5) costs', async () => {
    const five = await statements(() => t.graphql(UsersWithLoansDocument, { first: 5, loansFirst: 3 }));
    const fifty = await statements(() => t.graphql(UsersWithLoansDocument, { first: 50, loansFirst: 3 }));

    expect(five.result.body.errors).toBeUndefined();
    expect(fifty.result.body.errors).toBeUndefined();
    expect(five.result.body.data!.users.edges).toHaveLength(5);
    expect(fifty.result.body.data!.users.edges).toHaveLength(50);
    // users, one page query for every user's loans, one grouped count.
    expect(fifty.queries).toHaveLength(3 + TOKEN_CHECK);
    expect(fifty.queries).toHaveLength(five.queries.length);
  });

  test('the batched pages and counts are each user’s own', async () => {
    const res = await t.graphql(UsersWithLoansDocument, { first: 50, loansFirst: 3 });
    const edges = res.body.data!.users.edges;
    expect(edges.map((e) => e.node.id)).toEqual([...owners].reverse().map((u) => u.id));
    for (const { node } of edges) {
      const own = [...(loansByOwner.get(node.id) ?? [])].sort(newestFirst);
      expect(node.loans.totalCount).toBe(own.length);
      expect(node.loans.edges.map((e) => e.node.id)).toEqual(own.slice(0, 3).map((l) => l.id));
    }
  });

  test('a filter on User.loans applies to each user’s page and count, still in 3 statements', async () => {
    const { result, queries } = await statements(() =>
      t.graphql(UsersWithLoansDocument, { first: 50, loansFirst: 2, loansFilter: { status: ['APPROVED'] } }),
    );
    expect(queries).toHaveLength(3 + TOKEN_CHECK);
    for (const { node } of result.body.data!.users.edges) {
      const approved = (loansByOwner.get(node.id) ?? [])
        .filter((l) => l.status === LoanStatus.APPROVED)
        .sort(newestFirst);
      expect(node.loans.totalCount).toBe(approved.length);
      expect(node.loans.edges.map((e) => e.node.id)).toEqual(approved.slice(0, 2).map((l) => l.id));
    }
  });

  test('aliases of User.loans with different filters are batched separately and stay correct', async () => {
    const { result, queries } = await statements(() => t.graphql(UsersLoanBreakdownDocument, { first: 50 }));
    expect(result.body.errors).toBeUndefined();
    // users, then a page query and a grouped count per alias.
    expect(queries).toHaveLength(5 + TOKEN_CHECK);
    for (const { node } of result.body.data!.users.edges) {
      const own = [...(loansByOwner.get(node.id) ?? [])].sort(newestFirst);
      const pending = own.filter((l) => l.status === LoanStatus.PENDING);
      const approved = own.filter((l) => l.status === LoanStatus.APPROVED);
      expect(node.pending.totalCount).toBe(pending.length);
      expect(node.pending.edges.map((e) => e.node.id)).toEqual(pending.slice(0, 1).map((l) => l.id));
      expect(node.approved.totalCount).toBe(approved.length);
      expect(node.approved.edges.map((e) => e.node.id)).toEqual(approved.slice(0, 1).map((l) => l.id));
    }
  });
});

// Last in the file: it adds disbursed loans (newer than every fixture above) that no test above expects.
describe('Loan.schedule, outstanding, nextInstallment, daysPastDue and repayments are batched', () => {
  const PAGE = `query ($first: Int) {
    loans(first: $first, filter: { status: [DISBURSED] }) {
      edges { node {
        id
        schedule { number state paid { amount } }
        outstanding { total { amount currencyCode } }
        nextInstallment { number }
        daysPastDue
        repayments(first: 5) { totalCount edges { node { reference allocated { total { amount } } } } }
      } }
    }
  }`;
  const disbursed: string[] = [];

  beforeAll(async () => {
    // 20 legacy-style loans (a term and a rate, no product): 1,000.00 KES at 20% over 3 months, one repayment each.
    for (let i = 0; i < 20; i++) {
      const loan = await disbursedLoan(t, {
        amount: '1000.00',
        currency: 'KES',
        termMonths: 3,
        interestRateApr: '20.00',
      });
      const paid = await t.graphql(RECORD, recordInput(loan.id, `${i + 1}.00`, 'KES', `NPLUS1-${i}`));
      expect((paid.body.data as any).recordRepayment.userErrors).toEqual([]);
      disbursed.push(loan.id);
    }
  });

  test('a page of 20 loans with all of them costs what a page of 5 costs: one statement per field kind', async () => {
    const five = await statements(() => t.graphql(PAGE, { first: 5 }));
    const twenty = await statements(() => t.graphql(PAGE, { first: 20 }));
    expect(five.result.body.errors).toBeUndefined();
    expect(twenty.result.body.errors).toBeUndefined();
    const nodes: any[] = (twenty.result.body.data as any).loans.edges.map((e: { node: unknown }) => e.node);
    expect(nodes.map((n: { id: string }) => n.id)).toEqual([...disbursed].reverse());
    nodes.forEach((node: any, index: number) => {
      const paid = `${20 - index}.00`;
      expect(node.schedule.map((i: { number: number }) => i.number)).toEqual([1, 2, 3]);
      expect(node.schedule[0].paid.amount).toBe(paid);
      expect(node.nextInstallment).toEqual({ number: 1 });
      expect(node.repayments).toEqual({
        totalCount: 1,
        edges: [{ node: { reference: `NPLUS1-${19 - index}`, allocated: { total: { amount: paid } } } }],
      });
    });
    // loans, installments, repayment pages, repayment counts.
    expect(twenty.queries).toHaveLength(4 + TOKEN_CHECK);
    expect(twenty.queries).toHaveLength(five.queries.length);
  });
});
