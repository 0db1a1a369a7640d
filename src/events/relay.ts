import type { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import type { AppConfig } from '../config/config';
import type { Logger } from '../logging/logger';
import {
  createEventsPublisherChannel,
  openAmqpConnection,
  type AmqpConnectionManager,
  type ChannelWrapper,
} from '../messaging/amqp';
import { CLOUDEVENTS_CONTENT_TYPE, EVENTS_EXCHANGE } from './catalog';
import type { CloudEvent } from './envelope';
import { UNPUBLISHED_SQL } from './outbox-event.entity';

export interface OutboxRelayOptions {
  /**
   * The database of the outbox (the relay holds one connection of its own, outside the pool): straight to
   * PostgreSQL, never through a transaction pooler, which would drop the session lock's and LISTEN's session.
   */
  databaseUrl: string;
  amqpUrl: string;
  exchange?: string;
  batchSize: number;
  /** Fallback poll while leading, and how often a follower tries to become the leader. */
  pollIntervalMs: number;
  logger: Logger;
  /** A message without a confirm after this long counts as failed (retried). Default 30 s. */
  publishTimeoutMs?: number;
  /** Longest wait between retries after broker or database trouble. Default 10 s. */
  maxBackoffMs?: number;
}

interface OutboxRow {
  sequence: string;
  id: string;
  type: string;
  subject: string;
  payload: CloudEvent;
}

/**
 * The one lock that makes a relay the leader. Per database: replicas sharing a database share it.
 * A single 64-bit key (`hashtext` of a fixed name, 779121376), not the migrator's nor the first admin's fixed
 * keys; per-user locks take the two-key form, whose key space is separate, so no user id can collide with it.
 */
const LEADER_LOCK_SQL = `select pg_try_advisory_lock(hashtext('branchloans.outbox_relay')) as locked`;
const NOTIFY_CHANNEL = 'outbox_events';

/**
 * Publishes the transactional outbox (`outbox_events`) to RabbitMQ (docs/events.md).
 *
 * Leader election: a session-level `pg_try_advisory_lock` on a connection of its own. Exactly one replica holds
 * it; the others retry every poll interval. The lock lives as long as the session, so when the leader's process
 * or connection dies PostgreSQL releases it and another replica takes over, and a relay whose connection fails
 * stops at once and tries to become leader again. (`FOR UPDATE SKIP LOCKED` with several active relays would
 * let two of them publish two events of one loan concurrently, out of order; a single leader keeps order
 * without coordinating.)
 *
 * Order: rows are read in `sequence` order; `recordEvent` draws a loan's sequence while holding the loan's
 * row lock, so a loan's events are in sequence order and each is visible before the next one exists. A batch
 * is published in "waves" holding at most one event per subject: a wave is published concurrently on a confirm
 * channel, and the next wave starts only when every message of this one is confirmed. Events of different
 * subjects may overtake each other; events of one subject never do, even if the connection drops mid-wave
 * (amqp-connection-manager re-sends unconfirmed messages after the queued ones).
 *
 * Delivery: `published_at` is set only after the broker's confirm. If a message fails (nack, timeout, broker
 * gone), the confirmed ones of its wave are marked, the round stops (no later event of that subject is sent
 * before it), `attempts`/`last_error` are updated, and the relay retries with exponential back-off, cut short
 * when the AMQP connection comes back. At-least-once: a message the broker received but whose confirm was lost
 * (connection cut in flight, or the process dying between confirm and mark) is published again; consumers
 * deduplicate by the event id.
 *
 * Wake-ups: LISTEN outbox_events (the insert trigger notifies at commit), with the poll interval as fallback.
 */
export class OutboxRelay {
  private readonly log: Logger;
  private readonly exchange: string;
  private readonly publishTimeoutMs: number;
  private readonly maxBackoffMs: number;
  private client: Client | null = null;
  private leader = false;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private amqp: AmqpConnectionManager | null = null;
  private channel: ChannelWrapper | null = null;
  private published = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.log = options.logger.child({ component: 'outbox-relay' });
    this.exchange = options.exchange ?? EVENTS_EXCHANGE;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 30_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
  }

  /** True while this relay holds the leader lock. */
  get isLeader(): boolean {
    return this.leader;
  }

  /**
   * The relay's own AMQP connection, for `/health/ready`: `standby` until this replica first becomes the leader
   * (only the leader connects to the broker), then whether that connection is up right now.
   */
  get brokerConnection(): 'up' | 'down' | 'standby' {
    if (!this.amqp) return 'standby';
    return this.amqp.isConnected() ? 'up' : 'down';
  }

  /** Events this relay published (confirmed and marked) since it started. */
  get publishedCount(): number {
    return this.published;
  }

  start(): void {
    this.loop ??= this.run().catch((error: unknown) => {
      this.log.error({ err: error }, 'outbox relay stopped unexpectedly');
    });
  }

  /**
   * Stops after the current wave (waiting for its confirms up to 5 s, so that what was sent is marked), then
   * closes the AMQP connection and its database session (which releases the leader lock).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    if (this.loop) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.loop, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
    }
    // Rejects what still waits for a broker that is away, so that the loop can end.
    await this.channel?.close().catch(() => undefined);
    await this.amqp?.close().catch(() => undefined);
    await this.loop;
    await this.dropDatabase();
  }

  private async run(): Promise<void> {
    let backoffMs = 0;
    while (!this.stopping) {
      try {
        if (!this.leader) {
          if (!(await this.tryToLead())) {
            await this.sleep(this.options.pollIntervalMs);
            continue;
          }
          backoffMs = 0;
        }
        const outcome = await this.drain();
        if (outcome === 'failed') {
          backoffMs = Math.min(this.maxBackoffMs, backoffMs === 0 ? 250 : backoffMs * 2);
          await this.sleep(backoffMs);
        } else {
          backoffMs = 0;
          await this.sleep(this.options.pollIntervalMs);
        }
      } catch (error) {
        // The database: the session (and with it the lock) is gone or unusable. Start again as a follower.
        if (!this.stopping) this.log.warn({ err: error }, 'outbox relay lost its database session: retrying');
        await this.dropDatabase();
        backoffMs = Math.min(this.maxBackoffMs, backoffMs === 0 ? 250 : backoffMs * 2);
        await this.sleep(Math.max(backoffMs, this.options.pollIntervalMs));
      }
    }
  }

  /** Connects (if needed) and takes the leader lock if it is free. */
  private async tryToLead(): Promise<boolean> {
    if (!this.client) {
      const client = new Client({
        connectionString: this.options.databaseUrl,
        application_name: 'branchloans-outbox-relay',
        keepAlive: true,
        // A database host that does not answer must not hold stop() (and the process's shutdown) for the OS's
        // TCP connect timeout: the loop gives up this attempt, sees `stopping` and ends.
        connectionTimeoutMillis: 10_000,
        statement_timeout: 30_000,
        query_timeout: 35_000,
      });
      client.on('error', (error) => {
        if (this.client === client) {
          if (!this.stopping) this.log.warn({ err: error }, 'outbox relay database connection failed');
          this.client = null;
          this.leader = false;
          client.end().catch(() => undefined);
          this.wake();
        }
      });
      client.on('notification', () => this.wake());
      await client.connect();
      this.client = client;
    }
    const result = await this.client.query<{ locked: boolean }>(LEADER_LOCK_SQL);
    if (!result.rows[0]?.locked) return false;
    await this.client.query(`listen ${NOTIFY_CHANNEL}`);
    this.leader = true;
    this.log.info('this process is now the outbox relay (leader lock taken)');
    this.ensureBroker();
    return true;
  }

  private ensureBroker(): void {
    if (this.amqp) return;
    this.amqp = openAmqpConnection(this.options.amqpUrl, this.log, { name: 'outbox-relay' });
    // A broker that comes back ends the back-off at once.
    this.amqp.on('connect', () => this.wake());
    this.channel = createEventsPublisherChannel(this.amqp, {
      name: 'outbox-relay',
      exchange: this.exchange,
      publishTimeoutMs: this.publishTimeoutMs,
    });
    this.channel.on('error', (error: unknown) => this.log.warn({ err: error }, 'outbox relay channel error'));
  }

  /** Publishes batches until the outbox is empty ('idle') or a publish fails ('failed'). */
  private async drain(): Promise<'idle' | 'failed'> {
    while (!this.stopping && this.leader) {
      const client = this.client;
      if (!client) throw new Error('no database session');
      const started = Date.now();
      const { rows } = await client.query<OutboxRow>(
        `select sequence::text as sequence, id, type, subject, payload from outbox_events
         where ${UNPUBLISHED_SQL} order by outbox_events.sequence limit $1`,
        [this.options.batchSize],
      );
      if (rows.length === 0) return 'idle';
      let published = 0;
      for (const wave of wavesOf(rows)) {
        const results = await Promise.allSettled(wave.map((row) => this.publish(row)));
        const confirmed = wave.filter((_, i) => results[i].status === 'fulfilled');
        if (confirmed.length > 0) {
          await client.query(
            `update outbox_events set published_at = now() where sequence = any($1::bigint[]) and ${UNPUBLISHED_SQL}`,
            [confirmed.map((row) => row.sequence)],
          );
          published += confirmed.length;
          this.published += confirmed.length;
        }
        const failed = wave.filter((_, i) => results[i].status === 'rejected');
        if (failed.length > 0) {
          const reason = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as unknown;
          const message = reason instanceof Error ? reason.message : String(reason);
          await client.query(
            `update outbox_events set attempts = attempts + 1, last_error = $2 where sequence = any($1::bigint[])`,
            [failed.map((row) => row.sequence), message.slice(0, 1000)],
          );
          this.log.warn(
            { failed: failed.length, published, firstFailedSequence: failed[0].sequence, reason: message },
            'RabbitMQ did not confirm outbox events: retrying with back-off',
          );
          return 'failed';
        }
        if (this.stopping) break;
      }
      this.log.debug(
        {
          published,
          fromSequence: rows[0].sequence,
          toSequence: rows[rows.length - 1].sequence,
          ms: Date.now() - started,
        },
        'outbox batch published',
      );
      if (rows.length < this.options.batchSize) return 'idle';
    }
    return 'idle';
  }

  private async publish(row: OutboxRow): Promise<void> {
    const channel = this.channel;
    if (!channel) throw new Error('no AMQP channel');
    const event = inContractOrder(row.payload);
    await channel.publish(this.exchange, row.type, Buffer.from(JSON.stringify(event)), {
      persistent: true,
      contentType: CLOUDEVENTS_CONTENT_TYPE,
      messageId: row.id,
      type: row.type,
      timestamp: Math.floor(Date.parse(event.time) / 1000),
    });
  }

  private async dropDatabase(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (this.leader) this.log.info('this process is no longer the outbox relay');
    this.leader = false;
    await client?.end().catch(() => undefined);
  }

  private wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Waits `ms`, or less if woken (a NOTIFY, the broker back, stop()). */
  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopping) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}

