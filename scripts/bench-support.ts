/** Run plumbing for scripts/bench.ts: undo steps, stopping on a signal or a budget, the PostgreSQL server. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';

export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
export const describe = (error: unknown) => (error instanceof Error ? (error.stack ?? error.message) : String(error));

const undo: { name: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | undefined;
let abortReason: string | undefined;

/** Registers how to undo what was just created; `cleanup` runs these in reverse order. */
export function onCleanup(name: string, run: () => Promise<unknown>): void {
  undo.push({ name, run });
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every undo step once, newest first, each bounded in time; a failing step does not stop the others. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of undo.splice(0).reverse()) {
      try {
        await withTimeout(step.run(), 15_000, step.name);
      } catch (error) {
        log(`cleanup step "${step.name}" failed: ${describe(error).split('\n')[0]}`);
      }
    }
  })();
  return cleaning;
}

/** First call: the run stops at its next `checkpoint` (or in 30 s regardless). Second call: clean up and exit now. */
export function abort(reason: string): void {
  if (abortReason) {
    log(`${reason} again: cleaning up now`);
    void cleanup().finally(() => process.exit(130));
    return;
  }
  abortReason = reason;
  log(`${reason}: stopping at the next step, then cleaning up`);
  setTimeout(() => void cleanup().finally(() => process.exit(1)), 30_000).unref();
}

export const aborted = () => abortReason !== undefined;

export function checkpoint(): void {
  if (abortReason) throw new Error(`aborted (${abortReason})`);
}

/** One statement on a short-lived connection (CREATE/DROP DATABASE cannot run in a transaction). */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** DATABASE_URL's server, else an embedded PostgreSQL in a temp directory (stopped and removed by `cleanup`). */
export async function openServer(
  embeddedPort: number,
): Promise<{ adminUrl: string; where: string; embedded: boolean }> {
  const given = process.env.DATABASE_URL;
  if (given) return { adminUrl: given, where: `DATABASE_URL server ${new URL(given).host}`, embedded: false };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'branchloans-bench-pg-'));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  onCleanup(`remove ${dir}`, async () => remove());
  // embedded-postgres stops its servers on SIGINT/SIGTERM by itself, then exits: the directory goes in any case.
  process.on('exit', remove);
  fs.chmodSync(dir, 0o755); // as root, the server runs as `postgres`, which must reach the data directory
  const logger = pino({ level: 'silent' });
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'data'),
    port: embeddedPort,
    logger,
    ephemeral: true,
  });
  onCleanup('stop embedded PostgreSQL', () => pg.stop());
  return { adminUrl: pg.url, where: `embedded PostgreSQL on 127.0.0.1:${embeddedPort}`, embedded: true };
}
