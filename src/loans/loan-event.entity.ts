import { Check, Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { User } from '../users/user.entity';
import { Role } from '../users/role';
import { Loan } from './loan.entity';
import { LoanStatus } from './loan-status';

export const LOAN_EVENT_REASON_MAX = 500;

/**
 * One entry of a loan's audit trail: its creation (`fromStatus` null) or a status change. Written in the
 * same transaction as the change; the database refuses UPDATE, DELETE and TRUNCATE on the table.
 */
@Entity({ tableName: 'loan_events' })
@Index({ name: 'loan_events_loan_id_id_idx', properties: ['loan', 'id'] })
@Index({ name: 'loan_events_actor_id_idx', properties: ['actor'] })
@Check({
  name: 'loan_events_reason_length',
  expression: `reason is null or char_length(reason) <= ${LOAN_EVENT_REASON_MAX}`,
})
export class LoanEvent {
  [OptionalProps]?: 'at' | 'reason' | 'actor' | 'actorRole' | 'fromStatus';

  /** Insertion order: a loan's history sorts by it. */
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => Loan, { fieldName: 'loan_id', deleteRule: 'restrict', updateRule: 'restrict' })
  loan!: Loan;

  @Enum({ items: () => LoanStatus, nullable: true })
  fromStatus: LoanStatus | null = null;

  @Enum({ items: () => LoanStatus })
  toStatus!: LoanStatus;

  /** Who did it; `null` for the open legacy REST API and the system (seed, backfill). */
  @ManyToOne(() => User, { fieldName: 'actor_id', nullable: true, deleteRule: 'restrict', updateRule: 'cascade' })
  actor: User | null = null;

  /** The actor's role when they acted (roles change; the trail must not). */
  @Enum({ items: () => Role, nullable: true })
  actorRole: Role | null = null;

  @Property({ type: 'datetime', length: 3 })
  at: Date = new Date();

  @Property({ type: 'text', nullable: true })
  reason: string | null = null;
}