/**
 * Splits rows (in sequence order) into waves with at most one row per subject: the k-th event of each subject
 * goes to wave k. Publishing wave after wave keeps each subject's order while a wave is sent in parallel.
 */
export function wavesOf<T extends { subject: string }>(rows: T[]): T[][] {
  const waves: T[][] = [];
  const seen = new Map<string, number>();
  for (const row of rows) {
    const k = seen.get(row.subject) ?? 0;
    seen.set(row.subject, k + 1);
    (waves[k] ??= []).push(row);
  }
  return waves;
}

/** jsonb keeps keys in its own order; the message shows the CloudEvent's attributes in the contract's order. */
function inContractOrder(event: CloudEvent): CloudEvent {
  return {
    specversion: event.specversion,
    id: event.id,
    source: event.source,
    type: event.type,
    subject: event.subject,
    time: event.time,
    datacontenttype: event.datacontenttype,
    dataschema: event.dataschema,
    data: event.data,
  };
}

/** The line an app without AMQP_URL logs once at start (README "Events"). */
export const NO_AMQP_MESSAGE =
  'AMQP_URL is not set: domain events stay in the outbox (outbox_events) and nothing is published';

/** Starts the relay when AMQP_URL is set (createApp); without it, says once that events stay in the outbox. */
export function startOutboxRelay(
  config: Pick<AppConfig, 'amqp' | 'outbox' | 'databaseDirectUrl'>,
  orm: MikroORM,
  logger: Logger,
): OutboxRelay | undefined {
  if (!config.amqp.url) {
    logger.info(NO_AMQP_MESSAGE);
    return undefined;
  }
  // DATABASE_DIRECT_URL: the leader lock and LISTEN live as long as the session (docs/deployment.md "PgBouncer").
  const databaseUrl = config.databaseDirectUrl ?? orm.config.get('clientUrl');
  if (!databaseUrl) throw new Error('the outbox relay needs the database URL');
  const relay = new OutboxRelay({
    databaseUrl,
    amqpUrl: config.amqp.url,
    exchange: config.amqp.exchange,
    batchSize: config.outbox.batchSize,
    pollIntervalMs: config.outbox.pollIntervalMs,
    logger,
  });
  relay.start();
  return relay;
}
