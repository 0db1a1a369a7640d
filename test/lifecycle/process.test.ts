import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { ANY_COST_EXTENSION } from '../support/app';
import { entry, freeLowPort, freePort, killAll, launch, start, stop } from '../support/processes';

async function graphql(
  url: string,
  query: string,
  token?: string,
  variables?: Record<string, unknown>,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: await res.json() };
}

/** Logs in as the documented development admin (README), which a development start seeds. */
async function logInAsDevelopmentAdmin(url: string): Promise<string> {
  const res = await graphql(
    url,
    `
      mutation ($input: LogInInput!) {
        logIn(input: $input) {
          token
          userErrors {
            code
          }
        }
      }
    `,
    undefined,
    { input: { email: 'admin@branchloans.com', password: 'dev-admin-password' } },
  );
  expect(res.body.data.logIn.userErrors).toEqual([]);
  return res.body.data.logIn.token as string;
}

async function snapshot(url: string): Promise<unknown[][]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const tables = ['users', 'loans', 'loan_events', 'activity_events', 'mikro_orm_migrations'];
    const order: Record<string, string> = {
      users: 'id',
      loans: 'id',
      loan_events: 'id',
      activity_events: 'id',
      mikro_orm_migrations: 'name',
    };
    const out: unknown[][] = [];
    for (const table of tables) {
      const columns = table === 'mikro_orm_migrations' ? 'name' : '*';
      out.push((await client.query(`select ${columns} from ${table} order by ${order[table]}`)).rows);
    }
    return out;
  } finally {
    await client.end();
  }
}

describe('the process (npm start)', () => {
  beforeAll(() => {
    if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: \`npm test\` builds it first (pretest)`);
  });
  afterAll(killAll);

  describe('with DATABASE_URL', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase({ empty: true });
    });
    afterAll(() => db.drop());

    test('an empty database is migrated and seeded at start; a second start changes nothing', async () => {
      const first = await start({ DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
      const anonymous = await graphql(first.url, '{ loans(first: 10) { totalCount } }');
      expect(anonymous.body).toEqual({
        extensions: ANY_COST_EXTENSION,
        data: null,
        errors: [expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })],
      });
      const token = await logInAsDevelopmentAdmin(first.url);
      const loans = await graphql(first.url, '{ loans(first: 10) { totalCount } }', token);
      expect(loans.body).toEqual({ data: { loans: { totalCount: 5 } }, extensions: ANY_COST_EXTENSION });
      const before = await snapshot(db.url);
      expect(await stop(first)).toBe(0);

      const second = await start({ DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
      expect(await snapshot(db.url)).toEqual(before);
      expect(await stop(second)).toBe(0);
    });

    test('APP_ENV=production refuses to start while an admin still has the documented development password', async () => {
      // This database was started in development above, which seeded the documented development admin.
      const running = launch(
        { APP_ENV: 'production', DATABASE_URL: db.url, JWT_SECRET: 'p'.repeat(40), LOG_LEVEL: 'warn' },
        await freePort(),
      );
      expect(await running.exited).toBe(78);
      expect(running.output()).toMatch(
        /cannot start: admin admin@branchloans\.com still uses the documented development password/,
      );
    });

    test('SIGTERM lets an in-flight request finish, then the process exits 0', async () => {
      const running = await start({ DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
      const token = await logInAsDevelopmentAdmin(running.url);
      // Hold the seed loan's row lock so that a mutation is provably in flight when the signal arrives.
      const locker = new Client({ connectionString: db.url });
      await locker.connect();
      try {
        await locker.query('begin');
        await locker.query(`select 1 from loans where id = '00000000-0000-0000-0000-000000000001' for update`);
        const inFlight = graphql(
          running.url,
          `
            mutation {
              approveLoan(input: { loanId: "00000000-0000-0000-0000-000000000001" }) {
                loan {
                  status
                }
                userErrors {
                  code
                }
              }
            }
          `,
          token,
        );
        await waitFor(async () => {
          const waiting = await locker.query(
            `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
          );
          return waiting.rows[0].n > 0;
        });
        running.child.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 300));
        // Still draining: the process waits for the request instead of dropping it.
        expect(running.child.exitCode).toBeNull();
        await locker.query('commit');
        const response = await inFlight;
        expect(response.status).toBe(200);
        expect(response.body.data.approveLoan).toEqual({ loan: { status: 'APPROVED' }, userErrors: [] });
        expect(await running.exited).toBe(0);
      } finally {
        await locker.end();
      }
    });
  });

  test('without DATABASE_URL it starts an embedded PostgreSQL, migrated and seeded, and stops it on SIGINT (Ctrl-C)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'branchloans-embedded-'));
    fs.chmodSync(dataDir, 0o755);
    const pgPort = await freeLowPort();
    try {
      const running = await start({
        EMBEDDED_PG_PORT: String(pgPort),
        EMBEDDED_PG_DIR: path.join(dataDir, 'pg'),
        LOG_LEVEL: 'info',
      });
      const token = await logInAsDevelopmentAdmin(running.url);
      const loans = await graphql(running.url, '{ loans(first: 10) { totalCount } }', token);
      expect(loans.body).toEqual({ data: { loans: { totalCount: 5 } }, extensions: ANY_COST_EXTENSION });
      expect(running.output()).toMatch(/JWT_SECRET is not set: using a random key/);
      const rest = await fetch(`${running.url}/api/loans/00000000-0000-0000-0000-000000000001`);
      expect(rest.status).toBe(200);
      expect(await stop(running, 'SIGINT')).toBe(0);
      expect(running.output()).toMatch(/embedded PostgreSQL stopped/);
      await expect(canConnect(pgPort)).resolves.toBe(false);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test.each([
    [{ PORT: 'abc' }, /PORT: /],
    [{ APP_ENV: 'production' }, /DATABASE_URL: is required when APP_ENV=production/],
    [{ APP_ENV: 'production', DATABASE_URL: 'postgres://db/app' }, /JWT_SECRET: is required when APP_ENV=production/],
    [
      {
        APP_ENV: 'production',
        DATABASE_URL: 'postgres://db/app',
        JWT_SECRET: 'p'.repeat(40),
        ADMIN_EMAIL: 'ops@branchloans.com',
        ADMIN_PASSWORD: 'dev-admin-password',
      },
      /ADMIN_PASSWORD: is the documented development password/,
    ],
    [{ DB_POOL_SIZE: '0' }, /DB_POOL_SIZE: /],
  ])('a bad configuration %j stops the start (exit 78) naming the variable', async (env, message) => {
    const running = launch(env, await freePort());
    expect(await running.exited).toBe(78);
    expect(running.output()).toMatch(message);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
