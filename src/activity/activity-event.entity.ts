import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { User } from '../users/user.entity';

/** What the analytics count. Values are what the database stores; GraphQL does not expose them directly. */
export enum ActivityKind {
  LOG_IN = 'log_in',
  LOAN_APPLICATION = 'loan_application',
}

/** One user activity (FinApp's analytics service): a log-in, or a loan application. Append-only. */
@Entity({ tableName: 'activity_events' })
@Index({ name: 'activity_events_at_idx', properties: ['at'] })
@Index({ name: 'activity_events_user_id_at_idx', properties: ['user', 'at'] })
export class ActivityEvent {
  [OptionalProps]?: 'at';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => User, { fieldName: 'user_id', deleteRule: 'cascade', updateRule: 'cascade' })
  user!: User;

  @Enum({ items: () => ActivityKind })
  kind!: ActivityKind;

  @Property({ type: 'datetime', length: 3 })
  at: Date = new Date();
}
