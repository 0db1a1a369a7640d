import { Field, InputType, Int, ObjectType } from 'type-graphql';
import { GraphQLDate } from 'graphql-scalars';
import { Money } from '../graphql/common-types';
import { LIST_SIZES, listCost } from '../graphql/limits/cost';
import { LoanStatus } from '../loans/loan-status';
import type { StatsFilter } from './stats.service';
import { MAX_DAILY_SPAN_DAYS } from './stats.service';

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

@ObjectType({ description: 'Loans created on one UTC day.' })
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
    description: `One entry per UTC day of the range (of the data when the range is open), zero days included; at most ${MAX_DAILY_SPAN_DAYS} days.`,
  })
  daily!: DailyLoanStats[];
}
