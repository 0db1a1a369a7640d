import fs from 'node:fs';
import { Client } from 'pg';
import { Role } from '../../src/users/role';
import { TEST_ADMIN, TEST_JWT_SECRET, tokenFor } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { entry, killAll, start, type Running } from '../support/processes';

/**
 * The built server (`node dist/src/main.js`, APP_ENV=production) and SIGTERM (README "Probes and shutdown"):
 * `/health/ready` answers 503 at once while `/health/live` stays 200, requests in flight and new ones are
 * still served during SHUTDOWN_READINESS_DELAY_MS, then the server drains and exits 0.
 */

/** Far longer than the few requests below take, so that they all land inside the delay. */
const READINESS_DELAY_MS = 8000;

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json() };
}

async function waitFor(condition: () => Promise<boolean>, attempts = 100): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not reached');
}

describe('SIGTERM to the server process', () => {
  let db: TestDatabase;
  let running: Running | undefined;
  beforeAll(async () => {
    if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: \`npm test\` builds it first (pretest)`);
    db = await createTestDatabase();
  });
  afterAll(async () => {
    killAll();
    await running?.exited;
    await db?.drop();
  });

  test('ready 503 and live 200 during the readiness delay, requests still served, then exit 0', async () => {
    running = await start({
      APP_ENV: 'production',
      DATABASE_URL: db.url,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
      SHUTDOWN_READINESS_DELAY_MS: String(READINESS_DELAY_MS),
    });
    const { url } = running;
    expect((await get(`${url}/health/ready`)).status).toBe(200);
    const created = await fetch(`${url}/api/loans`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ borrower_id: 'usr_shutdown_1', amount: 1500, currency: 'KES' }),
    });
    expect(created.status).toBe(201);
    const loanId = ((await created.json()) as { id: string }).id;

    // A read provably in flight when the signal arrives: it waits for this table lock.
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    let inFlight: Promise<{ status: number; body: any }>;
    let signalledAt = 0;
    try {
      await locker.query('begin');
      await locker.query('lock table loans in access exclusive mode');
      inFlight = get(`${url}/api/loans/${loanId}`);
      await waitFor(async () => {
        const waiting = await locker.query(
          `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
        );
        return waiting.rows[0].n > 0;
      });

      running.child.kill('SIGTERM');
      signalledAt = Date.now();
      let ready = await get(`${url}/health/ready`);
      for (let i = 0; ready.status === 200 && i < 100; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        ready = await get(`${url}/health/ready`);
      }
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        status: 'not_ready',
        checks: { shutdown: { status: 'down', signal: 'SIGTERM' } },
      });
      expect(await get(`${url}/health/live`)).toStrictEqual({
        status: 200,
        body: { status: 'ok', timestamp: expect.any(String) },
      });
    } finally {
      await locker.query('commit').catch(() => undefined);
      await locker.end();
    }

    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(answered.body.id).toBe(loanId);

    // New requests during the delay: REST and GraphQL, each reading the database.
    expect((await get(`${url}/api/loans/${loanId}`)).status).toBe(200);
    const token = await tokenFor(TEST_ADMIN.id, Role.ADMIN);
    const graphql = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `{ loan(id: "${loanId}") { id status } }` }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(graphql.status).toBe(200);
    expect(((await graphql.json()) as { data: unknown }).data).toEqual({ loan: { id: loanId, status: 'PENDING' } });
    expect((await get(`${url}/health/ready`)).status).toBe(503);
    // Still inside the delay: nothing has started draining yet.
    expect(running.child.exitCode).toBeNull();

    expect(await running.exited).toBe(0);
    // A lower bound only: the drain cannot have started before the delay's timer fired.
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(READINESS_DELAY_MS - 50);
    const lines = running
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; readinessDelayMs?: number });
    const messages = lines.map((line) => line.msg);
    const shuttingDown = lines.find((line) => line.msg.startsWith('shutting down'));
    expect(shuttingDown?.readinessDelayMs).toBe(READINESS_DELAY_MS);
    expect(messages.indexOf('stopped')).toBeGreaterThan(messages.indexOf(shuttingDown!.msg));
  }, 60_000);

  test('a second signal skips the rest of the delay (a second Ctrl-C): the server drains and exits 0', async () => {
    const second = await start({
      APP_ENV: 'production',
      DATABASE_URL: db.url,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
      // Longer than this test's timeout: only the second signal can end it in time.
      SHUTDOWN_READINESS_DELAY_MS: '120000',
    });
    running = second;
    second.child.kill('SIGTERM');
    await waitFor(async () => (await get(`${second.url}/health/ready`)).status === 503);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
    expect(second.output()).toContain('second signal: draining requests now');
  }, 60_000);
});
