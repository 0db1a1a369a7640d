import {
  LoanIdsDocument,
  UserByIdDocument,
  UserLoansDocument,
  UsersPageDocument,
} from '../../client/generated/graphql';
import type { LoanFilter, LoanOrder, UserFilter, UsersPageQuery } from '../../client/generated/graphql';
import type { Loan } from '../../src/loans/loan.entity';
import { LoanStatus } from '../../src/loans/loan-status';
import { Role } from '../../src/users/role';
import type { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp, ANY_COST_EXTENSION } from '../support/app';
import { TEST_ADMIN } from '../support/auth';
import { createBorrower } from '../support/factories';
import { errorCodes, insertLoans, newestFirst, type GraphQLResult } from './helpers';

/** The test admin every test database has (the oldest user), whose token `t.graphql` sends. */
const testAdmin = { id: TEST_ADMIN.id } as User;
/** With testAdmin, the only users of this file's database. */
let t: TestApp;
let amina: User;
let admin: User;
let tiedWithAdmin: User;
let otherAdmin: User;
let newest: User;
let aminaLoans: Loan[];

beforeAll(async () => {
  t = await startTestApp();
  const em = t.app.orm.em;
  amina = await createBorrower(em, { email: 'amina@example.com', createdAt: new Date('2025-01-01T00:00:00Z') });
  admin = await createBorrower(em, {
    email: 'admin@example.com',
    role: Role.ADMIN,
    createdAt: new Date('2025-01-02T00:00:00Z'),
  });
  tiedWithAdmin = await createBorrower(em, { email: null, createdAt: new Date('2025-01-02T00:00:00Z') });
  otherAdmin = await createBorrower(em, { role: Role.ADMIN, createdAt: new Date('2025-01-03T00:00:00Z') });
  newest = await createBorrower(em, { firstName: 'Zawadi', createdAt: new Date('2025-01-04T00:00:00Z') });

  aminaLoans = await insertLoans(em, [
    { borrower: amina, amount: '500.00', status: LoanStatus.PENDING, createdAt: new Date('2025-02-01T00:00:00Z') },
    { borrower: amina, amount: '100.00', status: LoanStatus.APPROVED, createdAt: new Date('2025-02-02T00:00:00Z') },
    { borrower: amina, amount: '300.00', status: LoanStatus.PENDING, createdAt: new Date('2025-02-03T00:00:00Z') },
    {
      borrower: amina,
      amount: '200.00',
      currency: 'UGX',
      status: LoanStatus.REPAID,
      createdAt: new Date('2025-02-03T00:00:00Z'),
    },
    { borrower: amina, amount: '400.00', status: LoanStatus.PENDING, createdAt: new Date('2025-02-05T00:00:00Z') },
  ]);
  // Someone else's loan, which must never show up under amina.
  await insertLoans(em, [{ borrower: newest, createdAt: new Date('2025-02-04T00:00:00Z') }]);
});
afterAll(() => t.close());

const byIdDesc = (a: User, b: User) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
/** Newest first; admin and tiedWithAdmin share createdAt, so id (descending) decides. */
const allUsersInOrder = () =>
  [newest, otherAdmin, ...[admin, tiedWithAdmin].sort(byIdDesc), amina, testAdmin].map((u) => u.id);

describe('user(id)', () => {
  test('returns the user', async () => {
    const res = await t.graphql(UserByIdDocument, { id: admin.id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      extensions: ANY_COST_EXTENSION,
      data: {
        user: {
          id: admin.id,
          firstName: 'Amina',
          lastName: 'Otieno',
          email: 'admin@example.com',
          role: 'ADMIN',
          createdAt: '2025-01-02T00:00:00.000Z',
          updatedAt: expect.any(String),
        },
      },
    });
  });

  test.each([
    ['an unknown id', 'usr_nobody'],
    ['a uuid', '7a1c8a55-1b7a-4f5e-9a51-0d6c3b1f2e3d'],
    ['an overlong id', 'u'.repeat(65)],
    ['an empty id', ''],
  ])('returns null for %s', async (_label, id) => {
    const res = await t.graphql(UserByIdDocument, { id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { user: null }, extensions: ANY_COST_EXTENSION });
  });
});

