import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from './processes';

/**
 * A real PgBouncer (Debian's package: .ci/run installs it) in front of the tests' PostgreSQL, started in the
 * foreground with its own configuration in a temporary directory, on a free 127.0.0.1 port, stopped by its pid.
 * Missing binary: the test FAILS with how to install it (never skipped).
 */
export const PGBOUNCER_BIN = process.env.PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer';

export interface PgBouncerOptions {
  /** The PostgreSQL server behind it (user and password are the ones PgBouncer logs in with). */
  serverUrl: string;
  /** Server connections per database and user (`default_pool_size`). */
  poolSize: number;
  /** Run on every new server connection (PgBouncer's `connect_query`), e.g. `set statement_timeout = 4000`. */
  connectQuery?: string;
}

export interface PgBouncer {
  port: number;
  /** `serverUrl` with PgBouncer's address instead of the server's, for `database`. */
  url(database: string): string;
  /** A statement on PgBouncer's admin console (`SHOW POOLS`, `SHOW SERVERS`, `SHOW STATS`...). */
  admin<T = Record<string, unknown>>(command: string): Promise<T[]>;
  /** What PgBouncer logged so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  if (!fs.existsSync(PGBOUNCER_BIN)) {
    throw new Error(
      `${PGBOUNCER_BIN} is missing: these tests need a real PgBouncer (apt-get install -y pgbouncer; .ci/run installs it), or set PGBOUNCER_BIN`,
    );
  }
  const server = new URL(options.serverUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  const password = decodeURIComponent(server.password);
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'branchloans-pgbouncer-'));
  // PgBouncer refuses to run as root: as root it drops to `nobody`, which must read this directory.
  fs.chmodSync(dir, 0o755);
  const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
  fs.writeFileSync(path.join(dir, 'userlist.txt'), `${quote(user)} ${quote(password)}\n`, { mode: 0o644 });
  const connectQuery = options.connectQuery ? ` connect_query='${options.connectQuery.replace(/'/g, "''")}'` : '';
  fs.writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      // Any database name: the same-named database on the server.
      `* = host=${server.hostname} port=${server.port || 5432}${connectQuery}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize}`,
      'max_client_conn = 200',
      // Idle server connections are handed out in turn (not the last used one first): consecutive transactions
      // of one client land on different server connections, so anything tied to one of them shows up at once.
      'server_round_robin = 1',
      `admin_users = ${user}`,
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const args = [path.join(dir, 'pgbouncer.ini')];
  if (process.getuid?.() === 0) args.unshift('-u', 'nobody');
  let output = '';
  const child: ChildProcess = spawn(PGBOUNCER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));

  const url = (database: string) => {
    const u = new URL(options.serverUrl);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    u.pathname = `/${database}`;
    return u.toString();
  };
  const admin = async <T>(command: string): Promise<T[]> => {
    const client = new Client({ connectionString: url('pgbouncer') });
    await client.connect();
    try {
      return (await client.query(command)).rows as T[];
    } finally {
      await client.end();
    }
  };
  const stop = async () => {
    if (running) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  // Ready once its admin console answers (bounded; an early exit fails at once with its log).
  const until = Date.now() + 15_000;
  for (;;) {
    if (!running) {
      await stop();
      throw new Error(`pgbouncer exited during start:\n${output}`);
    }
    try {
      await admin('SHOW VERSION');
      break;
    } catch (error) {
      if (Date.now() > until) {
        await stop();
        throw new Error(`pgbouncer did not answer on 127.0.0.1:${port}: ${String(error)}\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { port, url, admin, log: () => output, stop };
}
