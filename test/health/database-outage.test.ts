import pino from 'pino';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { listen } from '../support/app';
import { TEST_JWT_SECRET } from '../support/auth';
import { adminQuery, withDatabase } from '../support/pg-admin';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';

/**
 * A PostgreSQL server of this test's own, stopped and started again: `/health/ready` turns 503 while it is
 * away and 200 once it is back, without a restart of the app; `/health/live` answers 200 all along (a
 * liveness probe that failed here would make the orchestrator restart every replica during the outage).
 */

const HEALTH_TIMEOUT_MS = 1000;

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json() };
}

/** Bounded polling: after a restart the pool's next connection succeeds, whichever probe comes first. */
async function until(url: string, status: number): Promise<{ status: number; body: any }> {
  let last: { status: number; body: any } | undefined;
  for (let i = 0; i < 100; i++) {
    last = await get(url);
    if (last.status === status) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} never answered ${status}; last: ${JSON.stringify(last)}`);
}

describe('/health/ready while the database stops and comes back', () => {
  let pg: PrivatePostgres;
  let app: App | undefined;
  let base: string;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    await adminQuery(pg.url, 'create database branchloans');
    const config = loadConfig({
      APP_ENV: 'development',
      LOG_LEVEL: 'silent',
      DATABASE_URL: withDatabase(pg.url, 'branchloans'),
      DB_POOL_SIZE: '3',
      HEALTH_TIMEOUT_MS: String(HEALTH_TIMEOUT_MS),
      JWT_SECRET: TEST_JWT_SECRET,
    });
    // Migrated and seeded at start, as `npm start` does.
    app = await createApp(config, { logger: pino({ level: 'silent' }) });
    base = await listen(app);
  }, 60_000);

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await pg?.destroy();
  });

  test('ready 200, then 503 (database down) with live 200, then 200 again', async () => {
    const before = await get(`${base}/health/ready`);
    expect(before).toStrictEqual({
      status: 200,
      body: expect.objectContaining({
        status: 'ready',
        checks: expect.objectContaining({
          database: { status: 'up', latencyMs: expect.any(Number) },
          migrations: { status: 'up', pending: 0 },
        }),
      }),
    });

    await pg.kill();
    const down = await get(`${base}/health/ready`);
    expect(down.status).toBe(503);
    expect(down.body).toStrictEqual({
      status: 'not_ready',
      timestamp: expect.any(String),
      checks: {
        database: { status: 'down', detail: 'unreachable' },
        migrations: { status: 'unknown' },
        broker: { status: 'not_configured', required: false },
        shutdown: { status: 'up' },
      },
    });
    // No driver message, address or database name in an answer anyone may read.
    expect(JSON.stringify(down.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|branchloans|postgres/i);
    expect(await get(`${base}/health/live`)).toStrictEqual({
      status: 200,
      body: { status: 'ok', timestamp: expect.any(String) },
    });

    await pg.start();
    const back = await until(`${base}/health/ready`, 200);
    expect(back.body.status).toBe('ready');
    expect(back.body.checks.database.status).toBe('up');
    expect((await get(`${base}/health/live`)).status).toBe(200);
  });

  test('a frozen database (no answer at all): 503 within HEALTH_TIMEOUT_MS, live 200, then 200 again', async () => {
    await until(`${base}/health/ready`, 200);
    pg.pause();
    try {
      const frozen = await get(`${base}/health/ready`);
      expect(frozen.status).toBe(503);
      expect(frozen.body.checks.database).toStrictEqual({
        status: 'down',
        detail: `no answer within ${HEALTH_TIMEOUT_MS} ms`,
      });
      expect((await get(`${base}/health/live`)).status).toBe(200);
    } finally {
      pg.resume();
    }
    await until(`${base}/health/ready`, 200);
  });
});
