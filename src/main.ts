import 'reflect-metadata';
import { createApp } from './app';
import { StartupError } from './auth/first-admin';
import { loadConfigOrExit } from './config/config';
import { createLogger } from './logging/logger';

/** Process entry point: configuration, the app, and signals. Everything else lives in createApp. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config);
  const app = await createApp(config, { logger });
  const address = await app.listen();
  logger.info(
    { port: address.port, env: config.appEnv, sandbox: config.graphql.sandbox },
    `listening on http://localhost:${address.port} (GraphQL at /graphql)`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    app
      .close()
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

main().catch((error: unknown) => {
  if (error instanceof StartupError) {
    process.stderr.write(`cannot start: ${error.message}\n`);
    process.exit(78); // EX_CONFIG: the deployment must change, a restart alone will not help
  }
  process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
