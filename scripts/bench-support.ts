/** Run plumbing for scripts/bench.ts: undo steps, stopping on a signal or a budget, the PostgreSQL server. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
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

/** `global.gc` without `--expose-gc` on the command line (the npm script is fixed), so RSS is measured from a settled heap. */
export function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export interface RssGrowth {
  /** Highest RSS seen while `work` ran (sampled every `everyMs`, and once at the end), minus the RSS before. */
  sampled: number;
  /** Growth of the kernel's high-water mark (`maxRSS`): the true peak, when it exceeded every earlier peak. */
  highWater: number;
}

/** Peak RSS growth of THIS process while `work` runs: the bench runs the app in-process, so this is the server's. */
export async function rssGrowth(work: () => Promise<unknown>, gc: () => void, everyMs = 2): Promise<RssGrowth> {
  gc();
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const before = process.memoryUsage.rss();
  const highWaterBefore = process.resourceUsage().maxRSS * 1024;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return { sampled: peak - before, highWater: process.resourceUsage().maxRSS * 1024 - highWaterBefore };
}
