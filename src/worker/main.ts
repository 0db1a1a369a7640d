import 'reflect-metadata';
import { loadConfigOrExit } from '../config/config';
import { createLogger, type Logger } from '../logging/logger';
import { startWorker, WorkerConfigurationError } from './worker';

/** `npm run worker`: configuration, the worker, and signals. Everything else lives in startWorker. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, 1, { batch: true });
  started.logger = logger;
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

/** The process's logger once made: a failure to start writes its buffered lines before its own message. */
const started: { logger?: Logger } = {};

main().catch((error: unknown) => {
  if (started.logger) started.logger.flush(() => exitOnStartFailure(error));
  else exitOnStartFailure(error);
});

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
