import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType, MoneyInput, Node, UserError } from '../graphql/common-types';
import { DecimalScalar } from '../graphql/scalars';
import { OrderDirection } from '../common/ordering';
import { IDEMPOTENCY_KEY_DESCRIPTION } from '../idempotency/idempotency-key';
import { LOAN_LIMITS } from './loan-limits';
import { LoanStatus } from './loan-status';
import { LoanOrderField, type LoanFilterData, type LoanOrderData } from './loan.queries';
import type { LoanView } from './loan.view';

registerEnumType(LoanStatus, { name: 'LoanStatus', description: 'Where a loan is in its lifecycle.' });
registerEnumType(LoanOrderField, { name: 'LoanOrderField', description: 'Fields loans can be sorted by.' });

/**
 * The GraphQL view of a loan. Resolvers hand it `LoanView`s (rows, or entities after a mutation); `borrower` and `amount`
 * are resolved by `LoanResolver` (a batched user, and Money from amount + currency).
 */
@ObjectType('Loan', { implements: Node, description: 'A microloan.', simpleResolvers: true })
export class LoanType extends Node {
  @Field(() => LoanStatus)
  status!: LoanStatus;

  @Field(() => Int, {
    nullable: true,
    description: `Term in months, ${LOAN_LIMITS.minTermMonths}..${LOAN_LIMITS.maxTermMonths}.`,
  })
  termMonths!: number | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Annual percentage rate, 0..100, e.g. "28.00".' })
  interestRateApr!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { description: 'Changes whenever the loan changes.' })
  updatedAt!: Date;

  @Field(() => Int, {
    description: 'Increases with every change; pass it as `expectedVersion` for optimistic locking.',
  })
  version!: number;
}

export const LoanConnection = connectionType<LoanView>('Loan', LoanType as never);
export type LoanConnection = InstanceType<typeof LoanConnection>;

@InputType({ description: 'Filters combine with AND.' })
export class LoanFilter implements LoanFilterData {
  @Field(() => [LoanStatus], { nullable: true, description: 'Any of these statuses (an empty list does not filter).' })
  status?: LoanStatus[] | null;

  @Field(() => String, { nullable: true, description: 'ISO 4217 code, case-insensitive.' })
  currency?: string | null;

  @Field(() => ID, { nullable: true })
  borrowerId?: string | null;

  @Field(() => Date, { nullable: true, description: 'Created at or after this instant (inclusive).' })
  createdAfter?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Created before this instant (exclusive).' })
  createdBefore?: Date | null;
}

@InputType()
export class LoanOrder implements LoanOrderData {
  @Field(() => LoanOrderField)
  field!: LoanOrderField;

  @Field(() => OrderDirection)
  direction!: OrderDirection;
}

@InputType({ description: 'A loan application; the loan starts PENDING.' })
export class CreateLoanInput {
  @Field(() => ID, {
    nullable: true,
    description:
      'An existing user. Borrowers may omit it (it is themselves) and may not name anyone else; admins must give it.',
  })
  borrowerId?: string | null;

  @Field(() => MoneyInput, {
    description: `Greater than 0 and at most ${LOAN_LIMITS.maxAmount}, two decimal places at most.`,
  })
  amount!: MoneyInput;

  @Field(() => Int, { nullable: true, description: `${LOAN_LIMITS.minTermMonths}..${LOAN_LIMITS.maxTermMonths}.` })
  termMonths?: number | null;

  @Field(() => DecimalScalar, { nullable: true, description: '0..100, two decimal places at most.' })
  interestRateApr?: string | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "An active loan product (`financingOptions`): the amount's currency, the amount and the term must fit it; `interestRateApr` may be omitted (it is the product's) and must equal the product's if given; `termMonths` omitted is the product's maxTermMonths.",
  })
  productId?: string | null;

  @Field(() => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION })
  idempotencyKey?: string | null;
}

@InputType({ description: 'Names the loan to move through its lifecycle.' })
export class LoanTransitionInput {
  @Field(() => ID)
  loanId!: string;

  @Field(() => Int, { nullable: true, description: 'Refuse (STALE_VERSION) unless the loan is still at this version.' })
  expectedVersion?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Why, kept in the audit trail (`Loan.history`); at most 500 characters.',
  })
  reason?: string | null;
}

@InputType()
export class ApproveLoanInput extends LoanTransitionInput {}
@InputType()
export class RejectLoanInput extends LoanTransitionInput {}
@InputType()
export class DisburseLoanInput extends LoanTransitionInput {}
@InputType()
export class MarkLoanRepaidInput extends LoanTransitionInput {}
@InputType()
export class MarkLoanDefaultedInput extends LoanTransitionInput {}

/** `<Name>Payload { loan, userErrors }`: the changed loan, or why not. */
export function loanPayload(name: string) {
  @ObjectType(name, { simpleResolvers: true })
  class LoanPayload {
    @Field(() => LoanType, { nullable: true })
    loan!: LoanView | null;

    @Field(() => [UserError])
    userErrors!: UserError[];
  }
  return LoanPayload;
}

export const CreateLoanPayload = loanPayload('CreateLoanPayload');
export const ApproveLoanPayload = loanPayload('ApproveLoanPayload');
export const RejectLoanPayload = loanPayload('RejectLoanPayload');
export const DisburseLoanPayload = loanPayload('DisburseLoanPayload');
export const MarkLoanRepaidPayload = loanPayload('MarkLoanRepaidPayload');
export const MarkLoanDefaultedPayload = loanPayload('MarkLoanDefaultedPayload');
