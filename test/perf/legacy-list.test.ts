import http from 'node:http';
import { Loan } from '../../src/loans/loan.entity';
import { LOAN_BATCH_SIZE, forEachLoanBatch } from '../../src/loans/loan.queries';
import { toLegacyLoan } from '../../src/loans/loan.rest';
import { listen, startTestApp, type TestApp } from '../support/app';
import { adminUrl } from '../support/database';
import { adminQuery } from '../support/pg-admin';
import { countQueries, createBorrower } from '../support/factories';
import type { LegacyLoanJson } from '../rest/helpers';

/**
 * GET /api/loans streams every loan in keyset batches of plain rows, inside one REPEATABLE READ snapshot:
 * memory bounded by a batch, and the document byte for byte what the entity-based handler produced.
 */

const N = 2_500;

/** N loans of one borrower in ONE statement: ties on created_at (3 per instant), milliseconds or not, nulls. */
const LOANS_SQL = `insert into loans (id, borrower_id, amount, currency, status, term_months, interest_rate_apr,
    created_at, updated_at, version)
  select gen_random_uuid(), ?, ((n * 7919) % 4999999 + 1) / 100.0,
    (array['KES','INR','NGN','VND','PHP'])[1 + n % 5],
    (array['pending','approved','rejected','disbursed','repaid','defaulted'])[1 + (n / 5) % 6],
    case when n % 7 = 0 then null else 1 + n % 360 end,
    case when n % 11 = 0 then null else (n % 10001) / 100.0 end,
    t, t + (n % 4) * interval '250 milliseconds', 1
  from generate_series(1, ?::int) n,
    lateral (select timestamptz '2024-01-01Z' + (n / 3) * interval '7 milliseconds' as t) s`;

/** The documented order, from the database itself. */
async function idsNewestFirst(t: TestApp): Promise<string[]> {
  const rows: { id: string }[] = await t.app.orm.em
    .fork()
    .getConnection()
    .execute('select id from loans order by created_at desc, id desc');
  return rows.map((row) => row.id);
}

describe('GET /api/loans over more loans than one batch', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    const borrower = await createBorrower(t.app.orm.em);
    await t.app.orm.em.getConnection().execute(LOANS_SQL, [borrower.id, N]);
  });
  afterAll(() => t.close());

  test('every loan exactly once, newest first, as the documented JSON array', async () => {
    const res = await t.http.get('/api/loans').expect(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const list = JSON.parse(res.text) as LegacyLoanJson[];
    const ids = list.map((loan) => loan.id);
    expect(ids).toHaveLength(N);
    expect(new Set(ids).size).toBe(N);
    expect(ids).toEqual(await idsNewestFirst(t));
  });

  test('the body is byte for byte what the entity-based handler (toLegacyLoan) produced', async () => {
    const res = await t.http.get('/api/loans').expect(200);
    // What the handler did before streaming: every loan hydrated as an entity, then `toLegacyLoan`.
    const loans = await t.app.orm.em.fork().find(Loan, {}, { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    expect(res.text).toBe(JSON.stringify(loans.map(toLegacyLoan)));
    // The sample covers what formatting must get right.
    expect(res.text).toMatch(/"created_at":"[^"]+:\d\dZ"/);
    expect(res.text).toMatch(/"created_at":"[^"]+\.\d{3}Z"/);
    expect(res.text).toContain('"term_months":null');
    expect(res.text).toContain('"interest_rate_apr":null');
  });

  test('one keyset SELECT per batch, inside one read-only REPEATABLE READ transaction', async () => {
    const { result, queries } = await countQueries(t.app.orm.em, () => t.http.get('/api/loans').expect(200));
    expect((result.body as unknown[]).length).toBe(N);
    const selects = queries.filter((sql) => /^select/i.test(sql));
    // The walk ends on a batch shorter than LOAN_BATCH_SIZE: an empty one when N is a multiple of it.
    expect(selects).toHaveLength(Math.floor(N / LOAN_BATCH_SIZE) + 1);
    // Each batch after the first resumes after the previous one's last row, with the values bound.
    for (const sql of selects.slice(1)) expect(sql).toContain('(l.created_at, l.id) < ($1::timestamptz, $2::uuid)');
    expect(queries[0]).toMatch(/^begin.*isolation level repeatable read.*read only/i);
    // A stalled client cannot hold the transaction open for ever.
    expect(queries[1]).toMatch(/^set local idle_in_transaction_session_timeout = '30s'/i);
    expect(queries[queries.length - 1]).toMatch(/^commit/i);
    expect(queries).toHaveLength(selects.length + 3);
  });

  test('HEAD answers the headers after one batch', async () => {
    const { result, queries } = await countQueries(t.app.orm.em, () => t.http.head('/api/loans'));
    expect(result.status).toBe(200);
    expect(result.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(queries.filter((sql) => /^select/i.test(sql))).toHaveLength(1);
  });
});

describe('forEachLoanBatch', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  test('reads one snapshot: rows inserted, moved or deleted meanwhile are neither repeated nor skipped', async () => {
    const [mine, other] = [await createBorrower(t.app.orm.em), await createBorrower(t.app.orm.em)];
    await t.app.orm.em.getConnection().execute(LOANS_SQL, [mine.id, 35]);
    const before = await idsNewestFirst(t);
    const sql = t.app.orm.em.fork().getConnection();

    const seen: string[] = [];
    const batches: number[] = [];
    await forEachLoanBatch(
      t.app.orm.em.fork(),
      async (rows) => {
        if (batches.length === 0) {
          // Committed by other connections while the walk is between batches.
          const read = rows.map((row) => row.id);
          const unread = before.filter((id) => !read.includes(id));
          await sql.execute(LOANS_SQL.replace("timestamptz '2024-01-01Z'", "timestamptz '2000-01-01Z'"), [other.id, 3]);
          await sql.execute(`update loans set created_at = '1999-01-01Z' where id = ?`, [read[0]]);
          await sql.execute(`update loans set created_at = '2099-01-01Z' where id = ?`, [unread[0]]);
          await sql.execute(`delete from loans where id = ?`, [unread[1]]);
        }
        batches.push(rows.length);
        seen.push(...rows.map((row) => row.id));
      },
      { batchSize: 10 },
    );
    expect(batches).toEqual([10, 10, 10, 5]);
    expect(seen).toEqual(before);
    // Without the snapshot, the walk would now see 37 loans, one of them twice.
    expect(await idsNewestFirst(t)).toHaveLength(37);
  });

  test('a scope reads one borrower’s loans only (on its own index), still newest first', async () => {
    const [mine, other] = [await createBorrower(t.app.orm.em), await createBorrower(t.app.orm.em)];
    await t.app.orm.em.getConnection().execute(LOANS_SQL, [mine.id, 25]);
    await t.app.orm.em.getConnection().execute(LOANS_SQL, [other.id, 5]);
    const seen: string[] = [];
    const { queries } = await countQueries(t.app.orm.em, () =>
      forEachLoanBatch(t.app.orm.em.fork(), (rows) => void seen.push(...rows.map((row) => row.id)), {
        scope: { borrowerId: mine.id },
        batchSize: 10,
      }),
    );
    const rows: { id: string }[] = await t.app.orm.em
      .fork()
      .getConnection()
      .execute('select id from loans where borrower_id = ? order by created_at desc, id desc', [mine.id]);
    expect(seen).toEqual(rows.map((row) => row.id));
    // 25 rows in batches of 10: 3 SELECTs, the borrower bound as a parameter.
    const selects = queries.filter((sql) => /^select/i.test(sql));
    expect(selects).toHaveLength(3);
    for (const sql of selects) expect(sql).not.toContain(mine.id);
  });

  test('onBatch returning false stops the walk', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    await t.app.orm.em.getConnection().execute(LOANS_SQL, [borrower.id, 30]);
    const batches: number[] = [];
    const total = await forEachLoanBatch(
      t.app.orm.em.fork(),
      (rows) => {
        batches.push(rows.length);
        return false;
      },
      { batchSize: 10 },
    );
    expect(batches).toEqual([10]);
    expect(total).toBe(10);
  });
});

