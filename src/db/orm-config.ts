import { DefaultLogger } from '@mikro-orm/core';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Logger } from '../logging/logger';
import { ENTITIES } from './entities';
import { MIGRATIONS } from '../../migrations';

export interface OrmSettings {
  clientUrl: string;
  poolSize: number;
  logger?: Logger;
}

/** One place that decides how MikroORM talks to PostgreSQL, for the app, the CLI and the tests. */
export function buildOrmOptions({ clientUrl, poolSize, logger }: OrmSettings): Options {
  return defineConfig({
    clientUrl,
    entities: ENTITIES,
    discovery: { disableDynamicFileAccess: true },
    extensions: [Migrator],
    forceUtcTimezone: true,
    // Requests must fail fast (and map to 503) when the database is unreachable, never hang.
    pool: { min: 0, max: poolSize, acquireTimeoutMillis: 5000, idleTimeoutMillis: 30000 },
    driverOptions: {
      connection: { connectionTimeoutMillis: 3000, statement_timeout: 15000, application_name: 'branchloans-gateway' },
      // knex would print its own warnings ("Connection Error: ...") with console.log; they belong in pino.
      log: {
        warn: (message: unknown) => logger?.warn({ component: 'knex' }, String(message)),
        error: (message: unknown) => logger?.error({ component: 'knex' }, String(message)),
        deprecate: (message: unknown) => logger?.warn({ component: 'knex' }, String(message)),
        debug: () => undefined,
      },
    },
    migrations: {
      tableName: 'mikro_orm_migrations',
      migrationsList: MIGRATIONS,
      path: 'migrations',
      pathTs: 'migrations',
      emit: 'ts',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    // SQL goes through pino at debug level (statements only: parameters may be personal data or
    // secrets), and is only formatted when that level is on.
    debug: logger?.isLevelEnabled('debug') ? ['query'] : false,
    colors: false,
    loggerFactory: (options) => {
      const child = logger?.child({ component: 'orm' });
      return new DefaultLogger({ ...options, writer: (message: string) => child?.debug(message) });
    },
  });
}
