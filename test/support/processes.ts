import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

/**
 * The real start sequence, as `npm start` runs it: the compiled entry point (built by `pretest`)
 * in its own process, with signals. This is what the Docker image runs too.
 */
export const root = path.resolve(__dirname, '../..');
export const entry = path.join(root, 'dist/src/main.js');

export interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      // A host without IPv6 cannot take ::1 at all: that says nothing about the port.
      resolve(host === '::1' && (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT')),
    );
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * A port nothing listens on, below the kernel's ephemeral range (so no outgoing connection takes it between a
 * check and a restart) and in EMBEDDED_PG_PORT's range (1024..32767). Checked on both loopback addresses, since
 * PostgreSQL listens on "localhost": RabbitMQ's distribution port (25672) is taken on these machines, for one.
 */
export async function freeLowPort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if ((await canListen(port, '127.0.0.1')) && (await canListen(port, '::1'))) return port;
  }
  throw new Error('no free port from 20000 to 31999');
}

/** Every process a test started: afterAll stops whatever a failed test left running. */
export const children = new Set<ChildProcess>();

export function launch(env: Record<string, string>, port: number): Omit<Running, 'url'> {
  let output = '';
  const child = spawn(process.execPath, [entry], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      PORT: String(port),
      HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  children.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, output: () => output, exited };
}

export async function start(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const running = { ...launch(env, port), url: `http://127.0.0.1:${port}` };
  const deadline = Date.now() + 60_000;
  let exitCode: number | null | undefined;
  void running.exited.then((code) => (exitCode = code));
  while (Date.now() < deadline && exitCode === undefined) {
    try {
      const res = await fetch(`${running.url}/health`);
      if (res.status === 200) return running;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  running.child.kill('SIGKILL');
  throw new Error(`the app did not become healthy (exit ${String(exitCode)}):\n${running.output()}`);
}

export async function stop(running: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  running.child.kill(signal);
  return running.exited;
}

/** For afterAll: stops whatever a failed test left running. */
export function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
}
