import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { LoanStatus } from '../loans/loan-status';

/**
 * Loans created on one UTC day, per status and currency. PostgreSQL keeps this rollup in the same
 * transaction as every write to `loans` (the triggers of migrations/Migration20261203120000LoanStatsRollup.ts);
 * the application only reads it, so the entity is read-only (a flush never writes it). A row whose count
 * fell back to 0 may stay: readers ignore it. The primary key (day, status, currency) serves day ranges;
 * (currency, day) serves a currency's day range.
 */
@Entity({ tableName: 'loan_daily_stats', readonly: true })
@Index({ name: 'loan_daily_stats_currency_day_idx', properties: ['currency', 'day'] })
export class LoanDailyStats {
  /** The UTC day of the loans' `created_at`, YYYY-MM-DD. */
  @PrimaryKey({ type: 'date' })
  day!: string;

  @Enum({ items: () => LoanStatus, primary: true })
  status!: LoanStatus;

  @PrimaryKey({ type: 'string', length: 3, columnType: 'char(3)' })
  currency!: string;

  /** bigint, as a string. */
  @Property({ type: 'bigint' })
  loanCount!: string;

  /** The exact sum of the amounts (unbounded numeric), as a string. */
  @Property({ type: 'decimal', columnType: 'numeric' })
  totalAmount!: string;
}
