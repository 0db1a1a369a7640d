import pino from 'pino';
import request from 'supertest';
import { Client, Pool } from 'pg';
import { createApp, type App } from '../../src/app';
import { ConfigError, loadConfig } from '../../src/config/config';
import { buildOrmOptions } from '../../src/db/orm-config';
import { checkPoolerStatementTimeout } from '../../src/db/pooler';
import { pooledQuery } from '../../src/db/prepared';
import { Role } from '../../src/users/role';
import { TEST_ADMIN, TEST_JWT_SECRET, tokenFor } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createBorrower, createLoan } from '../support/factories';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer';
import { AMQP_TEST_URL, observeEvents, type Observer } from '../events/support';

/**
 * The app behind a real PgBouncer in transaction pooling mode (DATABASE_POOLER=pgbouncer, docs/deployment.md
 * "PgBouncer"): DATABASE_URL is the pooler, DATABASE_DIRECT_URL the server. PgBouncer has 3 server connections
 * per pool and hands idle ones out in turn (server_round_robin), so consecutive transactions of one app connection
 * run on different server connections: anything tied to one server connection (a named prepared statement, a
 * session lock, a backend pid) breaks here at once, not only under load.
 */

/** PgBouncer sets it on each server connection (connect_query); the apps expect the same value. */
const STATEMENT_TIMEOUT_MS = 30_000;
const SERVER_POOL_SIZE = 3;

let db: TestDatabase;
let bouncer: PgBouncer;
let app: App;
let http: ReturnType<typeof request>;
let adminToken: string;
let observer: Observer;

async function startApp(env: Record<string, string>): Promise<App> {
  const config = loadConfig({
    APP_ENV: 'development',
    LOG_LEVEL: 'silent',
    SEED: 'false',
    DATABASE_URL: bouncer.url(db.name),
    DATABASE_DIRECT_URL: db.url,
    DATABASE_POOLER: 'pgbouncer',
    DB_POOL_SIZE: '5',
    DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    DB_QUERY_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS + 5000),
    JWT_SECRET: TEST_JWT_SECRET,
    LOGIN_DELAY_SECONDS: '0',
    LOGIN_IP_MAX_ATTEMPTS: '1000000',
    ...env,
  });
  return createApp(config, { logger: pino({ level: 'silent' }) });
}

/** One statement on a short-lived session straight to PostgreSQL (never through the pooler). */
async function direct<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The backend pids of PgBouncer's server connections to the test database. */
async function serverPids(): Promise<number[]> {
  const servers = await bouncer.admin<{ database: string; remote_pid: string }>('SHOW SERVERS');
  return servers.filter((s) => s.database === db.name).map((s) => Number(s.remote_pid));
}

async function transactionsThroughPgBouncer(): Promise<number> {
  const stats = await bouncer.admin<{ database: string; total_xact_count: string }>('SHOW STATS');
  return Number(stats.find((s) => s.database === db.name)?.total_xact_count ?? 0);
}

async function graphql<T = Record<string, unknown>>(
  target: ReturnType<typeof request>,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] } }> {
  const res = await target
    .post('/graphql')
    .set({ 'Content-Type': 'application/json', Authorization: `Bearer ${adminToken}` })
    .send({ query, variables });
  return { status: res.status, body: res.body };
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

beforeAll(async () => {
  db = await createTestDatabase();
  bouncer = await startPgBouncer({
    serverUrl: db.url,
    poolSize: SERVER_POOL_SIZE,
    connectQuery: `set statement_timeout = ${STATEMENT_TIMEOUT_MS}`,
  });
  observer = await observeEvents();
  app = await startApp({ REST_AUTH: 'api-key', AMQP_URL: AMQP_TEST_URL, OUTBOX_POLL_INTERVAL_MS: '200' });
  http = request(app.httpServer);
  adminToken = await tokenFor(TEST_ADMIN.id, Role.ADMIN);
});

afterAll(async () => {
  await app?.close();
  await observer?.close();
  await bouncer?.stop();
  await db?.drop();
});

describe('statement timeout behind PgBouncer', () => {
  test('PgBouncer refuses it as a startup parameter; the app sends none and its server connections carry it', async () => {
    // What the app sends without DATABASE_POOLER=pgbouncer: PgBouncer 1.18 refuses the connection.
    const refused = new Client({ connectionString: bouncer.url(db.name), statement_timeout: 1000 });
    await expect(refused.connect()).rejects.toThrow(/unsupported startup parameter: statement_timeout/);
    await refused.end().catch(() => undefined);

    // The app's own connections work, and the server connection under them has the pooler's timeout.
    const rows = await pooledQuery(
      app.orm.em.getKnex(),
      `select setting::int as ms from pg_settings where name = 'statement_timeout'`,
    );
    expect(rows).toEqual([{ ms: STATEMENT_TIMEOUT_MS }]);
  });

  test('the start-up check says so in the log when the pooler sets another timeout', async () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    await checkPoolerStatementTimeout(app.orm, 4000, logger);
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, msg: expect.stringMatching(/statement_timeout 30000 ms, .*is 4000/) }),
    ]);
    lines.length = 0;
    await checkPoolerStatementTimeout(app.orm, STATEMENT_TIMEOUT_MS, logger);
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
  });
});

