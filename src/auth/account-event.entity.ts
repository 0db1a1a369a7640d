import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { User } from '../users/user.entity';
import { Role } from '../users/role';

/** What happened to an account's access. Values are what the database stores. */
export enum AccountEventKind {
  /** An admin changed the role (`fromRole` → `toRole`); the user's tokens were revoked with it. */
  ROLE_CHANGED = 'role_changed',
  /** The user changed their password; their other tokens were revoked with it. */
  PASSWORD_CHANGED = 'password_changed',
  /** The user logged out (every token of theirs revoked). */
  LOGGED_OUT = 'logged_out',
  /** An admin revoked every token of the user (`revokeTokens`). */
  TOKENS_REVOKED = 'tokens_revoked',
}

/**
 * The audit trail of access changes, as `loan_events` is for loans: who (`actor`, and their role then)
 * did what to which account, written in the same transaction as the change. Append-only: the database
 * refuses UPDATE, DELETE and TRUNCATE on the table.
 */
@Entity({ tableName: 'account_events' })
@Index({ name: 'account_events_user_id_id_idx', properties: ['user', 'id'] })
@Index({ name: 'account_events_actor_id_idx', properties: ['actor'] })
export class AccountEvent {
  [OptionalProps]?: 'at' | 'actor' | 'actorRole' | 'fromRole' | 'toRole';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  /** The account concerned. */
  @ManyToOne(() => User, { fieldName: 'user_id', deleteRule: 'restrict', updateRule: 'cascade' })
  user!: User;

  @Enum({ items: () => AccountEventKind })
  kind!: AccountEventKind;

  /** Who did it; `null` for the system. */
  @ManyToOne(() => User, { fieldName: 'actor_id', nullable: true, deleteRule: 'restrict', updateRule: 'cascade' })
  actor: User | null = null;

  /** The actor's role when they acted. */
  @Enum({ items: () => Role, nullable: true })
  actorRole: Role | null = null;

  @Enum({ items: () => Role, nullable: true })
  fromRole: Role | null = null;

  @Enum({ items: () => Role, nullable: true })
  toRole: Role | null = null;

  @Property({ type: 'datetime', length: 3 })
  at: Date = new Date();
}