describe('GET /api/loans when a batch fails', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  // A timestamp JavaScript cannot represent makes formatting fail (as it did before streaming) on a chosen batch.
  test('before the first byte: the usual JSON error, not a 200', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    await t.app.orm.em.getConnection().execute(LOANS_SQL, [borrower.id, 5]);
    await t.app.orm.em
      .getConnection()
      .execute(LOANS_SQL.replace("timestamptz '2024-01-01Z' + ", "'infinity'::timestamptz + "), [borrower.id, 1]);
    const res = await t.http.get('/api/loans');
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ error: { code: 'INTERNAL_SERVER_ERROR' } });
  });
});

describe('GET /api/loans with a slow or failing client side', () => {
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    t = await startTestApp();
    url = await listen(t.app);
  });
  afterAll(() => t.close());

  /** Sessions of the app on this test's database inside a transaction, waiting for the app (not running SQL). */
  async function idleInTransaction(): Promise<number> {
    const rows = (await adminQuery(
      adminUrl(),
      `select count(*)::int as n from pg_stat_activity
        where datname = $1 and application_name = 'branchloans-gateway' and state = 'idle in transaction'`,
      [t.db.name],
    )) as { n: number }[];
    return rows[0].n;
  }

  async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (await condition()) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`timed out waiting until ${what}`);
  }

  test('a client that stops reading stops the reads; one that goes away ends the transaction', async () => {
    const rows = 50_000;
    const borrower = await createBorrower(t.app.orm.em);
    await t.app.orm.em.getConnection().execute(LOANS_SQL, [borrower.id, rows]);
    const { queries } = await countQueries(t.app.orm.em, async () => {
      const req = http.get(`${url}/api/loans`);
      const res = await new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
      expect(res.statusCode).toBe(200);
      res.pause();
      // The server fills the socket, then waits for it to drain, its snapshot open.
      await until(async () => (await idleInTransaction()) === 1, 'the server waits for the client');
      req.destroy();
      await until(async () => (await idleInTransaction()) === 0, 'the transaction ends');
    });
    const selects = queries.filter((sql) => /^select/i.test(sql)).length;
    expect(selects).toBeLessThan(rows / LOAN_BATCH_SIZE);
    expect(queries[queries.length - 1]).toMatch(/^commit/i);
    // The app serves the next request (its connection went back to the pool).
    await t.http.get('/api/loans/00000000-0000-0000-0000-000000000099').expect(404);
  });

  test('after the first byte, a failure truncates the response (never a complete-looking 200)', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    // The oldest loan, so the failing row comes in the last batch, long after the first byte.
    await t.app.orm.em
      .getConnection()
      .execute(LOANS_SQL.replace("timestamptz '2024-01-01Z' + ", "'-infinity'::timestamptz + "), [borrower.id, 1]);
    const res = await fetch(`${url}/api/loans`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    await until(async () => (await idleInTransaction()) === 0, 'the transaction ends');
  });
});
