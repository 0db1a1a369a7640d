import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logging/logger';
import { pooledQuery } from './prepared';

/**
 * Behind PgBouncer the app sends no `statement_timeout` (orm-config.ts): the server connections the pooler
 * opens must carry it (PgBouncer's `connect_query`, or `ALTER ROLE ... IN DATABASE ... SET statement_timeout`).
 * Checked once at start on one pooled connection, so that a pooler set up without it is said in the log instead
 * of a slow statement running unbounded on the server. Never fatal: the client-side DB_QUERY_TIMEOUT_MS and the
 * request deadline still bound what a request waits for.
 */
export async function checkPoolerStatementTimeout(orm: MikroORM, expectedMs: number, logger: Logger): Promise<void> {
  try {
    const rows = await pooledQuery(
      orm.em.getKnex(),
      `select setting::int as ms from pg_settings where name = 'statement_timeout'`,
    );
    const actualMs = Number(rows[0]?.ms);
    if (actualMs === expectedMs) {
      logger.debug({ statementTimeoutMs: actualMs }, 'PgBouncer server connections carry the statement timeout');
      return;
    }
    logger.warn(
      { statementTimeoutMs: actualMs, expectedMs },
      actualMs === 0
        ? `the database connections behind PgBouncer have no statement_timeout: set it on the pooler's server connections (connect_query = 'set statement_timeout = ${expectedMs}'), docs/deployment.md "PgBouncer"`
        : `the database connections behind PgBouncer have statement_timeout ${actualMs} ms, DB_STATEMENT_TIMEOUT_MS is ${expectedMs}: make them agree (docs/deployment.md "PgBouncer")`,
    );
  } catch (error) {
    logger.warn({ err: error }, 'could not read statement_timeout through PgBouncer at start');
  }
}
