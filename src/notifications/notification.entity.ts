import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { User } from '../users/user.entity';

/** What a notification is about; GraphQL shows the same names (`NotificationKind`). */
export enum NotificationKind {
  LOAN_APPLIED = 'LOAN_APPLIED',
  LOAN_APPROVED = 'LOAN_APPROVED',
  LOAN_REJECTED = 'LOAN_REJECTED',
  LOAN_DISBURSED = 'LOAN_DISBURSED',
  LOAN_REPAID = 'LOAN_REPAID',
  LOAN_DEFAULTED = 'LOAN_DEFAULTED',
  REPAYMENT_RECORDED = 'REPAYMENT_RECORDED',
  REPAYMENT_REVERSED = 'REPAYMENT_REVERSED',
}

/**
 * An in-app notification for a borrower, written by the worker from a domain event (README "Notifications
 * worker"). At most one per (user, event): the unique key backs up the worker's `processed_events` check.
 */
@Entity({ tableName: 'notifications' })
@Unique({ name: 'notifications_user_id_event_id_unique', properties: ['user', 'eventId'] })
@Index({ name: 'notifications_user_id_created_at_id_idx', properties: ['user', 'createdAt', 'id'] })
export class Notification {
  [OptionalProps]?: 'createdAt' | 'readAt' | 'loanId';

  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => User, { fieldName: 'user_id', deleteRule: 'cascade', updateRule: 'cascade' })
  user!: User;

  /** The CloudEvent that caused it. */
  @Property({ type: 'uuid' })
  eventId!: string;

  @Enum({ items: () => NotificationKind })
  kind!: NotificationKind;

  @Property({ type: 'text' })
  title!: string;

  @Property({ type: 'text' })
  message!: string;

  /** The loan it is about (no foreign key: a notification is a record of what was said). */
  @Property({ type: 'uuid', nullable: true })
  loanId: string | null = null;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, nullable: true })
  readAt: Date | null = null;
}
