import { Writable } from 'node:stream';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { TEST_JWT_SECRET } from './auth';
import { createTestDatabase } from './database';

/**
 * A pino destination that keeps every JSON line written to it, parsed, in `lines` (the app's log as operators
 * read it): `pino({ level: 'info' }, sink)`.
 */
export function jsonLogSink(lines: Record<string, any>[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
}

/**
 * The real app in production mode on a fresh database, its log at `info` kept as parsed lines: for tests of what
 * operators read. `env` adds to or overrides the settings.
 */
export async function startAppWithLogLines(env: Record<string, string> = {}) {
  const lines: Record<string, any>[] = [];
  const db = await createTestDatabase();
  const config = loadConfig({
    APP_ENV: 'production',
    DATABASE_URL: db.url,
    LOG_LEVEL: 'info',
    JWT_SECRET: TEST_JWT_SECRET,
    ...env,
  });
  const app = await createApp(config, { logger: pino({ level: 'info' }, jsonLogSink(lines)) }).catch(
    async (error: unknown) => {
      await db.drop();
      throw error;
    },
  );
  return {
    app,
    db,
    lines,
    close: async () => {
      await app.close();
      await db.drop();
    },
  };
}
