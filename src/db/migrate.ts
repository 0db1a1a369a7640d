import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logging/logger';

/** Arbitrary but fixed: the key of the advisory lock that serialises schema changes across instances. */
const MIGRATION_LOCK_KEY = 727_001;

/**
 * Applies pending migrations while holding a transaction-scoped advisory lock, so that several
 * instances starting at once apply each migration exactly once: the others wait, then find nothing to do.
 * The migrations run inside the same transaction as the lock, so a failure leaves nothing half-applied.
 */
export async function runMigrations(orm: MikroORM, logger: Logger): Promise<string[]> {
  const connection = orm.em.getConnection();
  const applied = await connection.transactional(async (trx) => {
    // A migration may rewrite a large table or wait for another instance's lock: never under a request
    // timeout, not even one the server applies to the role (`ALTER ROLE ... SET statement_timeout`, how a
    // PgBouncer that cannot run a connect_query gets it: docs/deployment.md "PgBouncer").
    await connection.execute('set local statement_timeout = 0', [], 'run', trx);
    await connection.execute('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY], 'all', trx);
    const migrations = await orm.getMigrator().up({ transaction: trx });
    return migrations.map((m) => m.name);
  });
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  else logger.debug('database schema up to date');
  return applied;
}