describe('reads on the prepared paths, across server connections', () => {
  test('control: a NAMED prepared statement breaks behind this pooler (why PreparedRead sends unnamed ones)', async () => {
    const warm = new Pool({ connectionString: bouncer.url(db.name), max: SERVER_POOL_SIZE });
    const one = new Pool({ connectionString: bouncer.url(db.name), max: 1 });
    try {
      // Every server connection of the pool opened (concurrent transactions), then one client in turn.
      await Promise.all(Array.from({ length: SERVER_POOL_SIZE }, () => warm.query('select pg_sleep(0.2)')));
      const errors: string[] = [];
      for (let i = 0; i < 2 * SERVER_POOL_SIZE; i++) {
        await one
          .query({ name: 'named_probe', text: 'select $1::int as n', values: [i] })
          .catch((error: Error) => errors.push(error.message));
      }
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0]).toMatch(/prepared statement "named_probe" (already exists|does not exist)/);
    } finally {
      await warm.end();
      await one.end();
    }
  });

  test('GraphQL pages, the borrower loader, token and API-key checks, REST reads: concurrent and in turn, all answered', async () => {
    const borrowers = [];
    for (let i = 0; i < 3; i++) borrowers.push(await createBorrower(app.orm.em));
    const loans: string[] = [];
    for (const borrower of borrowers) {
      for (let i = 0; i < 3; i++) loans.push((await createLoan(app.orm.em, { borrower })).id);
    }
    const created = await graphql<{ createApiKey: { key: string } }>(
      http,
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key userErrors { code } } }',
      { input: { name: 'pgbouncer-test', role: 'ADMIN' } },
    );
    const key = created.body.data!.createApiKey.key;
    expect(key).toMatch(/^blk_/);
    const before = await transactionsThroughPgBouncer();

    const PAGE = `query($after: String) { loans(first: 4, after: $after) {
      edges { node { id borrower { id } } } pageInfo { hasNextPage endCursor } } }`;
    const USERS = `{ users(first: 10) { edges { node { id loans(first: 2) { edges { node { id } } } } } } }`;
    const round = async () => {
      const [page1, users, one, restOne, restList, health] = await Promise.all([
        graphql<{ loans: { edges: { node: { id: string } }[]; pageInfo: { endCursor: string } } }>(http, PAGE),
        graphql<{ users: { edges: { node: { id: string; loans: { edges: unknown[] } } }[] } }>(http, USERS),
        graphql<{ loan: { id: string } }>(http, `{ loan(id: "${loans[4]}") { id status } }`),
        http.get(`/api/loans/${loans[2]}`).set('X-API-Key', key),
        http.get('/api/loans').set('X-API-Key', key),
        http.get('/health'),
      ]);
      for (const res of [page1, users, one]) {
        expect(res.status).toBe(200);
        expect(res.body.errors).toBeUndefined();
      }
      expect(page1.body.data!.loans.edges).toHaveLength(4);
      const page2 = await graphql<{ loans: { edges: { node: { id: string } }[] } }>(http, PAGE, {
        after: page1.body.data!.loans.pageInfo.endCursor,
      });
      expect(page2.body.errors).toBeUndefined();
      expect(page2.body.data!.loans.edges).toHaveLength(4);
      const seen = [...page1.body.data!.loans.edges, ...page2.body.data!.loans.edges].map((e) => e.node.id);
      expect(new Set(seen).size).toBe(8);
      const withLoans = users.body.data!.users.edges.filter((e) => e.node.loans.edges.length === 2);
      expect(withLoans.length).toBeGreaterThanOrEqual(3);
      expect(one.body.data!.loan.id).toBe(loans[4]);
      expect(restOne.status).toBe(200);
      expect(restOne.body.id).toBe(loans[2]);
      expect(restList.status).toBe(200);
      expect(restList.body.map((l: { id: string }) => l.id)).toEqual(expect.arrayContaining(loans));
      expect(health.status).toBe(200);
    };
    for (let i = 0; i < 4; i++) await Promise.all([round(), round()]);
    // One after the other too: with round-robin hand-out each lands on another server connection than the last.
    for (let i = 0; i < 2 * SERVER_POOL_SIZE; i++) {
      const res = await http.get(`/api/loans/${loans[i]}`).set('X-API-Key', key);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(loans[i]);
    }

    // It really went through PgBouncer, over more than one server connection.
    expect(await transactionsThroughPgBouncer()).toBeGreaterThan(before + 50);
    expect((await serverPids()).length).toBeGreaterThan(1);
  });
});