describe('users', () => {
  test('newest first, ties broken by id, with totalCount', async () => {
    const res = await t.graphql(UsersPageDocument, {});
    expect(res.body.data!.users.edges.map((e) => e.node.id)).toEqual(allUsersInOrder());
    expect(res.body.data!.users.totalCount).toBe(6);
    expect(res.body.data!.users.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
  });

  test.each([
    [1, [1, 1, 1, 1, 1, 1]],
    [2, [2, 2, 2]],
    [3, [3, 3]],
  ])('first: %i and endCursor walk every user exactly once, ties included', async (first, expectedSizes) => {
    const ids: string[] = [];
    const sizes: number[] = [];
    let after: string | null = null;
    for (;;) {
      const res: GraphQLResult<UsersPageQuery> = await t.graphql(UsersPageDocument, { first, after });
      const { edges, pageInfo, totalCount } = res.body.data!.users;
      expect(totalCount).toBe(6);
      expect(pageInfo.hasPreviousPage).toBe(after !== null);
      expect(pageInfo.startCursor).toBe(edges[0]?.cursor ?? null);
      expect(pageInfo.endCursor).toBe(edges[edges.length - 1]?.cursor ?? null);
      ids.push(...edges.map((e) => e.node.id));
      sizes.push(edges.length);
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(sizes).toEqual(expectedSizes);
    expect(ids).toEqual(allUsersInOrder());
  });

  test.each([
    [0, 1],
    [1000, 6],
  ])('first: %i is clamped (%i users)', async (first, count) => {
    const res = await t.graphql(UsersPageDocument, { first });
    expect(res.body.data!.users.edges).toHaveLength(count);
  });

  const filters: [string, UserFilter, () => User[]][] = [
    ['role ADMIN', { role: ['ADMIN'] }, () => [otherAdmin, admin, testAdmin]],
    ['role BORROWER', { role: ['BORROWER'] }, () => [newest, tiedWithAdmin, amina]],
    ['both roles', { role: ['BORROWER', 'ADMIN'] }, () => [newest, otherAdmin, tiedWithAdmin, admin, amina, testAdmin]],
    ['email, exact', { email: 'amina@example.com' }, () => [amina]],
    ['email, case-insensitive and trimmed', { email: '  AMINA@Example.COM ' }, () => [amina]],
    ['email nobody has', { email: 'nobody@example.com' }, () => []],
    ['email prefix is not a match', { email: 'amina@' }, () => []],
    ['role and email', { role: ['ADMIN'], email: 'ADMIN@example.com' }, () => [admin]],
    ['role and email of someone else', { role: ['ADMIN'], email: 'amina@example.com' }, () => []],
  ];

  test.each(filters)('filter: %s', async (_label, filter, users) => {
    const res = await t.graphql(UsersPageDocument, { filter });
    expect(res.body.errors).toBeUndefined();
    const expectedIds = users().map((u) => u.id);
    const ids = res.body.data!.users.edges.map((e) => e.node.id);
    // Same set, in the list's order.
    expect(ids).toEqual(allUsersInOrder().filter((id) => expectedIds.includes(id)));
    expect(ids).toHaveLength(expectedIds.length);
    expect(res.body.data!.users.totalCount).toBe(expectedIds.length);
  });

  test('a filtered walk with first: 1 returns exactly the filtered users', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: GraphQLResult<UsersPageQuery> = await t.graphql(UsersPageDocument, {
        first: 1,
        after,
        filter: { role: ['ADMIN'] },
      });
      const { edges, pageInfo } = res.body.data!.users;
      seen.push(...edges.map((e) => e.node.id));
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(seen).toEqual([otherAdmin.id, admin.id, testAdmin.id]);
  });

  test('an invalid cursor is BAD_USER_INPUT', async () => {
    const res = await t.graphql(UsersPageDocument, { after: 'bogus' });
    expect(res.status).toBe(200);
    expect(res.body.data).toBeNull();
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
  });

  test('a loans cursor is refused by users', async () => {
    const loans = await t.graphql(LoanIdsDocument, { first: 1 });
    const res = await t.graphql(UsersPageDocument, { after: loans.body.data!.loans.pageInfo.endCursor });
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
  });

  test('an unknown role is BAD_USER_INPUT with HTTP 400', async () => {
    const res = await t.graphql(UsersPageDocument, { filter: { role: ['ROOT'] } as unknown as UserFilter });
    expect(res.status).toBe(400);
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('User.loans', () => {
  async function userLoans(
    id: string,
    args: { first?: number; after?: string | null; filter?: LoanFilter; orderBy?: LoanOrder } = {},
  ) {
    const res = await t.graphql(UserLoansDocument, { id, ...args });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.user!.loans;
  }

  test('only the user’s own loans, newest first, with totalCount', async () => {
    const loans = await userLoans(amina.id);
    expect(loans.edges.map((e) => e.node.id)).toEqual([...aminaLoans].sort(newestFirst).map((l) => l.id));
    expect(loans.totalCount).toBe(5);
  });

  test('first: 2 pages through one user’s loans', async () => {
    const ids: string[] = [];
    const sizes: number[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await userLoans(amina.id, { first: 2, after });
      expect(page.totalCount).toBe(5);
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      ids.push(...page.edges.map((e) => e.node.id));
      sizes.push(page.edges.length);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(ids).toEqual([...aminaLoans].sort(newestFirst).map((l) => l.id));
  });

  test('filters apply to the page and to totalCount', async () => {
    const pending = await userLoans(amina.id, { filter: { status: ['PENDING'] } });
    expect(pending.edges.map((e) => e.node.status)).toEqual(['PENDING', 'PENDING', 'PENDING']);
    expect(pending.totalCount).toBe(3);

    const ugx = await userLoans(amina.id, { filter: { currency: 'ugx' } });
    expect(ugx.edges.map((e) => e.node.amount)).toEqual([{ amount: '200.00', currencyCode: 'UGX' }]);
    expect(ugx.totalCount).toBe(1);

    const window = await userLoans(amina.id, {
      filter: { createdAfter: '2025-02-02T00:00:00.000Z', createdBefore: '2025-02-05T00:00:00.000Z' },
    });
    expect(window.totalCount).toBe(3);
    expect(window.edges.map((e) => e.node.amount.amount).sort()).toEqual(['100.00', '200.00', '300.00']);
  });

  test('orderBy AMOUNT ASC, paged', async () => {
    const first = await userLoans(amina.id, { first: 3, orderBy: { field: 'AMOUNT', direction: 'ASC' } });
    expect(first.edges.map((e) => e.node.amount.amount)).toEqual(['100.00', '200.00', '300.00']);
    const second = await userLoans(amina.id, {
      first: 3,
      after: first.pageInfo.endCursor,
      orderBy: { field: 'AMOUNT', direction: 'ASC' },
    });
    expect(second.edges.map((e) => e.node.amount.amount)).toEqual(['400.00', '500.00']);
    expect(second.pageInfo.hasNextPage).toBe(false);
  });

  test('a user without loans has an empty connection', async () => {
    expect(await userLoans(admin.id)).toEqual({
      totalCount: 0,
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  test('an invalid cursor on User.loans is BAD_USER_INPUT', async () => {
    const res = await t.graphql(UserLoansDocument, { id: amina.id, after: 'bogus' });
    // The error nulls the nullable `user` field, not the whole response.
    expect(res.body.data).toEqual({ user: null });
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0].path).toEqual(['user', 'loans']);
  });
});
