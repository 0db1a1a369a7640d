import { LoanCountDocument, LoanIdsDocument } from '../../client/generated/graphql';
import type { LoanFilter, LoanIdsQuery } from '../../client/generated/graphql';
import type { Loan } from '../../src/loans/loan.entity';
import { LoanStatus } from '../../src/loans/loan-status';
import type { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp } from '../support/app';
import { createBorrower } from '../support/factories';
import { errorCodes, insertLoans, newestFirst, type GraphQLResult } from './helpers';

/** The only loans of this file's database: every filter result below is exact. */
let t: TestApp;
let amina: User;
let baraka: User;
const loans: Record<string, Loan> = {};

beforeAll(async () => {
  t = await startTestApp();
  const em = t.app.orm.em;
  amina = await createBorrower(em);
  baraka = await createBorrower(em);
  const rows: [string, User, LoanStatus, string, string][] = [
    ['a1', amina, LoanStatus.PENDING, 'KES', '2025-01-01T00:00:00.000Z'],
    ['a2', amina, LoanStatus.APPROVED, 'KES', '2025-01-01T23:59:59.999Z'],
    ['a3', amina, LoanStatus.REJECTED, 'UGX', '2025-01-02T00:00:00.000Z'],
    ['a4', amina, LoanStatus.DISBURSED, 'USD', '2025-01-03T12:00:00.000Z'],
    ['b1', baraka, LoanStatus.PENDING, 'UGX', '2025-01-02T00:00:00.000Z'],
    ['b2', baraka, LoanStatus.REPAID, 'KES', '2025-01-02T00:00:00.001Z'],
    ['b3', baraka, LoanStatus.DEFAULTED, 'USD', '2025-01-04T00:00:00.000Z'],
    ['b4', baraka, LoanStatus.APPROVED, 'TZS', '2024-12-31T23:59:59.999Z'],
  ];
  const created = await insertLoans(
    em,
    rows.map(([, borrower, status, currency, createdAt]) => ({
      borrower,
      status,
      currency,
      createdAt: new Date(createdAt),
    })),
  );
  rows.forEach(([name], i) => (loans[name] = created[i]));
});
afterAll(() => t.close());

/** The expected result: the named loans in the default order (newest first, then id). */
const expected = (...names: string[]) =>
  names
    .map((n) => loans[n])
    .sort(newestFirst)
    .map((l) => l.id);

async function idsFor(filter: LoanFilter): Promise<string[]> {
  const res = await t.graphql(LoanIdsDocument, { first: 100, filter });
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.loans.edges.map((e) => e.node.id);
}

async function countFor(filter: LoanFilter): Promise<number> {
  const res = await t.graphql(LoanCountDocument, { filter });
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.loans.totalCount;
}

const cases: [string, () => LoanFilter, string[]][] = [
  ['no filter', () => ({}), ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'b4']],
  ['status: one value as a list', () => ({ status: ['PENDING'] }), ['a1', 'b1']],
  ['status: several values', () => ({ status: ['APPROVED', 'REPAID', 'DEFAULTED'] }), ['a2', 'b2', 'b3', 'b4']],
  [
    'status: empty list means no status filter',
    () => ({ status: [] }),
    ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'b4'],
  ],
  ['status without a match', () => ({ status: ['REJECTED', 'DISBURSED'] }), ['a3', 'a4']],
  ['currency upper case', () => ({ currency: 'KES' }), ['a1', 'a2', 'b2']],
  ['currency lower case', () => ({ currency: 'kes' }), ['a1', 'a2', 'b2']],
  ['currency mixed case', () => ({ currency: 'uGx' }), ['a3', 'b1']],
  ['currency nobody uses', () => ({ currency: 'EUR' }), []],
  ['borrowerId', () => ({ borrowerId: amina.id }), ['a1', 'a2', 'a3', 'a4']],
  ['unknown borrowerId', () => ({ borrowerId: 'usr_nobody' }), []],
  ['createdAfter is inclusive', () => ({ createdAfter: '2025-01-02T00:00:00.000Z' }), ['a3', 'a4', 'b1', 'b2', 'b3']],
  [
    'createdAfter one millisecond later excludes the loans at the instant',
    () => ({ createdAfter: '2025-01-02T00:00:00.001Z' }),
    ['a4', 'b2', 'b3'],
  ],
  ['createdBefore is exclusive', () => ({ createdBefore: '2025-01-02T00:00:00.000Z' }), ['a1', 'a2', 'b4']],
  [
    'createdBefore one millisecond later includes the loans at the instant',
    () => ({ createdBefore: '2025-01-02T00:00:00.001Z' }),
    ['a1', 'a2', 'a3', 'b1', 'b4'],
  ],
  [
    'a one-day window [createdAfter, createdBefore)',
    () => ({ createdAfter: '2025-01-01T00:00:00.000Z', createdBefore: '2025-01-02T00:00:00.000Z' }),
    ['a1', 'a2'],
  ],
  [
    'an empty window (createdAfter = createdBefore)',
    () => ({ createdAfter: '2025-01-02T00:00:00.000Z', createdBefore: '2025-01-02T00:00:00.000Z' }),
    [],
  ],
  ['a time zone offset is honoured', () => ({ createdBefore: '2025-01-02T03:00:00.000+03:00' }), ['a1', 'a2', 'b4']],
  ['status and borrowerId', () => ({ status: ['PENDING', 'APPROVED'], borrowerId: baraka.id }), ['b1', 'b4']],
  ['currency and borrowerId', () => ({ currency: 'usd', borrowerId: amina.id }), ['a4']],
  [
    'status, currency and date range',
    () => ({
      status: ['PENDING', 'REPAID', 'APPROVED'],
      currency: 'KES',
      createdAfter: '2025-01-01T12:00:00.000Z',
      createdBefore: '2025-01-03T00:00:00.000Z',
    }),
    ['a2', 'b2'],
  ],
  [
    'every filter at once',
    () => ({
      status: ['REJECTED'],
      currency: 'ugx',
      borrowerId: amina.id,
      createdAfter: '2025-01-02T00:00:00.000Z',
      createdBefore: '2025-01-02T00:00:00.001Z',
    }),
    ['a3'],
  ],
];

describe('loans(filter)', () => {
  test.each(cases)('%s', async (_label, filter, names) => {
    expect(await idsFor(filter())).toEqual(expected(...names));
  });
});

describe('loans(filter) { totalCount }', () => {
  test.each(cases)('%s', async (_label, filter, names) => {
    expect(await countFor(filter())).toBe(names.length);
  });
});

describe('filtered pagination', () => {
  test('walking a filtered list with first: 1 returns exactly the filtered loans', async () => {
    const filter: LoanFilter = { currency: 'kes' };
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: GraphQLResult<LoanIdsQuery> = await t.graphql(LoanIdsDocument, { first: 1, after, filter });
      const { edges, pageInfo } = res.body.data!.loans;
      seen.push(...edges.map((e) => e.node.id));
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(seen).toEqual(expected('a1', 'a2', 'b2'));
  });
});

describe('malformed filters', () => {
  test.each([
    ['an unknown status', { status: ['ACTIVE'] }],
    ['a lower-case status', { status: ['pending'] }],
    ['a date that is not a date', { createdAfter: 'yesterday' }],
  ])('%s is refused with BAD_USER_INPUT and HTTP 400', async (_label, filter) => {
    const res = await t.graphql(LoanIdsDocument, { filter: filter as LoanFilter });
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
  });
});
