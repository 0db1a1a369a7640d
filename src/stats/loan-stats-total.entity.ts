import { Entity, Enum, PrimaryKey, Property } from '@mikro-orm/core';
import { LoanStatus } from '../loans/loan-status';

/**
 * Every loan per status and currency, whatever its day: the few rows an unfiltered summary reads.
 * Kept by PostgreSQL like `LoanDailyStats` (same triggers, same transaction); read-only here.
 */
@Entity({ tableName: 'loan_stats_totals', readonly: true })
export class LoanStatsTotal {
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
