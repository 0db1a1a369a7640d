import { LoanIdsDocument, LoansPageDocument, UsersPageDocument } from '../../client/generated/graphql';
import type { LoanOrder, LoansPageQuery } from '../../client/generated/graphql';
import type { Loan } from '../../src/loans/loan.entity';
import type { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp, ANY_COST_EXTENSION } from '../support/app';
import { countQueries, createBorrower } from '../support/factories';
import { at, errorCodes, expectWellFormedErrors, insertLoans, newestFirst, type GraphQLResult } from './helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

/** Reads every page of one borrower's loans with `first`, following endCursor; checks pageInfo on the way. */
async function walkPages(borrowerId: string, first: number, orderBy?: LoanOrder) {
  const ids: string[] = [];
  const pageSizes: number[] = [];
  let after: string | null = null;
  for (let page = 0; page < 50; page++) {
    const res: GraphQLResult<LoansPageQuery> = await t.graphql(LoansPageDocument, {
      first,
      after,
      filter: { borrowerId },
      orderBy,
    });
    expect(res.body.errors).toBeUndefined();
    const connection = res.body.data!.loans;
    const { edges, pageInfo } = connection;
    pageSizes.push(edges.length);
    ids.push(...edges.map((e) => e.node.id));
    expect(pageInfo.hasPreviousPage).toBe(after !== null);
    expect(pageInfo.startCursor).toBe(edges[0]?.cursor ?? null);
    expect(pageInfo.endCursor).toBe(edges[edges.length - 1]?.cursor ?? null);
    if (!pageInfo.hasNextPage) return { ids, pageSizes };
    expect(edges).toHaveLength(Math.min(Math.max(first, 1), 100));
    after = pageInfo.endCursor;
  }
  throw new Error('pagination did not end');
}

/** A borrower with 7 loans in two groups sharing createdAt (rows of one flush share it in production). */
async function borrowerWithTiedLoans(): Promise<{ borrower: User; loans: Loan[] }> {
  const borrower = await createBorrower(t.app.orm.em);
  const loans = await insertLoans(t.app.orm.em, [
    ...['300.00', '100.00', '200.00'].map((amount) => ({
      borrower,
      amount,
      createdAt: new Date('2024-05-01T10:00:00.000Z'),
    })),
    ...['100.00', '400.00', '100.00', '250.00'].map((amount) => ({
      borrower,
      amount,
      createdAt: new Date('2024-05-02T10:00:00.000Z'),
    })),
  ]);
  return { borrower, loans };
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byAmountThenId = (dir: 1 | -1) => (a: Loan, b: Loan) => {
  const diff = Number(a.amount) - Number(b.amount);
  return dir * (diff !== 0 ? diff : byId(a.id, b.id));
};

describe('order', () => {
  test('default order is newest first, ties broken by id descending (whole table, no filter)', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    // Far in the future, so these are the newest loans of the table whatever other tests created.
    const loans = await insertLoans(t.app.orm.em, [
      { borrower, createdAt: new Date('2090-01-01T00:00:00.000Z') },
      { borrower, createdAt: new Date('2090-01-03T00:00:00.000Z') },
      { borrower, createdAt: new Date('2090-01-02T00:00:00.000Z') },
      { borrower, createdAt: new Date('2090-01-02T00:00:00.000Z') },
      { borrower, createdAt: new Date('2090-01-02T00:00:00.000Z') },
    ]);
    const res = await t.graphql(LoansPageDocument, { first: 5 });
    expect(res.status).toBe(200);
    const ids = res.body.data!.loans.edges.map((e) => e.node.id);
    expect(ids).toEqual([...loans].sort(newestFirst).map((l) => l.id));
    expect(res.body.data!.loans.edges.map((e) => e.node.createdAt)).toEqual([
      '2090-01-03T00:00:00.000Z',
      '2090-01-02T00:00:00.000Z',
      '2090-01-02T00:00:00.000Z',
      '2090-01-02T00:00:00.000Z',
      '2090-01-01T00:00:00.000Z',
    ]);
  });

  test('orderBy CREATED_AT ASC is oldest first, ties broken by id ascending', async () => {
    const { borrower, loans } = await borrowerWithTiedLoans();
    const res = await t.graphql(LoanIdsDocument, {
      filter: { borrowerId: borrower.id },
      orderBy: { field: 'CREATED_AT', direction: 'ASC' },
    });
    expect(res.body.data!.loans.edges.map((e) => e.node.id)).toEqual(
      [...loans]
        .sort(newestFirst)
        .reverse()
        .map((l) => l.id),
    );
  });

  test.each([
    ['ASC', 1],
    ['DESC', -1],
  ] as const)('orderBy AMOUNT %s sorts by amount, ties broken by id', async (direction, sign) => {
    const { borrower, loans } = await borrowerWithTiedLoans();
    const res = await t.graphql(LoansPageDocument, {
      filter: { borrowerId: borrower.id },
      orderBy: { field: 'AMOUNT', direction },
    });
    const nodes = res.body.data!.loans.edges.map((e) => e.node);
    expect(nodes.map((n) => n.id)).toEqual([...loans].sort(byAmountThenId(sign)).map((l) => l.id));
    const amounts = nodes.map((n) => n.amount.amount);
    expect(amounts).toEqual(
      direction === 'ASC'
        ? ['100.00', '100.00', '100.00', '200.00', '250.00', '300.00', '400.00']
        : ['400.00', '300.00', '250.00', '200.00', '100.00', '100.00', '100.00'],
    );
  });

  test('amounts are ordered numerically, not as text', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    await insertLoans(
      t.app.orm.em,
      ['9.99', '10.00', '100.00', '1000.00', '99.50'].map((amount) => ({ borrower, amount })),
    );
    const res = await t.graphql(LoansPageDocument, {
      filter: { borrowerId: borrower.id },
      orderBy: { field: 'AMOUNT', direction: 'ASC' },
    });
    expect(res.body.data!.loans.edges.map((e) => e.node.amount.amount)).toEqual([
      '9.99',
      '10.00',
      '99.50',
      '100.00',
      '1000.00',
    ]);
  });
});

