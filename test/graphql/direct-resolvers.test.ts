import path from 'node:path';
import { startTestApp, type TestApp } from '../support/app';
import { at, insertBorrowers, insertLoans } from './helpers';

/**
 * Field resolvers of only `@Root()` and `@Ctx()` are called directly, not through type-graphql's per-call wrapper
 * (src/graphql/direct-resolvers.ts). Structural: the wrapper's parameter step (`getParams`, which every wrapped
 * call runs) runs for the root field and for field resolvers with arguments, and not for `Loan.amount`,
 * `Loan.borrower` or `Loan.history`; and the answers are what the database holds.
 */
// type-graphql's own module (not in its package exports): the wrapper calls `getParams` through it on every call.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helpers = require(path.join(path.dirname(require.resolve('type-graphql')), 'resolvers', 'helpers.js')) as {
  getParams: (...args: unknown[]) => unknown;
};

let t: TestApp;
let borrowerIds: string[];

beforeAll(async () => {
  t = await startTestApp();
  const borrowers = await insertBorrowers(t.app.orm.em, 3);
  borrowerIds = borrowers.map((b) => b.id);
  await insertLoans(
    t.app.orm.em,
    Array.from({ length: 6 }, (_, i) => ({
      borrower: borrowers[i % 3],
      amount: `${1000 + i}.25`,
      currency: i % 2 ? 'KES' : 'NGN',
      createdAt: at('2025-03-01T00:00:00Z', i),
    })),
  );
});

afterAll(async () => {
  await t?.close();
});

afterEach(() => jest.restoreAllMocks());

test('a page of loans with amounts, borrowers and history: only the root field goes through the wrapper', async () => {
  const getParams = jest.spyOn(helpers, 'getParams');
  const res = await t.graphql<{
    loans: {
      edges: {
        node: {
          amount: { amount: string; currencyCode: string };
          borrower: { id: string };
          history: { id: string }[];
        };
      }[];
    };
  }>('{ loans(first: 6) { edges { node { amount { amount currencyCode } borrower { id } history { id } } } } }');
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  const nodes = res.body.data!.loans.edges.map((e) => e.node);
  // Newest first: loan 5 (borrower 2, KES) down to loan 0 (borrower 0, NGN).
  expect(nodes.map((n) => n.amount)).toEqual(
    [5, 4, 3, 2, 1, 0].map((i) => ({ amount: `${1000 + i}.25`, currencyCode: i % 2 ? 'KES' : 'NGN' })),
  );
  expect(nodes.map((n) => n.borrower.id)).toEqual([5, 4, 3, 2, 1, 0].map((i) => borrowerIds[i % 3]));
  expect(nodes.every((n) => Array.isArray(n.history))).toBe(true);
  // Query.loans (it has arguments) only: none of the 18 field resolver calls of the page.
  expect(getParams).toHaveBeenCalledTimes(1);
});

test('a field resolver with arguments keeps the wrapper (User.loans, once per user)', async () => {
  const getParams = jest.spyOn(helpers, 'getParams');
  const res = await t.graphql<{ users: { edges: { node: { loans: { edges: unknown[] } } }[] } }>(
    '{ users(first: 3, filter: { role: [BORROWER] }) { edges { node { id loans(first: 1) { edges { node { id } } } } } } }',
  );
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  const users = res.body.data!.users.edges;
  expect(users).toHaveLength(3);
  expect(getParams).toHaveBeenCalledTimes(1 + users.length);
});
