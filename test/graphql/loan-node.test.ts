import { randomUUID } from 'node:crypto';
import { LoanByIdDocument, NodeByIdDocument, UserByIdDocument } from '../../client/generated/graphql';
import { LoanStatus } from '../../src/loans/loan-status';
import { Role } from '../../src/users/role';
import type { Loan } from '../../src/loans/loan.entity';
import type { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp, ANY_COST_EXTENSION } from '../support/app';
import { createBorrower, createLoan } from '../support/factories';

let t: TestApp;
let borrower: User;
let loan: Loan;

beforeAll(async () => {
  t = await startTestApp();
  borrower = await createBorrower(t.app.orm.em, { email: 'wanjiru@example.com', role: Role.ADMIN });
  loan = await createLoan(t.app.orm.em, {
    borrower,
    amount: '12500.50',
    currency: 'UGX',
    status: LoanStatus.DISBURSED,
    termMonths: 12,
    interestRateApr: '28.00',
    createdAt: new Date('2025-01-02T03:04:05.678Z'),
  });
});
afterAll(() => t.close());

describe('loan(id)', () => {
  test('returns every field of an existing loan, with Money as exact strings', async () => {
    const res = await t.graphql(LoanByIdDocument, { id: loan.id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      extensions: ANY_COST_EXTENSION,
      data: {
        loan: {
          id: loan.id,
          status: 'DISBURSED',
          amount: { amount: '12500.50', currencyCode: 'UGX' },
          termMonths: 12,
          interestRateApr: '28.00',
          createdAt: '2025-01-02T03:04:05.678Z',
          updatedAt: '2025-01-02T03:04:05.678Z',
          version: 1,
          borrower: { id: borrower.id },
        },
      },
    });
  });

  test('finds a loan by its id written in upper case', async () => {
    const res = await t.graphql(LoanByIdDocument, { id: loan.id.toUpperCase() });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.loan?.id).toBe(loan.id);
  });

  test.each([
    ['an unknown uuid', randomUUID()],
    ['a malformed id', 'not-a-uuid'],
    ['a user id', 'usr_kenya_001'],
    ['an empty id', ''],
    ['an id that looks like SQL', "' or 1=1 --"],
  ])('returns null, not an error, for %s', async (_label, id) => {
    const res = await t.graphql(LoanByIdDocument, { id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { loan: null }, extensions: ANY_COST_EXTENSION });
  });
});

describe('node(id)', () => {
  test('resolves a loan id to a Loan', async () => {
    const res = await t.graphql(NodeByIdDocument, { id: loan.id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      extensions: ANY_COST_EXTENSION,
      data: {
        node: {
          __typename: 'Loan',
          id: loan.id,
          status: 'DISBURSED',
          amount: { amount: '12500.50', currencyCode: 'UGX' },
        },
      },
    });
  });

  test('resolves a user id to a User', async () => {
    const res = await t.graphql(NodeByIdDocument, { id: borrower.id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      extensions: ANY_COST_EXTENSION,
      data: { node: { __typename: 'User', id: borrower.id, email: 'wanjiru@example.com', role: 'ADMIN' } },
    });
  });

  test('resolves a legacy borrower whose id happens to be a uuid to a User', async () => {
    // The legacy REST API registers any borrower_id (a non-blank string of at most 64 characters) on first use.
    const legacyBorrowerId = randomUUID();
    const created = await t.http
      .post('/api/loans')
      .send({ borrower_id: legacyBorrowerId, amount: 100, currency: 'KES' })
      .expect(201);
    expect(created.body).toMatchObject({ borrower_id: legacyBorrowerId });

    const asUser = await t.graphql(UserByIdDocument, { id: legacyBorrowerId });
    expect(asUser.body.data!.user).toMatchObject({ id: legacyBorrowerId, role: 'BORROWER' });

    const res = await t.graphql(NodeByIdDocument, { id: legacyBorrowerId });
    expect(res.body).toEqual({
      extensions: ANY_COST_EXTENSION,
      data: { node: { __typename: 'User', id: legacyBorrowerId, email: null, role: 'BORROWER' } },
    });
  });

  test.each([
    ['an unknown uuid', randomUUID()],
    ['an unknown user id', 'usr_nobody_here'],
    ['an overlong id', 'x'.repeat(300)],
    ['an empty id', ''],
  ])('returns null for %s', async (_label, id) => {
    const res = await t.graphql(NodeByIdDocument, { id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { node: null }, extensions: ANY_COST_EXTENSION });
  });
});
