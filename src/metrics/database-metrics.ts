import type { MikroORM } from '@mikro-orm/postgresql';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../logging/logger';
import { UNPUBLISHED_SQL } from '../events/outbox-event.entity';

/** The tarn pool knex keeps its connections in (MikroORM 6 on PostgreSQL). */
interface TarnPool {
  max: number;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

function poolOf(orm: MikroORM): TarnPool | undefined {
  const client = orm.em.getConnection().getKnex().client as { pool?: TarnPool | null };
  return client.pool ?? undefined;
}

/**
 * The request pool's state, read when Prometheus scrapes (no timer): `db_pool_connections_in_use`, `_idle`,
 * `db_pool_pending_acquires` (callers waiting for a connection), `db_pool_pending_creates` (connections being
 * opened) and `db_pool_max_connections` (DB_POOL_SIZE). `pool` is `app`: the outbox relay's single connection
 * (a pg Client of its own, src/events/relay.ts) is outside the pool and not counted. A closed pool has no sample.
 */
export function registerPoolMetrics(registry: Registry, orm: MikroORM): void {
  const labels = { pool: 'app' };
  const read = (gauge: Gauge<'pool'>, value: (pool: TarnPool) => number) => {
    const pool = poolOf(orm);
    if (pool) gauge.set(labels, value(pool));
    else gauge.reset();
  };
  const gauge = (name: string, help: string, value: (pool: TarnPool) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        read(this, value);
      },
    });
  gauge('db_pool_connections_in_use', 'Database pool: connections lent to a caller now.', (p) => p.numUsed());
  gauge('db_pool_connections_idle', 'Database pool: open connections nobody is using.', (p) => p.numFree());
  gauge('db_pool_pending_acquires', 'Database pool: callers waiting for a connection.', (p) => p.numPendingAcquires());
  gauge('db_pool_pending_creates', 'Database pool: connections being opened.', (p) => p.numPendingCreates());
  gauge('db_pool_max_connections', 'Database pool: its size (DB_POOL_SIZE).', (p) => p.max);
}

interface OutboxSnapshot {
  unpublished: number;
  oldestAgeSeconds: number;
}

/** A scrape waits at most this long for the outbox query; then it shows the last value read. */
export const OUTBOX_SCRAPE_TIMEOUT_MS = 1000;

/**
 * The outbox backlog (docs/events.md), read when Prometheus scrapes: `outbox_unpublished_events` and
 * `outbox_oldest_unpublished_age_seconds` (0 when none waits; the oldest in publication order, which is what the
 * relay is blocked on; NaN until the database first answers). Both come from one query on the partial index of unpublished rows; a scrape waits
 * `OUTBOX_SCRAPE_TIMEOUT_MS` at most and otherwise shows the last value (the query, bounded by
 * DB_STATEMENT_TIMEOUT_MS, is never started twice at once). Every replica reports the same database-wide values.
 */
export function registerOutboxMetrics(
  registry: Registry,
  orm: MikroORM,
  logger: Logger,
  timeoutMs = OUTBOX_SCRAPE_TIMEOUT_MS,
): void {
  let last: OutboxSnapshot | undefined;
  let inFlight: Promise<OutboxSnapshot | undefined> | undefined;
  const query = async (): Promise<OutboxSnapshot> => {
    const [row] = await orm.em.getConnection().execute<{ unpublished: number; age: number }[]>(
      `select (select count(*) from outbox_events where ${UNPUBLISHED_SQL})::int as unpublished,
        coalesce((select extract(epoch from now() - "time") from outbox_events where ${UNPUBLISHED_SQL}
          order by sequence limit 1), 0)::float8 as age`,
    );
    return { unpublished: Number(row.unpublished), oldestAgeSeconds: Math.max(0, Number(row.age)) };
  };
  const snapshot = (): Promise<OutboxSnapshot | undefined> => {
    inFlight ??= query()
      .then(
        (value) => (last = value),
        (error: unknown) => {
          logger.warn({ err: error }, 'metrics: the outbox backlog could not be read; showing the last value');
          return last;
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<OutboxSnapshot | undefined>((resolve) => {
      timer = setTimeout(() => resolve(last), timeoutMs);
      timer.unref();
    });
    return Promise.race([inFlight, timeout]).finally(() => clearTimeout(timer));
  };
  const gauge = (name: string, help: string, value: (snapshot: OutboxSnapshot) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const current = await snapshot();
        // Never read yet (the database did not answer): NaN, not a reassuring 0.
        this.set(current ? value(current) : Number.NaN);
      },
    });
  gauge('outbox_unpublished_events', 'Outbox: domain events not yet published to the broker.', (s) => s.unpublished);
  gauge(
    'outbox_oldest_unpublished_age_seconds',
    'Outbox: age of the oldest unpublished event (0 when none waits).',
    (s) => s.oldestAgeSeconds,
  );
}