describe('writes behind PgBouncer', () => {
  test('a GraphQL mutation and a REST creation commit their transaction (loan and outbox event)', async () => {
    const borrower = await createBorrower(app.orm.em);
    const created = await graphql<{ createLoan: { loan: { id: string }; userErrors: unknown[] } }>(
      http,
      `
        mutation ($input: CreateLoanInput!) {
          createLoan(input: $input) {
            loan {
              id
            }
            userErrors {
              code
            }
          }
        }
      `,
      { input: { borrowerId: borrower.id, amount: { amount: '250.00', currencyCode: 'KES' } } },
    );
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data!.createLoan.userErrors).toEqual([]);
    const viaGraphql = created.body.data!.createLoan.loan.id;

    const key = (
      await graphql<{ createApiKey: { key: string } }>(
        http,
        'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }',
        { input: { name: 'pgbouncer-writes', role: 'ADMIN' } },
      )
    ).body.data!.createApiKey.key;
    const rest = await http
      .post('/api/loans')
      .set('X-API-Key', key)
      .send({ borrower_id: borrower.id, amount: 300, currency: 'KES', term_months: 6, interest_rate_apr: 20 });
    expect(rest.status).toBe(201);

    const rows = await direct<{ id: string; events: number }>(
      `select l.id, (select count(*)::int from outbox_events e where e.subject = l.id::text) as events
         from loans l where l.borrower_id = $1 order by l.created_at`,
      [borrower.id],
    );
    expect(rows).toEqual([
      { id: viaGraphql, events: 1 },
      { id: rest.body.id, events: 1 },
    ]);
  });
});

describe('the outbox relay', () => {
  test('holds its leader lock (and on the same session its LISTEN) straight on PostgreSQL, not through PgBouncer, and publishes', async () => {
    await until(
      async () => app.outboxRelay?.isLeader ?? false,
      (leader) => leader,
      'the relay to lead',
    );
    const holders = await direct<{ pid: number; application_name: string }>(
      `select a.pid, a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and a.datname = current_database()`,
    );
    expect(holders).toEqual([{ pid: expect.any(Number), application_name: 'branchloans-outbox-relay' }]);
    expect(await serverPids()).not.toContain(holders[0].pid);

    // A write through the pooler wakes the relay (NOTIFY on the direct session) and reaches the broker.
    const borrower = await createBorrower(app.orm.em);
    const created = await graphql<{ createLoan: { loan: { id: string } } }>(
      http,
      `
        mutation ($input: CreateLoanInput!) {
          createLoan(input: $input) {
            loan {
              id
            }
          }
        }
      `,
      { input: { borrowerId: borrower.id, amount: { amount: '120.00', currencyCode: 'KES' } } },
    );
    const loanId = created.body.data!.createLoan.loan.id;
    const [event] = await direct<{ id: string }>(`select id from outbox_events where subject = $1`, [loanId]);
    await observer.waitForIds([event.id]);
  });
});

