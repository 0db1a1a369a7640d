import fs from 'node:fs';
import { Client } from 'pg';
import { Role } from '../../src/users/role';
import { TEST_ADMIN, TEST_JWT_SECRET, tokenFor } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { entry, killAll, start, stop, type Running } from '../support/processes';
import { ABUSE_CORPUS, type Caller } from './abuse-corpus';

/**
 * The built server (dist/src/main.js, APP_ENV=production) on a real database of 5,000 loans over 100
 * borrowers, as the attacker found it: 8 clients send the whole abuse corpus three times over,
 * concurrently, while the test samples the server's resident memory and `/health`.
 */
const CLIENTS = 8;
const ROUNDS = 3;
const RSS_GROWTH_LIMIT = 256 * 1024 * 1024;

function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kb) throw new Error('no VmRSS in /proc/<pid>/status');
  return Number(kb[1]) * 1024;
}

let db: TestDatabase;
let app: Running;
let headers: Record<Caller, Record<string, string>>;

beforeAll(async () => {
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: \`npm test\` builds it first (pretest)`);
  db = await createTestDatabase();
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(`
      insert into users (id, first_name, last_name, role, created_at, updated_at)
      select 'usr_abuse_' || n, 'Borrower', 'No. ' || n, 'borrower', now(), now() from generate_series(1, 100) n;
      insert into loans (id, borrower_id, amount, currency, status, term_months, interest_rate_apr, created_at, updated_at)
      select gen_random_uuid(), 'usr_abuse_' || (1 + n % 100), (100 + n % 900)::numeric(12, 2), 'KES', 'pending',
             12, 20.00, now() - n * interval '1 minute', now() - n * interval '1 minute'
      from generate_series(1, 5000) n;`);
  } finally {
    await client.end();
  }
  app = await start({
    APP_ENV: 'production',
    DATABASE_URL: db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'warn',
    TRUST_PROXY: 'false',
  });
  headers = {
    anonymous: {},
    borrower: { Authorization: `Bearer ${await tokenFor('usr_abuse_1', Role.BORROWER)}` },
    admin: { Authorization: `Bearer ${await tokenFor(TEST_ADMIN.id, Role.ADMIN)}` },
  };
}, 60_000);

afterAll(async () => {
  if (app) await stop(app);
  killAll();
  await db?.drop();
});

test('8 clients x 3 rounds of the corpus: every request refused with its code, RSS bounded, /health always 200', async () => {
  const pid = app.child.pid!;
  // Idle: after a few ordinary requests have warmed the server up.
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers.admin },
      body: JSON.stringify({ query: '{ loans(first: 20) { edges { node { id borrower { id } } } } }' }),
    });
    expect(res.status).toBe(200);
  }
  const idle = rssBytes(pid);

  let peak = idle;
  const health: number[] = [];
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, rssBytes(pid));
      const res = await fetch(`${app.url}/health`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
      health.push(res?.status ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();

  const outcomes: string[] = [];
  try {
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let round = 0; round < ROUNDS; round++) {
          for (const abuse of ABUSE_CORPUS) {
            const res = await fetch(`${app.url}/graphql`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', ...headers[abuse.caller] },
              body: JSON.stringify(abuse.body),
            });
            const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
            const code = body.errors?.[0]?.extensions?.code;
            if (res.status !== abuse.status || code !== abuse.code) {
              outcomes.push(`${abuse.name}: ${res.status} ${String(code)}`);
            }
          }
        }
      }),
    );
  } finally {
    running = false;
    await sampler;
  }
  peak = Math.max(peak, rssBytes(pid));

  expect(outcomes).toEqual([]);
  expect(health.length).toBeGreaterThan(0);
  expect(health.filter((status) => status !== 200)).toEqual([]);
  expect(peak - idle).toBeLessThan(RSS_GROWTH_LIMIT);
}, 120_000);
