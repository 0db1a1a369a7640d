import { GraphQLDate } from 'graphql-scalars';
import { Field, Int, ObjectType } from 'type-graphql';
import { Money } from '../graphql/common-types';
import { LIST_SIZES, listCost } from '../graphql/limits/cost';

@ObjectType('NextPayment', { description: 'The oldest installment still owed.', simpleResolvers: true })
export class NextPaymentType {
  @Field(() => GraphQLDate, { description: 'Its due date (UTC calendar date); may be past (overdue).' })
  dueDate!: string;

  @Field(() => Money, { description: 'What is left of it to pay.' })
  amount!: Money;
}

@ObjectType('BorrowerDashboard', {
  description:
    "A borrower's own figures, over their DISBURSED loans. Money is one amount per currency, never added across currencies (a borrower may owe in several): a list with one entry per currency owed, sorted by currency code.",
  simpleResolvers: true,
})
export class BorrowerDashboardType {
  @Field(() => Int, { description: 'Your DISBURSED loans (with or without a repayment schedule).' })
  activeLoans!: number;

  @Field(() => [Money], {
    description:
      'What those loans still owe over their schedules (principal, interest and fees), one entry per currency; empty when nothing is owed.',
    complexity: listCost(LIST_SIZES.currencies),
  })
  totalOutstanding!: Money[];

  @Field(() => NextPaymentType, {
    nullable: true,
    description:
      'The installment not fully paid with the earliest due date, over all those loans (overdue ones included; on a tie, the currency first by code, then the loan applied for first); null when nothing is owed.',
  })
  nextPayment!: NextPaymentType | null;

  @Field(() => [Money], {
    description:
      'What is left of the installments due before today (UTC), one entry per currency with something overdue; empty when nothing is.',
    complexity: listCost(LIST_SIZES.currencies),
  })
  overdueAmount!: Money[];
}