describe('the request deadline behind PgBouncer', () => {
  let fast: App;
  beforeAll(async () => {
    fast = await startApp({ GRAPHQL_DEADLINE_MS: '400' });
  });
  afterAll(() => fast?.close());

  test('control: the pid a client gets from PgBouncer is no backend, so pg_cancel_backend(pid) could not work', async () => {
    const client = new Client({ connectionString: bouncer.url(db.name) });
    await client.connect();
    try {
      const pid = (client as unknown as { processID: number }).processID;
      const backend = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0].pid;
      expect(pid).not.toBe(backend);
      expect(await direct('select pid from pg_stat_activity where pid = $1', [pid])).toEqual([]);
    } finally {
      await client.end();
    }
  });

  test('a request past its deadline answers 504 and its statement is cancelled on the server (long before statement_timeout)', async () => {
    const fastHttp = request(fast.httpServer);
    const lock = new Client({ connectionString: db.url });
    await lock.connect();
    await lock.query('begin');
    await lock.query('lock table loans in access exclusive mode');
    // The app's statements waiting on the lock, on PgBouncer's server connections.
    const waiting = async () => {
      const pids = await serverPids();
      const rows = await direct<{ pid: number }>(
        `select pid from pg_stat_activity
          where datname = current_database() and state = 'active' and wait_event_type = 'Lock' and pid = any($1)`,
        [pids],
      );
      return rows.length;
    };
    const started = Date.now();
    try {
      const pending = graphql<unknown>(fastHttp, '{ loans(first: 5) { edges { node { id } } } }');
      await until(waiting, (n) => n === 1, 'the statement to wait on the lock');
      const res = await pending;
      expect(res.status).toBe(504);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('DEADLINE_EXCEEDED');
      // Gone while the lock is still held: cancelled through PgBouncer, not ended by the 30 s statement_timeout.
      await until(waiting, (n) => n === 0, 'the statement to be cancelled');
      expect(Date.now() - started).toBeLessThan(STATEMENT_TIMEOUT_MS);
    } finally {
      await lock.query('rollback');
      await lock.end();
    }
    const after = await graphql<{ loans: unknown }>(fastHttp, '{ loans(first: 1) { edges { node { id } } } }');
    expect(after.status).toBe(200);
    expect(after.body.errors).toBeUndefined();
  });
});

describe('configuration', () => {
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };
  const SERVER = 'postgres://app:secret@db:5432/branchloans';
  const POOLER = 'postgres://app:secret@pgbouncer:5432/branchloans';

  test('no pooler by default; DATABASE_DIRECT_URL unset means DATABASE_URL', () => {
    expect(loadConfig({ DATABASE_URL: SERVER })).toMatchObject({
      databaseUrl: SERVER,
      databaseDirectUrl: undefined,
      databasePooler: 'none',
    });
    expect(
      loadConfig({ DATABASE_URL: POOLER, DATABASE_DIRECT_URL: SERVER, DATABASE_POOLER: 'pgbouncer' }),
    ).toMatchObject({ databaseUrl: POOLER, databaseDirectUrl: SERVER, databasePooler: 'pgbouncer' });
  });

  test('refused: a pooler without a direct URL, a direct URL without DATABASE_URL, unknown values', () => {
    expect(problemsOf({ DATABASE_URL: POOLER, DATABASE_POOLER: 'pgbouncer' })).toEqual([
      expect.stringMatching(/^DATABASE_DIRECT_URL: is required when DATABASE_POOLER=pgbouncer/),
    ]);
    expect(problemsOf({ DATABASE_DIRECT_URL: SERVER })).toEqual([
      expect.stringMatching(/^DATABASE_DIRECT_URL: is set without DATABASE_URL/),
    ]);
    expect(problemsOf({ DATABASE_URL: SERVER, DATABASE_POOLER: 'pgpool' })).toEqual([
      expect.stringMatching(/^DATABASE_POOLER: /),
    ]);
    expect(problemsOf({ DATABASE_URL: SERVER, DATABASE_DIRECT_URL: 'mysql://db/x' })).toEqual([
      'DATABASE_DIRECT_URL: must be a postgres:// or postgresql:// URL',
    ]);
  });

  test('behind PgBouncer no statement_timeout startup parameter; the client-side query_timeout stays', () => {
    const timeouts = { statementMs: 4000, queryMs: 4500, acquireMs: 4500 };
    const connection = (pooler: 'none' | 'pgbouncer') =>
      (
        buildOrmOptions({ clientUrl: SERVER, poolSize: 2, timeouts, pooler }).driverOptions as {
          connection: Record<string, unknown>;
        }
      ).connection;
    expect(connection('none')).toMatchObject({ statement_timeout: 4000, query_timeout: 4500 });
    expect(connection('pgbouncer')).toMatchObject({ query_timeout: 4500 });
    expect(connection('pgbouncer')).not.toHaveProperty('statement_timeout');
  });
});
