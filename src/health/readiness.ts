import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logging/logger';
import { pooledQuery } from '../db/prepared';
import { MIGRATIONS } from '../../migrations';

/** One check's answer. `up`/`down` for those that decide readiness; the broker also says `not_configured`. */
export interface CheckResult {
  status: 'up' | 'down' | 'unknown' | 'not_configured';
  [detail: string]: unknown;
}

export interface ReadinessReport {
  status: 'ready' | 'not_ready';
  timestamp: string;
  checks: {
    database: CheckResult;
    migrations: CheckResult;
    broker: CheckResult;
    shutdown: CheckResult;
  };
}

/** The broker connections of this process, as `/health/ready` reports them; undefined without AMQP_URL. */
export interface BrokerConnections {
  /** The live-updates feed: every replica holds one. */
  liveUpdates: boolean | undefined;
  /** The outbox relay: only the leader replica connects (`standby` elsewhere). */
  outboxRelay: 'up' | 'down' | 'standby' | undefined;
}

export interface ReadinessOptions {
  orm: MikroORM;
  logger: Logger;
  /** HEALTH_TIMEOUT_MS: the whole readiness check (database and migrations together) answers within it. */
  timeoutMs: number;
  /** Whether AMQP_URL is set. */
  brokerConfigured: boolean;
  brokerConnections: () => BrokerConnections;
}

type Timed<T> = { outcome: 'ok'; value: T; latencyMs: number } | { outcome: 'error' | 'timeout'; error?: unknown };

/** Runs `work` against a deadline: never waits past it, whatever the pool or the network does. */
async function withDeadline<T>(work: Promise<T>, deadline: number): Promise<Timed<T>> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Timed<T>>((resolve) => {
    timer = setTimeout(() => resolve({ outcome: 'timeout' }), Math.max(0, deadline - started));
  });
  const done = work.then(
    (value): Timed<T> => ({ outcome: 'ok', value, latencyMs: Date.now() - started }),
    (error: unknown): Timed<T> => ({ outcome: 'error', error }),
  );
  try {
    return await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const MIGRATION_NAMES = MIGRATIONS.map((migration) => migration.name);

/**
 * What `/health/ready` answers (README "Probes and shutdown"). Ready means: not shutting down, the database
 * answers `select 1` in time, and every migration this build knows is applied. The broker is reported but
 * does not decide readiness: the outbox keeps every event while it is away, and a broker outage is shared by
 * every replica, so failing readiness would take the whole API out of the load balancer for a problem that
 * delays events and live updates but no request.
 */
export class Readiness {
  private shutdownSince: Date | undefined;
  private shutdownSignal: string | undefined;
  /** Set once every migration was seen applied: migrations are never un-applied, so the probe stops asking. */
  private migrationsApplied = false;
  private lastStatus: ReadinessReport['status'] | undefined;
  private readonly log: Logger;

  constructor(private readonly options: ReadinessOptions) {
    this.log = options.logger.child({ component: 'readiness' });
  }

  /** True once the shutdown began: `/health/ready` answers 503 from now on. */
  get shuttingDown(): boolean {
    return this.shutdownSince !== undefined;
  }

  /** Readiness turns false for good (the first call counts; later ones change nothing). */
  beginShutdown(signal?: string): void {
    if (this.shutdownSince) return;
    this.shutdownSince = new Date();
    this.shutdownSignal = signal;
  }

  async check(): Promise<ReadinessReport> {
    const deadline = Date.now() + this.options.timeoutMs;
    const database = await this.checkDatabase(deadline);
    const migrations = database.status === 'up' ? await this.checkMigrations(deadline) : { status: 'unknown' as const };
    const checks = { database, migrations, broker: this.checkBroker(), shutdown: this.checkShutdown() };
    const ready = database.status === 'up' && migrations.status === 'up' && checks.shutdown.status === 'up';
    const report: ReadinessReport = {
      status: ready ? 'ready' : 'not_ready',
      timestamp: new Date().toISOString(),
      checks,
    };
    this.logTransition(report);
    return report;
  }

  private async checkDatabase(deadline: number): Promise<CheckResult> {
    const result = await withDeadline(pooledQuery(this.options.orm.em.getKnex(), 'select 1'), deadline);
    if (result.outcome === 'ok') return { status: 'up', latencyMs: result.latencyMs };
    if (result.outcome === 'error') this.log.debug({ err: result.error }, 'readiness: database error');
    // As /health: no driver message in an answer anyone may read; the log has it.
    return {
      status: 'down',
      detail: result.outcome === 'timeout' ? `no answer within ${this.options.timeoutMs} ms` : 'unreachable',
    };
  }

  /**
   * Compares the migrations table with this build's list. A table missing counts as nothing applied. Rows this
   * build does not know (a newer release migrated first, during a rolling update) do not make it unready: the
   * migrations are written to keep the previous release working.
   */
  private async checkMigrations(deadline: number): Promise<CheckResult> {
    if (this.migrationsApplied) return { status: 'up', pending: 0 };
    const query = pooledQuery(this.options.orm.em.getKnex(), 'select name from mikro_orm_migrations').then(
      (rows) => new Set((rows as { name: string }[]).map((row) => row.name)),
      (error: unknown) => {
        // 42P01: undefined_table, a database nothing has migrated yet.
        if ((error as { code?: string }).code === '42P01') return new Set<string>();
        throw error;
      },
    );
    const result = await withDeadline(query, deadline);
    if (result.outcome !== 'ok') {
      return { status: 'unknown', detail: result.outcome === 'timeout' ? 'no answer in time' : 'cannot be read' };
    }
    const pending = MIGRATION_NAMES.filter((name) => !result.value.has(name));
    if (pending.length === 0) {
      this.migrationsApplied = true;
      return { status: 'up', pending: 0 };
    }
    this.log.debug({ pending }, 'readiness: migrations not applied yet');
    return { status: 'down', pending: pending.length };
  }

  private checkBroker(): CheckResult {
    if (!this.options.brokerConfigured) return { status: 'not_configured', required: false };
    const { liveUpdates, outboxRelay } = this.options.brokerConnections();
    const connections = {
      liveUpdates: liveUpdates === undefined ? 'not_configured' : liveUpdates ? 'up' : 'down',
      outboxRelay: outboxRelay ?? 'not_configured',
    };
    const down = Object.values(connections).includes('down');
    return {
      status: down ? 'down' : 'up',
      // Reported, never deciding: see the class comment and README "Probes and shutdown".
      required: false,
      connections,
      ...(down ? { detail: 'events wait in the outbox and live updates pause until the broker is back' } : {}),
    };
  }

  private checkShutdown(): CheckResult {
    if (!this.shutdownSince) return { status: 'up' };
    return {
      status: 'down',
      detail: 'shutting down: requests are still served until draining starts',
      since: this.shutdownSince.toISOString(),
      ...(this.shutdownSignal ? { signal: this.shutdownSignal } : {}),
    };
  }

  /** One line per change of state, not per probe: the probe runs every few seconds. */
  private logTransition(report: ReadinessReport): void {
    if (report.status === this.lastStatus) return;
    const first = this.lastStatus === undefined;
    this.lastStatus = report.status;
    if (report.status === 'ready') {
      if (!first) this.log.info('ready again');
      return;
    }
    const failing = Object.fromEntries(
      Object.entries(report.checks).filter(([name, check]) => name !== 'broker' && check.status !== 'up'),
    );
    if (this.shuttingDown) this.log.info({ checks: failing }, 'not ready: shutting down');
    else this.log.warn({ checks: failing }, 'not ready');
  }
}
