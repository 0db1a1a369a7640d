import 'reflect-metadata';
import { createApp } from './app';
import { StartupError } from './auth/first-admin';
import { loadConfigOrExit, type AppConfig } from './config/config';
import { createLogger, type Logger } from './logging/logger';

/** Process entry point: configuration, the app, and signals. Everything else lives in createApp. */
async function main(config: AppConfig, logger: Logger): Promise<void> {
  const app = await createApp(config, { logger });
  const address = await app.listen();
  logger.info(
    { port: address.port, env: config.appEnv, sandbox: config.graphql.sandbox },
    `listening on http://localhost:${address.port} (GraphQL at /graphql)`,
  );

  let shutdown: ReturnType<typeof app.shutdown> | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (shutdown) {
      // A second signal (a second Ctrl-C): no more waiting for load balancers; the drain itself still runs.
      if (shutdown.skipDelay()) logger.info({ signal }, 'second signal: draining requests now');
      return;
    }
    const delayMs = config.shutdownReadinessDelayMs;
    logger.info(
      { signal, readinessDelayMs: delayMs },
      delayMs > 0
        ? `shutting down: /health/ready answers 503; draining requests in ${delayMs} ms`
        : 'shutting down: draining requests',
    );
    shutdown = app.shutdown(signal);
    shutdown.done
      .then(() => {
        logger.info('stopped');
        logger.flush(() => process.exit(0));
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
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
  if (error instanceof StartupError) {
    process.stderr.write(`cannot start: ${error.message}\n`);
    process.exit(78); // EX_CONFIG: the deployment must change, a restart alone will not help
  }
  process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
