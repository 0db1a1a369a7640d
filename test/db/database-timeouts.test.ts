import { Client } from 'pg';
import pino from 'pino';
import { createApp } from '../../src/app';
import { ConfigError, DATABASE_TIMEOUT_DEFAULTS, loadConfig } from '../../src/config/config';
import { startTestApp, type TestApp } from '../support/app';
import { TEST_JWT_SECRET } from '../support/auth';
import { createTestDatabase } from '../support/database';

/**
 * DB_STATEMENT_TIMEOUT_MS, DB_QUERY_TIMEOUT_MS and DB_ACQUIRE_TIMEOUT_MS: validated at start, set on every
 * connection of the request pool, and kept off the migrations (test/fault/database-faults.test.ts shows
 * what they do when the database hangs).
 */

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  test('defaults: PostgreSQL cancels first, the client gives up after, both under the GraphQL deadline', () => {
    const config = loadConfig({});
    expect(config.dbTimeouts).toEqual({ statementMs: 4000, queryMs: 4500, acquireMs: 4500 });
    expect(config.dbTimeouts).toEqual(DATABASE_TIMEOUT_DEFAULTS);
    expect(config.dbTimeouts.queryMs).toBeLessThan(config.graphql.limits.deadlineMs);
  });

  test.each([
    ['DB_STATEMENT_TIMEOUT_MS', '99'],
    ['DB_STATEMENT_TIMEOUT_MS', '600001'],
    ['DB_QUERY_TIMEOUT_MS', '99'],
    ['DB_QUERY_TIMEOUT_MS', '5s'],
    ['DB_ACQUIRE_TIMEOUT_MS', '99'],
    ['DB_ACQUIRE_TIMEOUT_MS', '-1'],
  ])('%s=%s stops the start with a message naming it', (name, value) => {
    const problems = problemsOf({
      DB_STATEMENT_TIMEOUT_MS: '100',
      DB_QUERY_TIMEOUT_MS: '600000',
      DB_ACQUIRE_TIMEOUT_MS: '100',
      [name]: value,
    });
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
  });

  test('edges that are allowed', () => {
    expect(
      loadConfig({ DB_STATEMENT_TIMEOUT_MS: '100', DB_QUERY_TIMEOUT_MS: '100', DB_ACQUIRE_TIMEOUT_MS: '100' })
        .dbTimeouts,
    ).toEqual({ statementMs: 100, queryMs: 100, acquireMs: 100 });
    expect(
      loadConfig({ DB_STATEMENT_TIMEOUT_MS: '600000', DB_QUERY_TIMEOUT_MS: '600000', DB_ACQUIRE_TIMEOUT_MS: '600000' })
        .dbTimeouts,
    ).toEqual({ statementMs: 600000, queryMs: 600000, acquireMs: 600000 });
  });

  test('the client-side timeout may not undercut the server-side one, nor the wait for a connection exceed it', () => {
    expect(
      problemsOf({ DB_STATEMENT_TIMEOUT_MS: '3000', DB_QUERY_TIMEOUT_MS: '2999', DB_ACQUIRE_TIMEOUT_MS: '2999' }),
    ).toEqual([expect.stringMatching(/^DB_QUERY_TIMEOUT_MS: must be at least DB_STATEMENT_TIMEOUT_MS/)]);
    expect(problemsOf({ DB_STATEMENT_TIMEOUT_MS: '3000', DB_QUERY_TIMEOUT_MS: '3000' })).toEqual([
      expect.stringMatching(/^DB_ACQUIRE_TIMEOUT_MS: must be at most DB_QUERY_TIMEOUT_MS/),
    ]);
    expect(
      problemsOf({ DB_STATEMENT_TIMEOUT_MS: '3000', DB_QUERY_TIMEOUT_MS: '3000', DB_ACQUIRE_TIMEOUT_MS: '3000' }),
    ).toEqual([]);
  });
});

describe('on the connections', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      DB_STATEMENT_TIMEOUT_MS: '1234',
      DB_QUERY_TIMEOUT_MS: '2345',
      DB_ACQUIRE_TIMEOUT_MS: '2000',
    });
  });
  afterAll(() => t.close());

  test('every pool connection has the statement timeout', async () => {
    const em = t.app.orm.em.fork();
    const shown = await Promise.all(
      [0, 1, 2, 3].map(() => em.getConnection().execute<{ statement_timeout: string }[]>('show statement_timeout')),
    );
    expect(shown.map((rows) => rows[0].statement_timeout)).toEqual(['1234ms', '1234ms', '1234ms', '1234ms']);
  });

  test('a statement past it is cancelled by PostgreSQL (57014), and the pool goes on', async () => {
    const em = t.app.orm.em.fork();
    await expect(em.getConnection().execute('select pg_sleep(3)')).rejects.toMatchObject({ code: '57014' });
    expect(await em.getConnection().execute('select 1 as one')).toEqual([{ one: 1 }]);
  });
});

describe('migrations', () => {
  test('wait for another instance holding the migration lock longer than any request may wait', async () => {
    const db = await createTestDatabase({ empty: true });
    const other = new Client({ connectionString: db.url });
    await other.connect();
    try {
      // The advisory lock src/db/migrate.ts takes (MIGRATION_LOCK_KEY), held by "another instance" for 1.5 s:
      // far past the request timeouts below, which would cancel the wait if migrations ran under them.
      await other.query('begin');
      await other.query('select pg_advisory_xact_lock(727001)');
      const released = new Promise<void>((resolve, reject) =>
        setTimeout(() => {
          other.query('commit').then(() => resolve(), reject);
        }, 1500),
      );
      const config = loadConfig({
        APP_ENV: 'development',
        SEED: 'false',
        DATABASE_URL: db.url,
        JWT_SECRET: TEST_JWT_SECRET,
        ADMIN_EMAIL: 'timeouts-admin@branchloans.test',
        ADMIN_PASSWORD: 'timeouts-admin-password',
        DB_STATEMENT_TIMEOUT_MS: '200',
        DB_QUERY_TIMEOUT_MS: '200',
        DB_ACQUIRE_TIMEOUT_MS: '200',
      });
      const app = await createApp(config, { logger: pino({ level: 'silent' }) });
      try {
        await released;
        const applied = await app.orm.em
          .getConnection()
          .execute<{ n: number }[]>('select count(*)::int as n from mikro_orm_migrations');
        expect(applied[0].n).toBeGreaterThan(0);
      } finally {
        await app.close();
      }
    } finally {
      await other.end();
      await db.drop();
    }
  });
});
