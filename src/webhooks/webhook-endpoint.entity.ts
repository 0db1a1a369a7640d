import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A partner's webhook endpoint (README "Partner webhooks"): the worker POSTs every event of `eventTypes` to
 * `url`, signed with `secret`. The secret is stored AS IS (HMAC signing needs it, a hash would not do): it is
 * never selected unless asked for, never serialised, and shown to the admin once, by createWebhookEndpoint.
 */
@Entity({ tableName: 'webhook_endpoints' })
@Index({ name: 'webhook_endpoints_created_at_id_idx', properties: ['createdAt', 'id'] })
export class WebhookEndpoint {
  [OptionalProps]?: 'createdAt' | 'updatedAt' | 'enabled' | 'description';

  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'text' })
  url!: string;

  /** Event types (`loan.status.approved`...); the endpoint receives these only. */
  @Property({ type: 'text[]', columnType: 'text[]' })
  eventTypes!: string[];

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  /** `whsec_` + 32 random bytes in base64url. Never selected unless asked for. */
  @Property({ type: 'text', lazy: true, hidden: true })
  secret!: string;

  /** A disabled endpoint receives nothing (its log stays). */
  @Property({ type: 'boolean' })
  enabled: boolean = true;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3 })
  updatedAt: Date = new Date();
}
