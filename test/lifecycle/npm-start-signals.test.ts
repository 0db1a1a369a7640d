import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { entry, freePort, root } from '../support/processes';

/**
 * `npm start` as a developer or a process manager runs it, signalled the way a supervisor does: SIGINT or
 * SIGTERM to the npm process alone, not to its process group (what a terminal's Ctrl-C does). npm passes the
 * signal to its script's process; the script `exec`s node, so that process is the server itself (a plain
 * `sh -c 'node ...'` would be a shell that neither passes SIGINT on nor takes its node along on SIGTERM:
 * the server kept running, or npm waited forever).
 */
jest.setTimeout(120_000);

/** The PIDs of `pid`'s children, from /proc (Linux). */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent; the command (field 2) may hold spaces, so read after ')'.
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === pid) found.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

const commandLine = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const alive = (pid: number) =>
  fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntil(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return condition();
}

let db: TestDatabase;
const started: ChildProcess[] = [];
const servers: number[] = [];

beforeAll(async () => {
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: \`npm test\` builds it first (pretest)`);
  db = await createTestDatabase();
});

afterAll(async () => {
  // Whatever a failed test left running.
  for (const pid of servers) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await db.drop();
});

test.each(['SIGINT', 'SIGTERM'] as const)(
  '%s to the npm start process alone stops the server cleanly: exit 0, port closed',
  async (signal) => {
    const port = await freePort();
    let output = '';
    const npm = spawn('npm', ['start'], {
      cwd: root,
      detached: false,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        DATABASE_URL: db.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(npm);
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));

    // prestart's build is a no-op here (the test run built first); the start then migrates and seeds.
    expect(await waitUntil(() => /listening on/.test(output) || npm.exitCode !== null, 90_000)).toBe(true);
    expect(output).toMatch(/listening on/);
    expect(await portOpen(port)).toBe(true);

    // npm's one child is the server itself: the script exec'd node, no shell in between.
    const [server, ...others] = childrenOf(npm.pid!);
    expect(others).toEqual([]);
    servers.push(server);
    expect(commandLine(server)).toEqual(['node', 'dist/src/main.js']);

    process.kill(npm.pid!, signal);

    const stopped = await waitUntil(() => !alive(server), 10_000);
    expect({ stopped, output: stopped ? '' : output }).toEqual({ stopped: true, output: '' });
    expect(await exited).toBe(0);
    expect(await portOpen(port)).toBe(false);
    expect(output).toMatch(/\bstopped\b/);
  },
);
