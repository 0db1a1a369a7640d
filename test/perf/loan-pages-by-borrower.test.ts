import { clampPageSize } from '../../src/common/cursor';
import { OrderDirection } from '../../src/common/ordering';
import { LoanStatus } from '../../src/loans/loan-status';
import { findLoanPage, findLoanPagesByBorrower, LoanOrderField, type LoanListArgs } from '../../src/loans/loan.queries';
import { startTestApp, type TestApp } from '../support/app';
import { countQueries, createBorrower } from '../support/factories';
import { adminQuery } from '../support/pg-admin';

/**
 * `users { loans }`: every borrower's page in ONE statement, a LATERAL subquery per borrower that reads
 * only `first + 1` rows of the (borrower_id, created_at, id) index, whatever the borrower's loan count.
 * The single-list query (`findLoanPage` with a borrower filter) is the oracle.
 */

const PER_BORROWER = 120;

/** Loans for many borrowers in ONE statement (pg, which binds the array; MikroORM's `execute` would inline it): ties on created_at and on amount, mixed statuses. */
const LOANS_SQL = `insert into loans (id, borrower_id, amount, currency, status, term_months, interest_rate_apr,
    created_at, updated_at, version)
  select gen_random_uuid(), b, ((n * 7919) % 500 + 1) * 10.0, (array['KES','INR','NGN'])[1 + n % 3],
    (array['pending','approved','rejected'])[1 + (n / 2) % 3], 6, 20.0, t, t, 1
  from unnest($1::varchar[]) b, generate_series(1, $2::int) n,
    lateral (select timestamptz '2024-01-01Z' + (n / 2) * interval '1 minute' as t) s`;

let t: TestApp;
let ids: string[];
beforeAll(async () => {
  t = await startTestApp();
  const many = await Promise.all(Array.from({ length: 30 }, () => createBorrower(t.app.orm.em)));
  const few = await Promise.all(Array.from({ length: 4 }, () => createBorrower(t.app.orm.em)));
  await adminQuery(t.db.url, LOANS_SQL, [many.map((u) => u.id), PER_BORROWER]);
  for (const [i, user] of few.entries()) {
    await adminQuery(t.db.url, LOANS_SQL, [[user.id], i]);
  }
  await adminQuery(t.db.url, 'analyze loans');
  // Borrowers with many loans, none, a few, and one that does not exist.
  ids = [...many.map((u) => u.id), ...few.map((u) => u.id), 'usr_nobody'];
});
afterAll(() => t.close());

const edgeIds = (page: { edges: { node: { id: string } }[] }) => page.edges.map((e) => e.node.id);

async function oracle(borrowerId: string, args: LoanListArgs) {
  const page = await findLoanPage(t.app.orm.em.fork(), { ...args, filter: { ...args.filter, borrowerId } });
  return { ids: edgeIds(page), hasNextPage: page.pageInfo.hasNextPage, endCursor: page.pageInfo.endCursor };
}

const orders = [LoanOrderField.CREATED_AT, LoanOrderField.AMOUNT].flatMap((field) =>
  [OrderDirection.DESC, OrderDirection.ASC].map((direction) => ({ field, direction })),
);

describe.each(orders)('findLoanPagesByBorrower ordered by $field $direction', (orderBy) => {
  test.each([
    ['first: 1', { first: 1 }],
    ['first: 7', { first: 7 }],
    ['first: 5 with a filter', { first: 5, filter: { status: [LoanStatus.PENDING, LoanStatus.REJECTED] } }],
  ])('%s: each borrower’s own page, then the next one by cursor', async (_label, base: LoanListArgs) => {
    const args: LoanListArgs = { ...base, orderBy };
    const pages = await findLoanPagesByBorrower(t.app.orm.em.fork(), ids, args, () => Promise.resolve(-1));
    expect(pages).toHaveLength(ids.length);
    for (const [i, id] of ids.entries()) {
      const expected = await oracle(id, args);
      expect({ id, ids: edgeIds(pages[i]), hasNextPage: pages[i].pageInfo.hasNextPage }).toEqual({
        id,
        ids: expected.ids,
        hasNextPage: expected.hasNextPage,
      });
      expect(pages[i].pageInfo.endCursor).toBe(expected.endCursor);
    }
    // Page 2 of everyone, from each borrower's own cursor (one batch per cursor, as the loaders do).
    const cursor = pages[0].pageInfo.endCursor!;
    const [second] = await findLoanPagesByBorrower(t.app.orm.em.fork(), [ids[0]], { ...args, after: cursor }, () =>
      Promise.resolve(-1),
    );
    expect(edgeIds(second)).toEqual((await oracle(ids[0], { ...args, after: cursor })).ids);
    expect(second.pageInfo.hasPreviousPage).toBe(true);
  });
});

describe('findLoanPagesByBorrower, structurally', () => {
  async function capture(args: LoanListArgs) {
    const knex = t.app.orm.em.getKnex();
    const seen: { sql: string; bindings: unknown[] }[] = [];
    const listener = (data: { sql: string; bindings: unknown[] }) => seen.push(data);
    knex.on('query', listener);
    try {
      await findLoanPagesByBorrower(t.app.orm.em.fork(), ids, args, () => Promise.resolve(0));
    } finally {
      knex.removeListener('query', listener);
    }
    return seen;
  }

  test('ONE statement for every borrower, a LATERAL join, every value bound', async () => {
    const { queries } = await countQueries(t.app.orm.em, () =>
      findLoanPagesByBorrower(t.app.orm.em.fork(), ids, { first: 5 }, () => Promise.resolve(0)),
    );
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatch(/cross join lateral/i);
    expect(queries[0]).not.toMatch(/row_number|over \(/i);

    const [statement] = await capture({ first: 5, filter: { currency: 'kes' } });
    for (const id of ids) expect(statement.sql).not.toContain(id);
    expect(statement.sql).not.toContain('KES');
    expect(statement.bindings).toEqual(expect.arrayContaining([ids, 'KES', 6]));
  });

  test('no statement for no borrower', async () => {
    const { result, queries } = await countQueries(t.app.orm.em, () =>
      findLoanPagesByBorrower(t.app.orm.em.fork(), [], { first: 5 }, () => Promise.resolve(0)),
    );
    expect(result).toEqual([]);
    expect(queries).toHaveLength(0);
  });

  test('a repeated borrower id gets its page, once per key', async () => {
    const pages = await findLoanPagesByBorrower(t.app.orm.em.fork(), [ids[0], ids[0]], { first: 3 }, () =>
      Promise.resolve(0),
    );
    expect(edgeIds(pages[0])).toHaveLength(3);
    expect(edgeIds(pages[1])).toEqual(edgeIds(pages[0]));
  });

  test('newest first reads first + 1 index entries per borrower, not all of them', async () => {
    const first = 5;
    const [statement] = await capture({ first });
    const [{ 'QUERY PLAN': plan }] = (await adminQuery(
      t.db.url,
      `explain (analyze, format json) ${statement.sql}`,
      statement.bindings,
    )) as { 'QUERY PLAN': { Plan: PlanNode }[] }[];
    const scans = nodes(plan[0].Plan).filter((n) => n['Relation Name'] === 'loans');
    expect(scans).toHaveLength(1);
    expect(scans[0]).toMatchObject({
      'Node Type': 'Index Scan',
      'Index Name': 'loans_borrower_created_at_id_idx',
      'Actual Loops': ids.length,
    });
    // Average rows per loop: at most first + 1 from a borrower with PER_BORROWER loans.
    expect(scans[0]['Actual Rows']).toBeLessThanOrEqual(clampPageSize(first) + 1);
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}
