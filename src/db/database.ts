import { MikroORM } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/config';
import type { Logger } from '../logging/logger';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import { runMigrations } from './migrate';
import { buildOrmOptions } from './orm-config';
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
    orm = await MikroORM.init(buildOrmOptions({ clientUrl, poolSize: config.dbPoolSize, logger }));
    if (config.migrateOnStart) await runMigrations(orm, logger);
    if (config.seed) await seedDatabase(orm.em.fork(), logger);
  } catch (error) {
    await orm?.close(true).catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  const opened = orm;
  return {
    orm: opened,
    embedded: embedded !== undefined,
    close: async () => {
      await opened.close(true);
      await embedded?.stop();
    },
  };
}
