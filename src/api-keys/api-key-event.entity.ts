import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Role } from '../users/role';
import { User } from '../users/user.entity';
import { ApiKey } from './api-key.entity';

/** What happened to an API key. Values are what the database stores. */
export enum ApiKeyEventKind {
  CREATED = 'created',
  REVOKED = 'revoked',
}

/** Where the action came from: an admin through GraphQL, or an operator's shell (`npm run api-key`). */
export enum ApiKeyEventSource {
  GRAPHQL = 'graphql',
  CLI = 'cli',
}

/**
 * The audit trail of API keys, as `account_events` is for accounts: who (`actor`, and their role then) created
 * or revoked which key, from where, written in the same transaction as the change. Append-only: the database
 * refuses UPDATE, DELETE and TRUNCATE on the table.
 */
@Entity({ tableName: 'api_key_events' })
@Index({ name: 'api_key_events_api_key_id_id_idx', properties: ['apiKey', 'id'] })
@Index({ name: 'api_key_events_actor_id_idx', properties: ['actor'] })
export class ApiKeyEvent {
  [OptionalProps]?: 'at' | 'actor' | 'actorRole';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => ApiKey, { fieldName: 'api_key_id', deleteRule: 'restrict', updateRule: 'cascade' })
  apiKey!: ApiKey;

  @Enum({ items: () => ApiKeyEventKind })
  kind!: ApiKeyEventKind;

  @Enum({ items: () => ApiKeyEventSource })
  source!: ApiKeyEventSource;

  /** The admin who did it; null from the command line (the operator is whoever ran it on the host). */
  @ManyToOne(() => User, { fieldName: 'actor_id', nullable: true, deleteRule: 'restrict', updateRule: 'cascade' })
  actor: User | null = null;

  @Enum({ items: () => Role, nullable: true })
  actorRole: Role | null = null;

  @Property({ type: 'datetime', length: 3 })
  at: Date = new Date();
}
