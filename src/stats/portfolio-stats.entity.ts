import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Per currency: the outstanding principal of the DISBURSED loans and the amount collected (repayments not
 * reversed). PostgreSQL keeps it in the same transaction as every write to `loans`, `loan_installments` and
 * `repayments` (the triggers of migrations/Migration20261203180000PortfolioRollup.ts); the application only
 * reads it (read-only entity: a flush never writes it). A row that fell back to zero may stay: readers skip it.
 */
@Entity({ tableName: 'portfolio_totals', readonly: true })
export class PortfolioTotal {
  @PrimaryKey({ type: 'string', length: 3, columnType: 'char(3)' })
  currency!: string;

  /** The exact sum (unbounded numeric), as a string. */
  @Property({ type: 'decimal', columnType: 'numeric', default: 0 })
  outstandingPrincipal!: string;

  /** The exact sum (unbounded numeric), as a string. */
  @Property({ type: 'decimal', columnType: 'numeric', default: 0 })
  collected!: string;
}

/**
 * The amount collected per (UTC day of `paid_at`, currency), repayments not reversed; kept like
 * `PortfolioTotal`, read-only here. The primary key serves day ranges; (currency, day) a currency's.
 */
@Entity({ tableName: 'repayment_daily_stats', readonly: true })
@Index({ name: 'repayment_daily_stats_currency_day_idx', properties: ['currency', 'day'] })
export class RepaymentDailyStats {
  /** YYYY-MM-DD. */
  @PrimaryKey({ type: 'date' })
  day!: string;

  @PrimaryKey({ type: 'string', length: 3, columnType: 'char(3)' })
  currency!: string;

  /** The exact sum (unbounded numeric), as a string. */
  @Property({ type: 'decimal', columnType: 'numeric' })
  collected!: string;
}
