import { Field, InputType, Int, ObjectType } from 'type-graphql';
import { GraphQLDate } from 'graphql-scalars';
import { Money } from '../graphql/common-types';
import { LIST_SIZES, listCost } from '../graphql/limits/cost';
import { LoanStatus } from '../loans/loan-status';
import type { StatsFilter } from './stats.service';
import { MAX_DAILY_SPAN_DAYS, PAR_DAYS } from './stats.service';
import { DecimalScalar } from '../graphql/scalars';

@InputType({ description: 'Which loans the statistics cover; filters combine with AND.' })
export class LoanStatsFilter implements StatsFilter {
  @Field(() => Date, { nullable: true, description: 'Created at or after this instant (inclusive).' })
  createdAfter?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Created before this instant (exclusive).' })
  createdBefore?: Date | null;

  @Field(() => String, { nullable: true, description: 'ISO 4217 code, case-insensitive.' })
  currency?: string | null;
}

@ObjectType()
export class LoanStatusCount {
  @Field(() => LoanStatus)
  status!: LoanStatus;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: 'Figures for one currency: money is never added across currencies.' })
export class CurrencyLoanStats {
  @Field(() => String)
  currencyCode!: string;

  @Field(() => Int)
  count!: number;

  @Field(() => Money)
  totalAmount!: Money;

  @Field(() => Money, { description: 'Rounded to 2 decimal places (half away from zero) by PostgreSQL.' })
  averageAmount!: Money;
}

@ObjectType({ description: 'Loans created, and repayments collected, on one UTC day.' })
export class DailyLoanStats {
  @Field(() => GraphQLDate, { description: 'UTC day, YYYY-MM-DD.' })
  date!: string;

  @Field(() => Int)
  count!: number;

  @Field(() => [Money], {
    description: 'One total per currency lent that day (empty on a day without loans).',
    complexity: listCost(LIST_SIZES.currencies),
  })
  totals!: Money[];

  @Field(() => [Money], {
    description:
      "Repayments paid that UTC day (by `paidAt`), reversed ones excluded, one amount per currency (empty on a day without). The filter's createdAfter/createdBefore bound `paidAt` here, and its currency applies.",
    complexity: listCost(LIST_SIZES.currencies),
  })
  collected!: Money[];
}

@ObjectType({
  description: `The portfolio in one currency now, as of today (UTC, the server's clock). PAR${PAR_DAYS}: the outstanding principal of the DISBURSED loans more than ${PAR_DAYS} days past due (their oldest unpaid installment's due date is before today - ${PAR_DAYS} days), all of it, not only the overdue installments.`,
})
export class CurrencyPortfolio {
  @Field(() => String)
  currencyCode!: string;

  @Field(() => Money, {
    description:
      "What DISBURSED loans with a schedule still owe in principal (their installments' principal not yet paid).",
  })
  outstandingPrincipal!: Money;

  @Field(() => Money, {
    description:
      'Every repayment recorded in this currency and not reversed (principal, interest and fees), whatever the loan.',
  })
  collected!: Money;

  @Field(() => Money, { description: `Portfolio at risk over ${PAR_DAYS} days: see the type.` })
  par30!: Money;

  @Field(() => DecimalScalar, {
    nullable: true,
    description: `par30 as a percent of outstandingPrincipal, 2 decimals, rounded half away from zero ("12.50" is 12.5%); null when nothing is outstanding.`,
  })
  par30Share!: string | null;
}

@ObjectType({ description: 'Aggregates over the loans the filter selects.' })
export class LoanStats {
  /** Carried to the `daily` field resolver, which runs its query only when selected. */
  filter!: StatsFilter;

  @Field(() => Int)
  totalLoans!: number;

  @Field(() => [LoanStatusCount], {
    description: 'Statuses without loans are absent.',
    complexity: listCost(LIST_SIZES.statuses),
  })
  byStatus!: LoanStatusCount[];

  @Field(() => [CurrencyLoanStats], {
    description: 'Sorted by currency code.',
    complexity: listCost(LIST_SIZES.currencies),
  })
  byCurrency!: CurrencyLoanStats[];

  @Field(() => [DailyLoanStats], {
    description: `One entry per UTC day of the range (of the data, loans and repayments, when the range is open), zero days included; at most ${MAX_DAILY_SPAN_DAYS} days.`,
  })
  daily!: DailyLoanStats[];

  @Field(() => [CurrencyPortfolio], {
    description:
      "Per currency with something outstanding or collected, sorted by currency code: the portfolio NOW (outstanding principal, amounts collected, PAR30). The filter's currency applies, its createdAfter/createdBefore do not. From rollups and the unpaid installments: never a scan of the loans.",
  })
  portfolio!: CurrencyPortfolio[];
}