describe('pagination', () => {
  test.each([
    ['default order', undefined],
    ['CREATED_AT ASC', { field: 'CREATED_AT', direction: 'ASC' }],
    ['AMOUNT ASC', { field: 'AMOUNT', direction: 'ASC' }],
    ['AMOUNT DESC', { field: 'AMOUNT', direction: 'DESC' }],
  ] as [string, LoanOrder | undefined][])(
    'first: 2 walks every loan exactly once with equal sort keys (%s)',
    async (_label, orderBy) => {
      const { borrower, loans } = await borrowerWithTiedLoans();
      const { ids, pageSizes } = await walkPages(borrower.id, 2, orderBy);
      expect(pageSizes).toEqual([2, 2, 2, 1]);
      expect(new Set(ids).size).toBe(7);
      const expected =
        orderBy === undefined
          ? [...loans].sort(newestFirst)
          : orderBy.field === 'CREATED_AT'
            ? [...loans].sort(newestFirst).reverse()
            : [...loans].sort(byAmountThenId(orderBy.direction === 'ASC' ? 1 : -1));
      expect(ids).toEqual(expected.map((l) => l.id));
    },
  );

  test('pageInfo of the first, a middle and the last page', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    await insertLoans(
      t.app.orm.em,
      [0, 1, 2, 3, 4].map((i) => ({ borrower, createdAt: at('2024-06-01T00:00:00Z', i) })),
    );
    const first = await t.graphql(LoansPageDocument, { first: 2, filter: { borrowerId: borrower.id } });
    const p1 = first.body.data!.loans;
    expect(p1.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: p1.edges[0].cursor,
      endCursor: p1.edges[1].cursor,
    });
    expect(p1.totalCount).toBe(5);

    const second = await t.graphql(LoansPageDocument, {
      first: 2,
      after: p1.pageInfo.endCursor,
      filter: { borrowerId: borrower.id },
    });
    const p2 = second.body.data!.loans;
    expect(p2.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: true,
      startCursor: p2.edges[0].cursor,
      endCursor: p2.edges[1].cursor,
    });
    expect(p2.totalCount).toBe(5);

    const third = await t.graphql(LoansPageDocument, {
      first: 2,
      after: p2.pageInfo.endCursor,
      filter: { borrowerId: borrower.id },
    });
    const p3 = third.body.data!.loans;
    expect(p3.edges).toHaveLength(1);
    expect(p3.pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: true,
      startCursor: p3.edges[0].cursor,
      endCursor: p3.edges[0].cursor,
    });
    expect(p3.edges[0].node.createdAt).toBe('2024-06-01T00:00:00.000Z');

    // After the last loan: an empty page, not an error.
    const after = await t.graphql(LoansPageDocument, {
      first: 2,
      after: p3.pageInfo.endCursor,
      filter: { borrowerId: borrower.id },
    });
    expect(after.body.data!.loans).toEqual({
      totalCount: 5,
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null },
    });
  });

  test('a page exactly as large as the rest has hasNextPage false', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    await insertLoans(t.app.orm.em, [{ borrower }, { borrower }]);
    const res = await t.graphql(LoansPageDocument, { first: 2, filter: { borrowerId: borrower.id } });
    expect(res.body.data!.loans.edges).toHaveLength(2);
    expect(res.body.data!.loans.pageInfo.hasNextPage).toBe(false);
  });

  test('an empty list has null cursors', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const res = await t.graphql(LoansPageDocument, { filter: { borrowerId: borrower.id } });
    expect(res.body).toEqual({
      extensions: ANY_COST_EXTENSION,
      data: {
        loans: {
          totalCount: 0,
          edges: [],
          pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
        },
      },
    });
  });

  test('a loan created after page 1 was read does not shift page 2 (keyset, not offset)', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const loans = await insertLoans(
      t.app.orm.em,
      [0, 1, 2, 3].map((i) => ({ borrower, createdAt: at('2024-07-01T00:00:00Z', i) })),
    );
    const p1 = await t.graphql(LoanIdsDocument, { first: 2, filter: { borrowerId: borrower.id } });
    await insertLoans(t.app.orm.em, [{ borrower, createdAt: at('2024-07-01T00:00:00Z', 10) }]);
    const p2 = await t.graphql(LoanIdsDocument, {
      first: 2,
      after: p1.body.data!.loans.pageInfo.endCursor,
      filter: { borrowerId: borrower.id },
    });
    expect(p2.body.data!.loans.edges.map((e) => e.node.id)).toEqual([loans[1].id, loans[0].id]);
  });
});

