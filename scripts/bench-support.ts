/**
 * Run plumbing for scripts/bench.ts: undo steps, stopping on a signal or a budget, the PostgreSQL server,
 * child processes pinned to a CPU, and their memory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';

export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
export const describe = (error: unknown) => (error instanceof Error ? (error.stack ?? error.message) : String(error));
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- undo steps, abort

const undo: { name: string; run: () => Promise<unknown> }[] = [];
/** Run synchronously on `exit` whatever happened (a child must never outlive the bench). */
const onExit = new Set<() => void>();
let cleaning: Promise<void> | undefined;
let abortReason: string | undefined;
const abortListeners = new Set<() => void>();

process.on('exit', () => {
  for (const run of onExit) run();
});

/** Registers how to undo what was just created; `cleanup` runs these in reverse order. */
export function onCleanup(name: string, run: () => Promise<unknown>): () => void {
  const step = { name, run };
  undo.push(step);
  return () => {
    const i = undo.indexOf(step);
    if (i >= 0) undo.splice(i, 1);
  };
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
        await withTimeout(step.run(), 20_000, step.name);
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
  for (const listener of abortListeners) listener();
  setTimeout(() => void cleanup().finally(() => process.exit(1)), 30_000).unref();
}

export const aborted = () => abortReason !== undefined;

/** Called on abort (e.g. to stop a running load generator); returns the unsubscribe. */
export function onAbort(listener: () => void): () => void {
  abortListeners.add(listener);
  return () => abortListeners.delete(listener);
}

export function checkpoint(): void {
  if (abortReason) throw new Error(`aborted (${abortReason})`);
}

// ---- PostgreSQL

/** One statement on a short-lived connection (CREATE/DROP DATABASE, VACUUM cannot run in a transaction). */
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
  onExit.add(remove);
  fs.chmodSync(dir, 0o755); // as root, the server runs as `postgres`, which must reach the data directory
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'data'),
    port: embeddedPort,
    logger: pino({ level: 'silent' }),
    ephemeral: true,
  });
  onCleanup('stop embedded PostgreSQL', () => pg.stop());
  return { adminUrl: pg.url, where: `embedded PostgreSQL on 127.0.0.1:${embeddedPort}`, embedded: true };
}

// ---- CPUs

/** `taskset` (util-linux) when it exists and there are at least two CPUs to split: servers on 0, load on 1. */
export const canPin = (): boolean =>
  os.cpus().length >= 2 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;

/** Pins every thread of this process (libuv pool, GC helpers included) to `cpu`. */
export function pinSelf(cpu: number): void {
  const done = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { encoding: 'utf8' });
  if (done.status !== 0) throw new Error(`taskset -a -p -c ${cpu} ${process.pid} failed: ${done.stderr}`);
}

// ---- child processes

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  /** Where its stdout and stderr go (appended); `truncate` empties it between cases. */
  logFile: string;
  truncateLog(): void;
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Starts `node script` as a child (`nodePath`, else this process's node), pinned to `cpu` with `taskset -c` when pinning (taskset execs node, so
 * the pid is node's). stdout and stderr go to a log file (the child writes it directly: no work for this
 * process); stdin is a pipe the child may watch to exit with the bench. Stopped by `cleanup` and at exit.
 */
export function startChild(options: {
  name: string;
  script: string;
  env: NodeJS.ProcessEnv;
  cpu: number | null;
  logDir: string;
  /** node's own flags, before the script (`--max-old-space-size=...`). */
  nodeFlags?: readonly string[];
  /** The node binary (scripts/bench-node.ts `benchNode`); this process's own node by default. */
  nodePath?: string;
}): Child {
  const logFile = path.join(options.logDir, `${options.name}.log`);
  const fd = fs.openSync(logFile, 'a');
  const node = options.nodePath ?? process.execPath;
  const [command, args] =
    options.cpu === null
      ? [node, [...(options.nodeFlags ?? []), options.script]]
      : ['taskset', ['-c', String(options.cpu), node, ...(options.nodeFlags ?? []), options.script]];
  const child = spawn(command, args, { env: options.env, stdio: ['pipe', fd, fd] });
  fs.closeSync(fd);
  if (child.pid === undefined) throw new Error(`${options.name}: could not start ${command}`);
  const pid = child.pid;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  onExit.add(kill);
  let stopping: Promise<void> | undefined;
  const handle: Child = {
    name: options.name,
    pid,
    process: child,
    logFile,
    truncateLog: () => fs.truncateSync(logFile, 0),
    logTail: (lines = 30) => {
      try {
        return fs.readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    exited,
    stop: (graceMs = 10_000) => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(kill, graceMs);
          await exited;
          clearTimeout(timer);
        }
        onExit.delete(kill);
        unregister();
      })();
      return stopping;
    },
  };
  const unregister = onCleanup(`stop ${options.name} (pid ${pid})`, () => handle.stop());
  return handle;
}

/**
 * A free TCP port on 127.0.0.1 (closed again at once: the child binds it a moment later), other than `taken`
 * (ports handed out but not bound yet: the system may offer a just-closed port again).
 */
export async function freePort(taken: readonly number[] = []): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port: bound } = server.address() as net.AddressInfo;
        server.close(() => resolve(bound));
      });
    });
    if (!taken.includes(port)) return port;
  }
}

/** Polls `url` until it answers 200; fails at once if the child exits, or after `timeoutMs`. */
export async function waitUntilUp(child: Child, url: string, timeoutMs = 60_000): Promise<void> {
  let exitedWith: number | null | undefined;
  void child.exited.then((code) => (exitedWith = code));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkpoint();
    if (exitedWith !== undefined) {
      throw new Error(`${child.name} exited with code ${exitedWith} while starting:\n${child.logTail()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${child.name} not up after ${timeoutMs} ms:\n${child.logTail()}`);
    await sleep(100);
  }
}

/**
 * node's flags in the image's `CMD` (Dockerfile: `CMD ["node", <flags>..., "dist/src/main.js"]`), so the bench
 * runs the gateway as deployed, with the same heap ceiling (`--max-old-space-size`): V8 sizes its heap growth
 * from that ceiling, and without it on a 24 GiB machine lets the old generation grow to four times the live heap.
 */
export function imageNodeFlags(dockerfile: string): string[] {
  const cmd = [...dockerfile.matchAll(/^CMD\s+(\[.*\])\s*$/gm)].at(-1)?.[1];
  if (!cmd) throw new Error('the Dockerfile has no CMD ["node", ...] line');
  const argv = JSON.parse(cmd) as unknown;
  const isStrings = (value: unknown): value is string[] =>
    Array.isArray(value) && value.every((a) => typeof a === 'string');
  if (!isStrings(argv) || argv[0] !== 'node') throw new Error(`the Dockerfile's CMD is not ["node", ...]: ${cmd}`);
  const flags = argv.slice(1, -1);
  if (!flags.every((flag) => flag.startsWith('--'))) throw new Error(`unexpected arguments in the CMD: ${cmd}`);
  return flags;
}

/** Resident set size of a process in bytes (`VmRSS` of /proc/<pid>/status), or null where there is no /proc. */
export function rssOf(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}
