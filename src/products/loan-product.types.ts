import { IDEMPOTENCY_KEY_DESCRIPTION } from '../idempotency/idempotency-key';
import { GraphQLDate } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType, Money, MoneyInput, Node, UserError } from '../graphql/common-types';
import { DecimalScalar } from '../graphql/scalars';
import { FeeKind, InterestMethod, RepaymentFrequency } from './loan-product.enums';
import type { LoanProductView } from './loan-product.view';
import { PRODUCT_LIMITS } from './loan-product.validation';

registerEnumType(InterestMethod, {
  name: 'InterestMethod',
  description: 'DECLINING_BALANCE: equal installments, interest on what is outstanding. FLAT: on the principal.',
});
registerEnumType(RepaymentFrequency, { name: 'RepaymentFrequency', description: 'How often an installment is due.' });
registerEnumType(FeeKind, { name: 'FeeKind', description: 'PERCENT of the principal, or a FIXED amount.' });

@ObjectType('OriginationFee', { description: 'Charged once, with the first installment.', simpleResolvers: true })
export class OriginationFeeType {
  @Field(() => FeeKind)
  kind!: FeeKind;

  @Field(() => DecimalScalar, { description: 'Percent ("2.50" is 2.5%) for PERCENT, an amount for FIXED.' })
  value!: string;
}

/**
 * The GraphQL view of a product. `minPrincipal`, `maxPrincipal` and `originationFee` are resolved by
 * `LoanProductResolver` from the stored columns.
 */
@ObjectType('LoanProduct', {
  implements: Node,
  description: 'Terms a lender offers in one currency; borrowers apply for a loan under one.',
  simpleResolvers: true,
})
export class LoanProductType extends Node {
  @Field(() => String, { description: 'Unique, e.g. "KES-STARTER".' })
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => String, { description: 'ISO 4217 code, upper-case.' })
  currency!: string;

  @Field(() => Int)
  minTermMonths!: number;

  @Field(() => Int)
  maxTermMonths!: number;

  @Field(() => DecimalScalar, { description: 'Nominal annual rate in percent ("24.00" is 24%).' })
  interestRateApr!: string;

  @Field(() => InterestMethod)
  interestMethod!: InterestMethod;

  @Field(() => RepaymentFrequency)
  repaymentFrequency!: RepaymentFrequency;

  @Field(() => Boolean, { description: 'False once archived: no longer offered.' })
  active!: boolean;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;

  @Field(() => Int, { description: 'Pass it as `expectedVersion` to updateLoanProduct for optimistic locking.' })
  version!: number;
}

export const LoanProductConnection = connectionType<LoanProductView>('LoanProduct', LoanProductType as never);
export type LoanProductConnection = InstanceType<typeof LoanProductConnection>;

@InputType('OriginationFeeInput')
export class OriginationFeeInput {
  @Field(() => FeeKind)
  kind!: FeeKind;

  @Field(() => DecimalScalar, {
    description: `PERCENT: 0..${PRODUCT_LIMITS.maxFeePercent}; FIXED: an amount; two decimal places at most.`,
  })
  value!: string;
}

@InputType({ description: 'A new product; it starts active.' })
export class CreateLoanProductInput {
  @Field(() => String, { description: 'Unique; letters and digits in groups joined by dashes (KES-STARTER).' })
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { description: 'ISO 4217 code.' })
  currency!: string;

  @Field(() => DecimalScalar, { description: 'Greater than 0, at most maxPrincipal.' })
  minPrincipal!: string;

  @Field(() => DecimalScalar)
  maxPrincipal!: string;

  @Field(() => Int, { description: `${PRODUCT_LIMITS.minTermMonths}..${PRODUCT_LIMITS.maxTermMonths}.` })
  minTermMonths!: number;

  @Field(() => Int)
  maxTermMonths!: number;

  @Field(() => DecimalScalar, { description: `Percent, 0..${PRODUCT_LIMITS.maxRatePercent}.` })
  interestRateApr!: string;

  @Field(() => InterestMethod)
  interestMethod!: InterestMethod;

  @Field(() => RepaymentFrequency)
  repaymentFrequency!: RepaymentFrequency;

  @Field(() => OriginationFeeInput, { nullable: true })
  originationFee?: OriginationFeeInput | null;

  @Field(() => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION })
  idempotencyKey?: string | null;
}

@InputType({ description: 'Omitted fields are left as they are; `originationFee: null` removes the fee.' })
export class UpdateLoanProductInput {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { nullable: true, description: 'Refuse (STALE_VERSION) unless the product is at this version.' })
  expectedVersion?: number | null;

  @Field(() => String, { nullable: true })
  code?: string | null;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => DecimalScalar, { nullable: true })
  minPrincipal?: string | null;

  @Field(() => DecimalScalar, { nullable: true })
  maxPrincipal?: string | null;

  @Field(() => Int, { nullable: true })
  minTermMonths?: number | null;

  @Field(() => Int, { nullable: true })
  maxTermMonths?: number | null;

  @Field(() => DecimalScalar, { nullable: true })
  interestRateApr?: string | null;

  @Field(() => InterestMethod, { nullable: true })
  interestMethod?: InterestMethod | null;

  @Field(() => RepaymentFrequency, { nullable: true })
  repaymentFrequency?: RepaymentFrequency | null;

  @Field(() => OriginationFeeInput, { nullable: true })
  originationFee?: OriginationFeeInput | null;
}

@InputType({ description: 'Archiving hides a product from borrowers; loans under it keep it.' })
export class ArchiveLoanProductInput {
  @Field(() => ID)
  id!: string;
}

function productPayload(name: string) {
  @ObjectType(name, { simpleResolvers: true })
  class LoanProductPayload {
    @Field(() => LoanProductType, { nullable: true })
    loanProduct!: LoanProductView | null;

    @Field(() => [UserError])
    userErrors!: UserError[];
  }
  return LoanProductPayload;
}

export const CreateLoanProductPayload = productPayload('CreateLoanProductPayload');
export const UpdateLoanProductPayload = productPayload('UpdateLoanProductPayload');
export const ArchiveLoanProductPayload = productPayload('ArchiveLoanProductPayload');

@InputType({ description: 'What a borrower wants: an amount, and optionally a term.' })
export class FinancingOptionsInput {
  @Field(() => MoneyInput)
  amount!: MoneyInput;

  @Field(() => Int, {
    nullable: true,
    description: "Months. Omitted: each product's longest term (its maxTermMonths), the lowest installment.",
  })
  termMonths?: number | null;
}

@ObjectType('FinancingOption', {
  description: 'An offer: what a loan of this amount under this product would cost, from its schedule.',
  simpleResolvers: true,
})
export class FinancingOptionType {
  @Field(() => LoanProductType)
  product!: LoanProductView;

  @Field(() => Int)
  termMonths!: number;

  @Field(() => Money, {
    description: 'The regular installment (the first also carries the fee, the last the remainder).',
  })
  installmentAmount!: Money;

  @Field(() => Int)
  numberOfInstallments!: number;

  @Field(() => GraphQLDate, { description: 'YYYY-MM-DD.' })
  firstDueDate!: string;

  @Field(() => Money)
  totalInterest!: Money;

  @Field(() => Money, { description: 'The origination fee (zero without one).' })
  fees!: Money;

  @Field(() => Money, { description: 'Principal + interest + fees.' })
  totalRepayable!: Money;

  @Field(() => DecimalScalar, { description: 'The effective annual rate in percent, fees included.' })
  effectiveAnnualRate!: string;
}
