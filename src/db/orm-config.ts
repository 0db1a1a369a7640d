import { DefaultLogger } from '@mikro-orm/core';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { DatabasePooler, DatabaseTimeouts } from '../config/config';
import type { Logger } from '../logging/logger';
import { textWithoutValues } from '../logging/redaction';
import { ENTITIES } from './entities';
import { retireOnQueryTimeout } from './query-timeout';
import { MIGRATIONS } from '../../migrations';

export interface OrmSettings {
  clientUrl: string;
  poolSize: number;
  logger?: Logger;
  /**
   * The bounds of request traffic (DB_STATEMENT_TIMEOUT_MS...). Omitted for schema changes and seeding,
   * which may legitimately wait longer (a migration waits for another instance's lock).
   */
  timeouts?: DatabaseTimeouts;
  /**
   * `pgbouncer`: `clientUrl` is a PgBouncer in transaction mode. It refuses startup parameters it does not
   * know (statement_timeout among them), and `ignore_startup_parameters` would drop the timeout silently, so
   * none is sent: the pooler's server connections carry it (docs/deployment.md "PgBouncer", checked at start
   * by `checkPoolerStatementTimeout`). The client-side `query_timeout` applies either way.
   */
  pooler?: DatabasePooler;
}

/** Without request timeouts: how long a maintenance connection may wait for the pool, and to connect. */
const MAINTENANCE_ACQUIRE_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 3000;

/** One place that decides how MikroORM talks to PostgreSQL, for the app, the CLI and the tests. */
export function buildOrmOptions({ clientUrl, poolSize, logger, timeouts, pooler }: OrmSettings): Options {
  const acquireTimeoutMillis = timeouts?.acquireMs ?? MAINTENANCE_ACQUIRE_TIMEOUT_MS;
  return defineConfig({
    clientUrl,
    entities: ENTITIES,
    discovery: { disableDynamicFileAccess: true },
    extensions: [Migrator],
    forceUtcTimezone: true,
    // Requests must fail fast (and map to 503) when the database is unreachable, never hang: waiting for a
    // connection, connecting, and each statement are bounded (README "Configuration", DB_*_TIMEOUT_MS).
    pool: {
      min: 0,
      max: poolSize,
      acquireTimeoutMillis,
      idleTimeoutMillis: 30000,
      // A connection whose statement got no answer in time is closed, never reused (query-timeout.ts).
      afterCreate: retireOnQueryTimeout,
    },
    driverOptions: {
      connection: {
        connectionTimeoutMillis: Math.min(CONNECT_TIMEOUT_MS, acquireTimeoutMillis),
        application_name: 'branchloans-gateway',
        // Sent as startup parameters: every connection of the pool has them, whatever runs on it.
        ...(timeouts ? { query_timeout: timeouts.queryMs } : {}),
        ...(timeouts && pooler !== 'pgbouncer' ? { statement_timeout: timeouts.statementMs } : {}),
      },
      // A failed statement's error message gets its SQL as sent, not re-formatted with bound values inlined
      // (driver-errors.ts then removes the values MikroORM itself writes into the SQL text).
      compileSqlOnError: false,
      // knex would print its own warnings ("Connection Error: ...") with console.log; they belong in pino.
      log: {
        // Its warnings may quote a failed statement's error: without values, as every logged error.
        warn: (message: unknown) => logger?.warn({ component: 'knex' }, textWithoutValues(String(message))),
        error: (message: unknown) => logger?.error({ component: 'knex' }, textWithoutValues(String(message))),
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