describe('first is clamped to 1..100', () => {
  let borrower: User;
  beforeAll(async () => {
    borrower = await createBorrower(t.app.orm.em);
    await insertLoans(
      t.app.orm.em,
      Array.from({ length: 101 }, (_, i) => ({ borrower, createdAt: at('2023-01-01T00:00:00Z', i) })),
    );
  });

  test.each([
    [0, 1, true],
    [-5, 1, true],
    [1, 1, true],
    [100, 100, true],
    [101, 100, true],
    [1000, 100, true],
  ])('first: %i gives %i items', async (first, expected, hasNextPage) => {
    const res = await t.graphql(LoansPageDocument, { first, filter: { borrowerId: borrower.id } });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.loans.edges).toHaveLength(expected);
    expect(res.body.data!.loans.pageInfo.hasNextPage).toBe(hasNextPage);
    expect(res.body.data!.loans.totalCount).toBe(101);
  });

  test('first defaults to 20', async () => {
    const res = await t.graphql(LoanIdsDocument, { filter: { borrowerId: borrower.id } });
    expect(res.body.data!.loans.edges).toHaveLength(20);
  });

  test('the 101st loan is on the second page of 100', async () => {
    const page1 = await t.graphql(LoanIdsDocument, { first: 1000, filter: { borrowerId: borrower.id } });
    const page2 = await t.graphql(LoanIdsDocument, {
      first: 1000,
      after: page1.body.data!.loans.pageInfo.endCursor,
      filter: { borrowerId: borrower.id },
    });
    expect(page2.body.data!.loans.edges).toHaveLength(1);
    expect(page2.body.data!.loans.pageInfo.hasNextPage).toBe(false);
    const all = [...page1.body.data!.loans.edges, ...page2.body.data!.loans.edges].map((e) => e.node.id);
    expect(new Set(all).size).toBe(101);
  });
});

