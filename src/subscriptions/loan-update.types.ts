import { Field, ID, ObjectType } from 'type-graphql';
import { LoanType } from '../loans/loan.types';
import type { LoanView } from '../loans/loan.view';

/** What a subscriber receives: the change, and the loan as it is when the change is delivered. */
export interface LoanUpdateView {
  eventId: string;
  eventType: string;
  occurredAt: Date;
  loan: LoanView;
}

@ObjectType('LoanUpdate', {
  description: 'A change to a loan, delivered live (subscriptions `loanUpdated` and `myLoanUpdates`).',
  simpleResolvers: true,
})
export class LoanUpdate {
  @Field(() => ID, { description: 'The event id (CloudEvents `id`): unique per change; a client may drop repeats.' })
  eventId!: string;

  @Field(() => String, {
    description:
      'What happened: the event type, also its routing key (`loan.applied`, `loan.status.approved`, `repayment.recorded`...; docs/events.md).',
  })
  eventType!: string;

  @Field(() => Date, { description: 'When it happened (the event time).' })
  occurredAt!: Date;

  @Field(() => LoanType, {
    description:
      'The loan as it is now, read when the update is delivered, with the same fields and rules as `loan(id:)`.',
  })
  loan!: LoanView;
}
