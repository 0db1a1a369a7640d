import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { createLogger, LOG_BATCH_BYTES } from '../src/logging/logger';

/**
 * The production logger writes its lines in batches (src/logging/logger.ts): fewer writes under load, and still
 * every line on time on a quiet server and at exit. Run against the built logger in a process of its own, whose
 * stdout is the log as operators read it (`npm test` builds dist first).
 */
const LOGGER = path.resolve(__dirname, '..', 'dist', 'src', 'logging', 'logger.js');

/** Runs `body` in a node process with `logger` = the production logger; resolves with each stdout line and its arrival. */
function run(body: string): Promise<{ lines: { at: number; json: Record<string, unknown> }[]; code: number | null }> {
  const script = `const logger = require(${JSON.stringify(LOGGER)}).createLogger({ appEnv: 'production', logLevel: 'info' }, 1, { batch: true });\n${body}`;
  const started = Date.now();
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const lines: { at: number; json: Record<string, unknown> }[] = [];
  let rest = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) lines.push({ at: Date.now() - started, json: JSON.parse(part) });
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ lines, code }));
  });
}

describe('batched log writes', () => {
  test('the server and the worker batch their lines; command-line tasks write each line as it comes', () => {
    const minLength = (logger: ReturnType<typeof createLogger>) =>
      (logger as unknown as Record<symbol, { minLength: number }>)[pino.symbols.streamSym].minLength;
    const config = { appEnv: 'production', logLevel: 'info' } as const;
    expect(minLength(createLogger(config, 1, { batch: true }))).toBe(LOG_BATCH_BYTES);
    expect(minLength(createLogger(config))).toBe(0);
    expect(minLength(createLogger(config, 2))).toBe(0);
    for (const entry of ['main.ts', 'worker/main.ts']) {
      expect(fs.readFileSync(path.resolve(__dirname, '..', 'src', entry), 'utf8')).toContain(
        'createLogger(config, 1, { batch: true })',
      );
    }
  });

  test('a quiet server still writes its line within the flush interval, not when the batch fills', async () => {
    // One short line, then the process idles for 3 s: the line must arrive long before the process ends.
    const { lines, code } = await run(
      `const t0 = Date.now(); logger.info({ t0 }, 'alone'); setTimeout(() => logger.info('last'), 3000);`,
    );
    expect(code).toBe(0);
    expect(lines.map((l) => l.json.msg)).toEqual(['alone', 'last']);
    // Arrival is measured from the spawn (node's start-up included), so the bound is loose but well under 3 s.
    expect(lines[0].at).toBeLessThan(lines[1].at - 1500);
  });

  // Every line, each once. Not necessarily in order: a batch whose asynchronous write is still in flight at exit
  // can land after the rest, which pino writes synchronously (sonic-boom's flushSync, as without batching).
  const indexes = (lines: { json: Record<string, unknown> }[]) =>
    lines.map((l) => l.json.i as number).sort((x, y) => x - y);

  test('lines still buffered when the process exits are written (process.exit and an uncaught error)', async () => {
    const exited = await run(`for (let i = 0; i < 50; i++) logger.info({ i }, 'line'); process.exit(3);`);
    expect(exited.code).toBe(3);
    expect(indexes(exited.lines)).toEqual([...Array(50).keys()]);
    const crashed = await run(
      `for (let i = 0; i < 50; i++) logger.info({ i }, 'line'); setImmediate(() => { throw new Error('boom'); });`,
    );
    expect(crashed.code).toBe(1);
    expect(indexes(crashed.lines)).toEqual([...Array(50).keys()]);
  });
});