describe('cursors', () => {
  const cursor = (parts: unknown) => Buffer.from(`c1:${JSON.stringify(parts)}`, 'utf8').toString('base64url');

  test.each([
    ['garbage', 'not-a-cursor'],
    ['an empty string', ''],
    ['base64 of something else', Buffer.from('hello').toString('base64url')],
    ['a cursor with a non-uuid id', cursor(['loans:CREATED_AT:DESC', '2024-01-01T00:00:00.000Z', "1' or '1'='1"])],
    [
      'a cursor with a malformed key',
      cursor(['loans:CREATED_AT:DESC', 'yesterday', '00000000-0000-0000-0000-000000000000']),
    ],
    ['an overlong cursor', 'a'.repeat(600)],
  ])('an invalid cursor (%s) is BAD_USER_INPUT', async (_label, after) => {
    const res = await t.graphql(LoanIdsDocument, { after });
    expect(res.status).toBe(200);
    expect(res.body.data).toBeNull();
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0].path).toEqual(['loans']);
    expect(res.body.errors![0].message).toMatch(/after/);
    expectWellFormedErrors(res.body);
  });

  test.each([
    ['default order', undefined, { field: 'AMOUNT', direction: 'ASC' }],
    ['AMOUNT ASC', { field: 'AMOUNT', direction: 'ASC' }, { field: 'AMOUNT', direction: 'DESC' }],
    ['CREATED_AT ASC', { field: 'CREATED_AT', direction: 'ASC' }, undefined],
  ] as [string, LoanOrder | undefined, LoanOrder | undefined][])(
    'a cursor from %s is refused by another orderBy',
    async (_label, from, to) => {
      const borrower = await createBorrower(t.app.orm.em);
      await insertLoans(t.app.orm.em, [{ borrower }, { borrower }]);
      const first = await t.graphql(LoanIdsDocument, { first: 1, filter: { borrowerId: borrower.id }, orderBy: from });
      const after = first.body.data!.loans.pageInfo.endCursor;
      expect(after).toEqual(expect.any(String));
      const res = await t.graphql(LoanIdsDocument, {
        first: 1,
        after,
        filter: { borrowerId: borrower.id },
        orderBy: to,
      });
      expect(res.status).toBe(200);
      expect(res.body.data).toBeNull();
      expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
    },
  );

  test('a users cursor is refused by loans', async () => {
    await createBorrower(t.app.orm.em);
    const users = await t.graphql(UsersPageDocument, { first: 1 });
    const res = await t.graphql(LoanIdsDocument, { after: users.body.data!.users.pageInfo.endCursor });
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('totalCount', () => {
  test('runs its COUNT only when selected', async () => {
    const em = t.app.orm.em;
    const borrower = await createBorrower(em);
    await insertLoans(em, [{ borrower }, { borrower }, { borrower }]);

    const without = await countQueries(em, () => t.graphql(LoanIdsDocument, { filter: { borrowerId: borrower.id } }));
    expect(without.result.body.data!.loans.edges).toHaveLength(3);
    expect(without.queries.filter((sql) => /count\s*\(/i.test(sql))).toEqual([]);
    // The page, plus the token check every authenticated request makes (src/auth/access.ts).
    expect(without.queries).toHaveLength(2);

    const withCount = await countQueries(em, () =>
      t.graphql(LoansPageDocument, { first: 1, filter: { borrowerId: borrower.id } }),
    );
    expect(withCount.result.body.data!.loans.totalCount).toBe(3);
    expect(withCount.queries.filter((sql) => /count\s*\(/i.test(sql))).toHaveLength(1);
  });

  test('counts every matching loan over all pages, not the page', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    await insertLoans(t.app.orm.em, [{ borrower }, { borrower }, { borrower }, { borrower }]);
    const p1 = await t.graphql(LoansPageDocument, { first: 3, filter: { borrowerId: borrower.id } });
    const p2 = await t.graphql(LoansPageDocument, {
      first: 3,
      after: p1.body.data!.loans.pageInfo.endCursor,
      filter: { borrowerId: borrower.id },
    });
    expect(p1.body.data!.loans.totalCount).toBe(4);
    expect(p2.body.data!.loans.totalCount).toBe(4);
    expect(p2.body.data!.loans.edges).toHaveLength(1);
  });
});
