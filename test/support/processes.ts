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
