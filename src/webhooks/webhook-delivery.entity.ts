import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { WebhookEndpoint } from './webhook-endpoint.entity';

/**
 * One attempt to deliver one event to one endpoint: the delivery log an admin reads (`webhookDeliveries`).
 * At most one successful attempt per (endpoint, event): a partial unique index (migration) enforces it, and the
 * worker never POSTs an event again to an endpoint that has one.
 */
@Entity({ tableName: 'webhook_deliveries' })
@Index({ name: 'webhook_deliveries_endpoint_id_id_idx', properties: ['endpoint', 'id'] })
@Unique({
  name: 'webhook_deliveries_one_success',
  expression: `create unique index "webhook_deliveries_one_success" on "webhook_deliveries" ("endpoint_id", "event_id") where succeeded`,
})
export class WebhookDelivery {
  [OptionalProps]?: 'at' | 'statusCode' | 'error';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => WebhookEndpoint, { fieldName: 'endpoint_id', deleteRule: 'cascade', updateRule: 'cascade' })
  endpoint!: WebhookEndpoint;

  @Property({ type: 'uuid' })
  eventId!: string;

  @Property({ type: 'text' })
  eventType!: string;

  /** The delivery attempt of the worker's message (1 for the first). */
  @Property({ type: 'integer' })
  attempt!: number;

  /** The receiver's HTTP status; null when no answer came (timeout, refused connection...). */
  @Property({ type: 'integer', nullable: true })
  statusCode: number | null = null;

  @Property({ type: 'integer' })
  durationMs!: number;

  /** Why it failed (never the receiver's body); null on success. */
  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  /** True for a 2xx answer. */
  @Property({ type: 'boolean' })
  succeeded!: boolean;

  @Property({ type: 'datetime', length: 3 })
  at: Date = new Date();
}
