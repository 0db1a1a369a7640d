import pino, { type Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { logSerializers } from './error-serializer';

export type { Logger };

/** Log lines are written in batches of about this many bytes (a request's line is 300-500 bytes)... */
export const LOG_BATCH_BYTES = 4096;
/** ...or after this many milliseconds, whichever comes first: a quiet server's lines are never held longer. */
export const LOG_FLUSH_MS = 200;

/** JSON lines in staging and production; human-readable lines in development when pino-pretty is installed. */
export function createLogger(
  config: Pick<AppConfig, 'appEnv' | 'logLevel'>,
  /** File descriptor of the lines: 1 (stdout) by default; 2 for tools whose stdout is their answer. */
  destination: 1 | 2 = 1,
): Logger {
  const base = {
    level: config.logLevel,
    base: { service: 'branchloans-gateway', env: config.appEnv },
    timestamp: pino.stdTimeFunctions.isoTime,
    // `err` without the values of failed statements (SQL literals, PostgreSQL's quotes of input).
    serializers: logSerializers,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token'],
      censor: '[redacted]',
    },
  };
  if (config.appEnv === 'development' && config.logLevel !== 'silent' && isInstalled('pino-pretty')) {
    // A synchronous stream, not a worker-thread transport: the last lines before exit are not lost.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pretty = require('pino-pretty') as typeof import('pino-pretty');
    return pino(
      base,
      pretty({
        sync: true,
        destination,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,service,env',
        singleLine: true,
      }),
    );
  }
  // Asynchronous, batched writes: lines collect up to LOG_BATCH_BYTES (or LOG_FLUSH_MS at most) and go to the
  // kernel in one write. A write per line was 3% of a GraphQL page's CPU (the `fs.write` under sonic-boom in its
  // profile, docs/profiling.md). Shutdown flushes it (main.ts), and pino flushes it synchronously at any process
  // exit; a process killed outright (SIGKILL, out of memory) may lose the last LOG_FLUSH_MS of lines.
  return pino(
    base,
    pino.destination({ dest: destination, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS }),
  );
}

function isInstalled(moduleName: string): boolean {
  try {
    require.resolve(moduleName);
    return true;
  } catch {
    return false;
  }
}
