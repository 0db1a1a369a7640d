import { GraphQLDate } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType, Money, MoneyInput, UserError } from '../graphql/common-types';
import { LoanType } from '../loans/loan.types';
import type { LoanView } from '../loans/loan.view';
import { InstallmentState } from './allocation';
import { REPAYMENT_REFERENCE_MAX, REVERSAL_REASON_MAX } from './repayment.entity';
import type { RepaymentView } from './repayment.queries';

registerEnumType(InstallmentState, {
  name: 'InstallmentState',
  description:
    'PAID: nothing owed. OVERDUE: something owed and the due date is before today (UTC). PARTIAL: something paid, not all, not yet overdue. DUE: nothing paid yet, not yet overdue.',
});

@ObjectType('Installment', { description: "One installment of a loan's repayment schedule.", simpleResolvers: true })
export class InstallmentType {
  @Field(() => Int, { description: '1 for the first.' })
  number!: number;

  @Field(() => GraphQLDate, { description: 'UTC calendar date, YYYY-MM-DD.' })
  dueDate!: string;

  @Field(() => Money)
  principal!: Money;

  @Field(() => Money)
  interest!: Money;

  @Field(() => Money, { description: 'The origination fee (first installment only), else zero.' })
  fee!: Money;

  @Field(() => Money, { description: 'principal + interest + fee.' })
  total!: Money;

  @Field(() => Money, { description: 'What repayments have allocated to it so far (reversals taken back).' })
  paid!: Money;

  @Field(() => InstallmentState, { description: 'Computed when read, against today (UTC).' })
  state!: InstallmentState;
}

@ObjectType('AmountBreakdown', {
  description: 'An amount split into principal, interest and fees.',
  simpleResolvers: true,
})
export class AmountBreakdownType {
  @Field(() => Money)
  principal!: Money;

  @Field(() => Money)
  interest!: Money;

  @Field(() => Money)
  fees!: Money;

  @Field(() => Money)
  total!: Money;
}

/** `amount` and `allocated` are resolved by `RepaymentResolver` from the stored columns. */
@ObjectType('Repayment', { description: 'A payment recorded against a disbursed loan.', simpleResolvers: true })
export class RepaymentType {
  @Field(() => ID)
  id!: string;

  @Field(() => Date, { description: 'When the borrower paid.' })
  paidAt!: Date;

  @Field(() => String, { description: 'The payment reference, unique per loan.' })
  reference!: string;

  @Field(() => Date, { description: 'When it was recorded; allocation follows this order.' })
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'Set once reversed: what it allocated was taken back.' })
  reversedAt!: Date | null;

  @Field(() => String, { nullable: true })
  reversalReason!: string | null;
}

export const RepaymentConnection = connectionType<RepaymentView>('Repayment', RepaymentType as never);
export type RepaymentConnection = InstanceType<typeof RepaymentConnection>;

@InputType({ description: 'A payment to record against a DISBURSED loan with a schedule.' })
export class RecordRepaymentInput {
  @Field(() => ID)
  loanId!: string;

  @Field(() => MoneyInput, {
    description: "Greater than 0, in the loan's currency, at most its minor units, at most what is outstanding.",
  })
  amount!: MoneyInput;

  @Field(() => Date, { nullable: true, description: 'When the borrower paid; not in the future. Default: now.' })
  paidAt?: Date | null;

  @Field(() => String, {
    description: `The payment's reference (receipt, transaction id), 1..${REPAYMENT_REFERENCE_MAX} characters, unique per loan: a retry with the same reference and amount answers the first repayment and records nothing.`,
  })
  reference!: string;
}

@InputType({ description: 'Takes back a repayment recorded by mistake.' })
export class ReverseRepaymentInput {
  @Field(() => ID)
  repaymentId!: string;

  @Field(() => String, { description: `Why, kept with the repayment; 1..${REVERSAL_REASON_MAX} characters.` })
  reason!: string;
}

function repaymentPayload(name: string) {
  @ObjectType(name, { simpleResolvers: true })
  class RepaymentPayload {
    @Field(() => RepaymentType, { nullable: true })
    repayment!: RepaymentView | null;

    @Field(() => LoanType, { nullable: true, description: 'The loan after the change (its balances and status).' })
    loan!: LoanView | null;

    @Field(() => [UserError])
    userErrors!: UserError[];
  }
  return RepaymentPayload;
}

export const RecordRepaymentPayload = repaymentPayload('RecordRepaymentPayload');
export const ReverseRepaymentPayload = repaymentPayload('ReverseRepaymentPayload');
