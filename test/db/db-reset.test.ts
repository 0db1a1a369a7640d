import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { freeLowPort, root } from '../support/processes';

/**
 * `npm run db:reset` (src/cli/db-reset.ts) as a process against a scratch database: it refuses a DATABASE_URL
 * without --force and APP_ENV=production always, and otherwise brings back the documented seed state after
 * the README's examples (or anything) changed it.
 */
jest.setTimeout(120_000);

const script = path.join(root, 'dist/src/cli/db-reset.js');
const SEED_LOAN_1 = '00000000-0000-0000-0000-000000000001';

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const reset = (args: string[], env: Record<string, string>) => run(process.execPath, [script, ...args], env);

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** What the seed documents: the loans as the legacy API shows them, the borrowers and the admin's email. */
async function seedState(url: string): Promise<unknown> {
  return {
    loans: await query(
      url,
      'select id, borrower_id, amount, currency, status, version, created_at from loans order by id',
    ),
    users: await query(url, 'select id, email, role from users where role = $1 order by id', ['borrower']),
    admins: await query(url, 'select email from users where role = $1', ['admin']),
    loanEvents: await query(
      url,
      'select loan_id, from_status, to_status, reason from loan_events order by loan_id, id',
    ),
  };
}

let db: TestDatabase;
beforeAll(async () => {
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: \`npm test\` builds it first (pretest)`);
  // A migrated copy of the template: no seed, and the test admin (something a reset must remove).
  db = await createTestDatabase();
});
afterAll(() => db.drop());

test('refuses a DATABASE_URL without --force: exit 2, a message saying why, nothing touched', async () => {
  const before = await query(db.url, 'select id from users order by id');
  const result = await reset([], { DATABASE_URL: db.url });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/db:reset refused: DATABASE_URL points at 127\.0\.0\.1:\d+\/branchloans_test_\w+/);
  expect(result.stderr).toMatch(/--force/);
  expect(await query(db.url, 'select id from users order by id')).toEqual(before);
});

test('refuses APP_ENV=production even with --force', async () => {
  const before = await query(db.url, 'select id from users order by id');
  const result = await reset(['--force'], { DATABASE_URL: db.url, APP_ENV: 'production', JWT_SECRET: 'p'.repeat(40) });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/db:reset refused: APP_ENV=production/);
  expect(await query(db.url, 'select id from users order by id')).toEqual(before);
});

test('refuses an unknown option with the usage', async () => {
  const result = await reset(['--forse'], { DATABASE_URL: db.url });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/usage: npm run db:reset/);
});

test('npm run db:reset -- --force seeds; after a seed loan is changed, a second reset restores it', async () => {
  const first = await run('npm', ['run', '--silent', 'db:reset', '--', '--force'], { DATABASE_URL: db.url });
  expect(first).toEqual(expect.objectContaining({ code: 0 }));
  expect(first.stdout).toMatch(
    /database reset: \d+ migrations applied, 5 users and 5 loans seeded, admin admin@branchloans\.com/,
  );
  const seeded = await seedState(db.url);
  expect(seeded).toEqual(
    expect.objectContaining({
      admins: [{ email: 'admin@branchloans.com' }],
      loans: expect.arrayContaining([expect.objectContaining({ id: SEED_LOAN_1, status: 'pending', version: 1 })]),
    }),
  );
  expect((seeded as { loans: unknown[] }).loans).toHaveLength(5);
  // The test admin of the template is gone: the reset dropped everything first.
  expect(await query(db.url, `select id from users where email <> 'admin@branchloans.com' and role = 'admin'`)).toEqual(
    [],
  );

  // What the README's ApproveSeedLoan does (status and version), plus a loan of another borrower.
  await query(db.url, `update loans set status = 'approved', version = 2 where id = $1`, [SEED_LOAN_1]);
  await query(
    db.url,
    `insert into loan_events (loan_id, from_status, to_status, at, reason) values ($1, 'pending', 'approved', now(), 'test')`,
    [SEED_LOAN_1],
  );
  await query(
    db.url,
    `insert into users (id, role, created_at, updated_at) values ('usr_extra_1', 'borrower', now(), now())`,
  );
  expect(await seedState(db.url)).not.toEqual(seeded);

  const second = await reset(['--force'], { DATABASE_URL: db.url });
  expect(second).toEqual(expect.objectContaining({ code: 0 }));
  expect(await seedState(db.url)).toEqual(seeded);
});

describe('the embedded database (DATABASE_URL unset)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'branchloans-db-reset-'));
    // As root the embedded server runs as `postgres`, which must reach its data directory.
    fs.chmodSync(dataDir, 0o755);
    const port = await freeLowPort();
    env = { EMBEDDED_PG_DIR: path.join(dataDir, 'pg'), EMBEDDED_PG_PORT: String(port) };
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  test('needs no --force; each reset inserts the whole seed again (the seed alone would insert nothing twice)', async () => {
    for (let i = 0; i < 2; i++) {
      const result = await reset([], env);
      expect(result).toEqual(expect.objectContaining({ code: 0 }));
      expect(result.stdout).toMatch(/5 users and 5 loans seeded, admin admin@branchloans\.com/);
    }
  });

  test('refuses while something (npm start) holds the embedded port', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(Number(env.EMBEDDED_PG_PORT), '127.0.0.1', resolve));
    try {
      const result = await reset([], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/is in use \(is npm start running\?\): stop it first/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
