import pino, { type Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { logSerializers } from './error-serializer';

export type { Logger };

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
  // Asynchronous writes: a line is handed to the kernel in the background, and lines written meanwhile go
  // out together (a synchronous write per request was a visible share of a small request's cost).
  // Shutdown flushes it (main.ts); a crash may lose the last lines still buffered.
  return pino(base, pino.destination({ dest: destination, sync: false }));
}

function isInstalled(moduleName: string): boolean {
  try {
    require.resolve(moduleName);
    return true;
  } catch {
    return false;
  }
}
