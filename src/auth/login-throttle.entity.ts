import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One counter of failed log-ins, shared by every replica (README "Log-in throttling"). Written only by
 * the statements of `login-throttle.ts` (single-statement upserts, so concurrent attempts count exactly).
 * - `account:<email>`: consecutive failures of that email (known or not); `blockedUntil` is the end of the
 *   growing delay, or of the lock once `failures` reaches LOGIN_MAX_FAILURES. A success deletes the row.
 * - `ip:<address>`: failures from that client address in the fixed window starting at `windowStartedAt`.
 */
@Entity({ tableName: 'login_throttles' })
@Index({ name: 'login_throttles_updated_at_idx', properties: ['updatedAt'] })
export class LoginThrottle {
  @PrimaryKey({ type: 'string', length: 300 })
  key!: string;

  @Property({ type: 'integer' })
  failures!: number;

  @Property({ type: 'datetime', length: 3 })
  windowStartedAt!: Date;

  @Property({ type: 'datetime', length: 3, nullable: true })
  blockedUntil: Date | null = null;

  /**
   * Whether the latest attempt was let through. The upsert decides on the old row but RETURNING shows only
   * the new one, so the decision is written into the row for RETURNING to read.
   */
  @Property({ type: 'boolean' })
  lastAllowed!: boolean;

  @Property({ type: 'datetime', length: 3 })
  updatedAt!: Date;
}
