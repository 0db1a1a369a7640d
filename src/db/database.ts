import { MikroORM } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/config';
import type { Logger } from '../logging/logger';
import { redactDriverErrors } from './driver-errors';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import { runMigrations } from './migrate';
import { buildOrmOptions } from './orm-config';
import { checkPoolerStatementTimeout } from './pooler';
import { seedDatabase } from './seed';

export interface Database {
  orm: MikroORM;
  /** True when this process started its own embedded PostgreSQL. */
  embedded: boolean;
  close(): Promise<void>;
}

/** Connects (starting the embedded server when no DATABASE_URL is set), migrates and seeds as configured. */
export async function openDatabase(config: AppConfig, logger: Logger): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let clientUrl = config.databaseUrl;
  if (!clientUrl) {
    embedded = await startEmbeddedPostgres({ ...config.embeddedPostgres, logger });
    clientUrl = embedded.url;
  }
  let orm: MikroORM | undefined;
  try {
    // Schema changes and the seed need a session of their own: straight to PostgreSQL, past any pooler.
    const directUrl = config.databaseDirectUrl ?? clientUrl;
    if (config.migrateOnStart || config.seed) await prepareSchemaAndData(directUrl, config, logger);
    orm = await MikroORM.init(
      buildOrmOptions({
        clientUrl,
        poolSize: config.dbPoolSize,
        logger,
        timeouts: config.dbTimeouts,
        pooler: config.databasePooler,
      }),
    );
    redactDriverErrors(orm);
    if (config.databasePooler === 'pgbouncer') {
      await checkPoolerStatementTimeout(orm, config.dbTimeouts.statementMs, logger);
    }
  } catch (error) {
    await orm?.close(true).catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  const opened: MikroORM = orm;
  return {
    orm: opened,
    embedded: embedded !== undefined,
    close: async () => {
      await opened.close(true);
      await embedded?.stop();
    },
  };
}

/**
 * Migrations and the seed run on their own short-lived connections, without the request timeouts
 * (DB_STATEMENT_TIMEOUT_MS...): a migration may rewrite a large table, or wait for another instance's
 * migration lock, for longer than any request may take.
 */
async function prepareSchemaAndData(clientUrl: string, config: AppConfig, logger: Logger): Promise<void> {
  const orm = await MikroORM.init(buildOrmOptions({ clientUrl, poolSize: 2, logger }));
  try {
    redactDriverErrors(orm);
    if (config.migrateOnStart) await runMigrations(orm, logger);
    if (config.seed) await seedDatabase(orm.em.fork(), logger);
  } finally {
    await orm.close(true);
  }
}
