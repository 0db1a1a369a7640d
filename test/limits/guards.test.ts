import http from 'node:http';
import { Client } from 'pg';
import { listen, startTestApp, type TestApp } from '../support/app';
import { createBorrower, createLoan } from '../support/factories';
import { tokenFor, TEST_ADMIN } from '../support/auth';
import { Role } from '../../src/users/role';

/**
 * The dynamic guards, made deterministic with a lock: a test transaction holds `loans` in ACCESS
 * EXCLUSIVE mode, so every statement of the app that reads loans waits in PostgreSQL (visible in
 * pg_stat_activity) until the guard cancels it or the lock is released. Nothing here depends on timing:
 * waits poll PostgreSQL for a state, with a generous bound.
 */

/** A session that holds `loans` locked until `release()`. */
async function lockLoans(url: string): Promise<{ release(): Promise<void> }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query('begin');
  await client.query('lock table loans in access exclusive mode');
  return {
    release: async () => {
      await client.query('rollback');
      await client.end();
    },
  };
}

/** The app's statements waiting on the lock (they read `loans`), from a separate admin session. */
async function waitingStatements(url: string): Promise<{ pid: number; query: string }[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number; query: string }>(
      `select pid, query from pg_stat_activity
        where datname = current_database() and application_name = 'branchloans-gateway'
          and state = 'active' and wait_event_type = 'Lock'`,
    );
    return rows;
  } finally {
    await client.end();
  }
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string, boundMs = 10_000) {
  const stop = Date.now() + boundMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > stop) throw new Error(`gave up waiting for ${what}: last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Until exactly `count` of the app's statements wait on the lock. */
const untilWaiting = (url: string, count: number, what: string) =>
  until(
    () => waitingStatements(url),
    (rows) => rows.length === count,
    what,
  );

const LOANS_PAGE = '{ loans(first: 5) { edges { node { id } } } }';

describe('the per-request deadline', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ GRAPHQL_DEADLINE_MS: '400' });
    await createLoan(t.app.orm.em);
  });
  afterAll(() => t.close());

  test('an allowed but slow operation answers DEADLINE_EXCEEDED (504), and its SQL is cancelled in PostgreSQL', async () => {
    const lock = await lockLoans(t.db.url);
    try {
      const pending = t.graphql(LOANS_PAGE);
      // The statement really runs (waits on the lock) before the deadline...
      await untilWaiting(t.db.url, 1, 'the statement to wait');
      const res = await pending;
      expect(res.status).toBe(504);
      expect(res.body.errors).toEqual([
        {
          message: expect.stringMatching(/deadline of 400 ms .*GRAPHQL_DEADLINE_MS/),
          extensions: { code: 'DEADLINE_EXCEEDED' },
        },
      ]);
      // ...and is gone afterwards while the lock is still held: cancelled, not abandoned.
      await untilWaiting(t.db.url, 0, 'the statement to be cancelled');
    } finally {
      await lock.release();
    }
    // The pool is healthy afterwards (the cancelled connection was retired and replaced).
    const after = await t.graphql(LOANS_PAGE);
    expect(after.status).toBe(200);
    expect(after.body.errors).toBeUndefined();
  });

  test('a mutation stopped by the deadline writes nothing', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const lock = await lockLoans(t.db.url);
    try {
      const res = await t.graphql(
        'mutation { createLoan(input: { borrowerId: "' +
          borrower.id +
          '", amount: { amount: "100.00", currencyCode: "KES" } }) { loan { id } userErrors { code } } }',
      );
      expect(res.status).toBe(504);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('DEADLINE_EXCEEDED');
      await untilWaiting(t.db.url, 0, 'the insert to be cancelled');
    } finally {
      await lock.release();
    }
    const count = await t.app.orm.em
      .fork()
      .getConnection()
      .execute('select count(*)::int as n from loans where borrower_id = ?', [borrower.id]);
    expect(count[0].n).toBe(0);
  });
});

describe('a client that goes away', () => {
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    t = await startTestApp({ GRAPHQL_DEADLINE_MS: '600000' });
    url = await listen(t.app);
  });
  afterAll(() => t.close());

  test('stops its request: the statement is cancelled in PostgreSQL while the lock is still held', async () => {
    const token = await tokenFor(TEST_ADMIN.id, Role.ADMIN);
    const lock = await lockLoans(t.db.url);
    try {
      const request = http.request(`${url}/graphql`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      });
      request.on('error', () => undefined);
      request.end(JSON.stringify({ query: LOANS_PAGE }));
      await untilWaiting(t.db.url, 1, 'the statement to wait');
      request.destroy();
      await untilWaiting(t.db.url, 0, 'the statement to be cancelled');
    } finally {
      await lock.release();
    }
  });
});

describe('one request holds a bounded share of the pool', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The test apps have a pool of 5; one request may hold 2 of them.
    t = await startTestApp({ GRAPHQL_MAX_CONNECTIONS_PER_REQUEST: '2', GRAPHQL_DEADLINE_MS: '600000' });
    await createLoan(t.app.orm.em);
  });
  afterAll(() => t.close());

  test('8 root fields that each wait on the database take 2 connections; /health answers 200 meanwhile', async () => {
    const query = `{ ${Array.from({ length: 8 }, (_, i) => `l${i}: loans(first: 1) { edges { node { id } } }`).join(' ')} }`;
    const lock = await lockLoans(t.db.url);
    let pending: ReturnType<TestApp['graphql']> | undefined;
    try {
      pending = t.graphql(query);
      await untilWaiting(t.db.url, 2, 'two statements to wait');
      // Still two: the other six wait in the request's own queue, not in the pool.
      expect(await waitingStatements(t.db.url)).toHaveLength(2);
      for (let i = 0; i < 3; i++) {
        const health = await t.http.get('/health');
        expect(health.status).toBe(200);
      }
    } finally {
      await lock.release();
    }
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(Object.keys(res.body.data!)).toHaveLength(8);
  });
});

describe('the response size cap', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ GRAPHQL_MAX_RESPONSE_NODES: '40' });
    const borrower = await createBorrower(t.app.orm.em);
    for (let i = 0; i < 30; i++) await createLoan(t.app.orm.em, { borrower });
  });
  afterAll(() => t.close());

  // Nodes: the connection, its edges, and each edge's borrower and amount (the resolvers that run):
  // 1 + 3 x first, so 31 at first 10 and 91 at first 30.
  const page = (first: number) =>
    `{ loans(first: ${first}) { edges { node { id status borrower { id } amount { amount } } } } }`;

  test('an answer within the cap is served', async () => {
    const res = await t.graphql(page(10));
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
  });

  test('an answer past the cap is RESPONSE_TOO_LARGE (400), with no data', async () => {
    const res = await t.graphql(page(30));
    expect(res.status).toBe(400);
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toEqual([
      {
        message: expect.stringMatching(/more than 40 nodes .*GRAPHQL_MAX_RESPONSE_NODES/),
        extensions: { code: 'RESPONSE_TOO_LARGE' },
      },
    ]);
  });
});
