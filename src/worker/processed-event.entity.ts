import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * The events a consumer of the worker has processed (README "Notifications worker"): delivery from RabbitMQ is
 * at-least-once, so each consumer writes this row in the same transaction as its own writes, and a redelivered
 * event whose row exists changes nothing.
 */
@Entity({ tableName: 'processed_events' })
export class ProcessedEvent {
  /** `notifications` or `webhooks`. */
  @PrimaryKey({ type: 'string', length: 64 })
  consumer!: string;

  /** The CloudEvent `id`. */
  @PrimaryKey({ type: 'uuid' })
  eventId!: string;

  @Property({ type: 'datetime', length: 3 })
  processedAt: Date = new Date();
}
