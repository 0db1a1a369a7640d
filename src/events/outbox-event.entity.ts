import { Entity, Index, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { CloudEvent } from './envelope';

/** What "not yet published" is, as the partial index states it (the relay's query must repeat it). */
export const UNPUBLISHED_SQL = 'published_at is null';

/**
 * The transactional outbox (docs/events.md): one row per domain event, written by `recordEvent` in the
 * transaction of the change it describes, published to RabbitMQ by the relay (src/events/relay.ts), which sets
 * `published_at` once the broker confirmed it. `sequence` is the publication order. An AFTER INSERT trigger
 * (migration 20261203190000) sends NOTIFY outbox_events, delivered at commit, to wake the relay.
 * Published rows are kept (an audit of what left; a purge job can delete old ones).
 */
@Entity({ tableName: 'outbox_events' })
@Index({
  name: 'outbox_events_unpublished_idx',
  expression: `create index "outbox_events_unpublished_idx" on "outbox_events" ("sequence") where ${UNPUBLISHED_SQL}`,
})
@Index({ name: 'outbox_events_subject_sequence_idx', properties: ['subject', 'sequence'] })
export class OutboxEvent {
  [OptionalProps]?: 'sequence' | 'publishedAt' | 'attempts' | 'lastError';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  sequence!: string;

  /** The CloudEvent's id. */
  @Unique({ name: 'outbox_events_id_unique' })
  @Property({ type: 'uuid' })
  id!: string;

  @Property({ type: 'string', length: 100 })
  type!: string;

  @Property({ type: 'string', length: 255 })
  subject!: string;

  @Property({ type: 'datetime', length: 3 })
  time!: Date;

  /** The whole CloudEvent, exactly as it is published. */
  @Property({ type: 'json', columnType: 'jsonb' })
  payload!: CloudEvent;

  @Property({ type: 'datetime', length: 3, nullable: true })
  publishedAt: Date | null = null;

  /** Failed publication attempts (the broker refused, or did not confirm). */
  @Property({ type: 'integer', default: 0 })
  attempts: number = 0;

  @Property({ type: 'text', nullable: true })
  lastError: string | null = null;
}
