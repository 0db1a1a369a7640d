import pino, { type Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { logSerializers } from './error-serializer';

export type { Logger };

/** With `batch`, lines are written when about this many bytes have gathered (a request's line is 300-500 bytes)... */
export const LOG_BATCH_BYTES = 4096;
/** ...and at least every this many milliseconds: a quiet server's lines are never held longer. */
export const LOG_FLUSH_MS = 200;

/** JSON lines in staging and production; human-readable lines in development when pino-pretty is installed. */
export function createLogger(
  config: Pick<AppConfig, 'appEnv' | 'logLevel'>,
  /** File descriptor of the lines: 1 (stdout) by default; 2 for tools whose stdout is their answer. */
  destination: 1 | 2 = 1,
  /**
   * `batch`: the long-running processes (the server, the worker) write lines in batches (LOG_BATCH_BYTES, at least
   * every LOG_FLUSH_MS). Short command-line tasks write each line as it comes, so their lines keep their place
   * beside what they print to stderr.
   */
  options: { batch?: boolean } = {},
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
  // Asynchronous writes: a line is handed to the kernel in the background, and lines written meanwhile go out
  // together. Batched (`batch`): lines collect up to LOG_BATCH_BYTES, written at least every LOG_FLUSH_MS; a write
  // per line was 3% of a GraphQL page's CPU (the `fs.write` under sonic-boom in its profile, docs/profiling.md).
  // Shutdown flushes it (main.ts), and pino flushes it synchronously at any exit that runs exit handlers (a batch
  // still being written then may land after the rest, as without batching); a
  // process killed outright (SIGKILL, out of memory, V8 aborting on a full heap) may lose its last LOG_FLUSH_MS.
  return pino(
    base,
    options.batch
      ? pino.destination({ dest: destination, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS })
      : pino.destination({ dest: destination, sync: false }),
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
