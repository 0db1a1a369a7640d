import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/postgresql';
import { loadConfig, type AppConfig } from '../config/config';
import { startEmbeddedPostgres } from '../db/embedded-postgres';
import { buildOrmOptions } from '../db/orm-config';
import { createLogger, type Logger } from '../logging/logger';

/**
 * Runs a maintenance task (migrate, seed) against the configured database: DATABASE_URL, or the
 * same embedded server `npm start` uses. Exits non-zero with a clear message on failure.
 * `logTo: 'stderr'` keeps stdout for the task's own answer (`npm run api-key -- create` prints the key there).
 */
export function runWithDatabase(
  task: (orm: MikroORM, logger: Logger, config: AppConfig) => Promise<void>,
  options: { logTo?: 'stdout' | 'stderr' } = {},
): void {
  void (async () => {
    const config = loadConfig();
    const logger = createLogger(config, options.logTo === 'stderr' ? 2 : 1);
    const embedded = config.databaseUrl
      ? undefined
      : await startEmbeddedPostgres({ ...config.embeddedPostgres, logger });
    // Maintenance goes straight to PostgreSQL (DATABASE_DIRECT_URL), past a transaction pooler.
    const clientUrl = config.databaseDirectUrl ?? config.databaseUrl ?? embedded!.url;
    const orm = await MikroORM.init(buildOrmOptions({ clientUrl, poolSize: 2, logger }));
    try {
      await task(orm, logger, config);
    } finally {
      await orm.close(true);
      await embedded?.stop();
    }
  })().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
