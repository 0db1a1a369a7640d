import 'reflect-metadata';
import { loadConfigOrExit, type AppConfig } from '../config/config';
import { createLogger, type Logger } from '../logging/logger';
import { startWorker, WorkerConfigurationError } from './worker';

/** `npm run worker`: configuration, the worker, and signals. Everything else lives in startWorker. */
async function main(config: AppConfig, logger: Logger): Promise<void> {
  const worker = await startWorker(config, { logger });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down: finishing the messages in hand');
    worker
      .close()
      .then(() => logger.flush(() => process.exit(0)))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'worker shutdown failed');
        logger.flush(() => process.exit(1));
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const config = loadConfigOrExit();
const logger = createLogger(config, 1, { batch: true });
// A failure to start writes the lines still buffered before its own message.
main(config, logger).catch((error: unknown) => logger.flush(() => exitOnStartFailure(error)));

function exitOnStartFailure(error: unknown): void {
  if (error instanceof WorkerConfigurationError) {
    process.stderr.write(`cannot start the worker: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  process.stderr.write(
    `worker failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
}
