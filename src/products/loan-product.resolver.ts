import {
  Arg,
  Args,
  ArgsType,
  Authorized,
  Ctx,
  Field,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import { Money, PageArgs } from '../graphql/common-types';
import { connectionCost, LIST_SIZES, listCost } from '../graphql/limits/cost';
import { mutationPayload } from '../graphql/mutation';
import { objectAnswer } from '../idempotency/idempotency.service';
import { Role } from '../users/role';
import type { FinancingOption } from './financing';
import { productViewFromJson, productViewToJson, type LoanProductView } from './loan-product.view';
import type { ProductFieldsCommand } from './loan-product.validation';
import {
  ArchiveLoanProductInput,
  ArchiveLoanProductPayload,
  CreateLoanProductInput,
  CreateLoanProductPayload,
  FinancingOptionsInput,
  OriginationFeeInput,
  FinancingOptionType,
  LoanProductConnection,
  LoanProductType,
  OriginationFeeType,
  UpdateLoanProductInput,
  UpdateLoanProductPayload,
} from './loan-product.types';

@ArgsType()
class LoanProductsArgs extends PageArgs {
  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: 'Also archived products (admins only: FORBIDDEN for anyone else).',
  })
  includeArchived?: boolean | null;
}

/** Where the product's domain fields live in the mutations' GraphQL input. */
const productField = (field: string): string[] =>
  field.startsWith('fee.') ? ['input', 'originationFee', field.slice(4)] : ['input', field];

function productCommand(
  input: Omit<ProductFieldsCommand, 'fee'> & { originationFee?: OriginationFeeInput | null },
): ProductFieldsCommand {
  const { originationFee, ...fields } = input;
  return { ...fields, fee: originationFee === undefined ? undefined : originationFee };
}

@Resolver(() => LoanProductType)
export class LoanProductResolver {
  @Authorized()
  @Query(() => LoanProductType, {
    nullable: true,
    description: 'A product by id; null when it does not exist, or is archived and you are not an admin.',
  })
  loanProduct(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<LoanProductView | null> {
    return ctx.services.products.findById(id);
  }

  @Authorized()
  @Query(() => LoanProductConnection, {
    description: 'Loan products, oldest first; active ones only unless an admin asks for `includeArchived`.',
    complexity: connectionCost,
  })
  async loanProducts(
    @Args(() => LoanProductsArgs) args: LoanProductsArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<LoanProductConnection> {
    return LoanProductConnection.from(await ctx.services.products.list(args));
  }

  @Authorized()
  @Query(() => [FinancingOptionType], {
    description:
      'Offers for an amount: every active product of its currency whose principal and term ranges fit, priced with its repayment schedule from today (UTC), cheapest total first, then by code.',
    complexity: listCost(LIST_SIZES.productsPerCurrency),
  })
  financingOptions(
    @Arg('input', () => FinancingOptionsInput) input: FinancingOptionsInput,
    @Ctx() ctx: RequestContext,
  ): Promise<FinancingOption[]> {
    return ctx.services.products.financingOptions({
      amount: input.amount.amount,
      currency: input.amount.currencyCode,
      termMonths: input.termMonths,
    });
  }

  @FieldResolver(() => Money)
  minPrincipal(@Root() product: LoanProductView): Money {
    return { amount: product.minPrincipal, currencyCode: product.currency };
  }

  @FieldResolver(() => Money)
  maxPrincipal(@Root() product: LoanProductView): Money {
    return { amount: product.maxPrincipal, currencyCode: product.currency };
  }

  @FieldResolver(() => OriginationFeeType, { nullable: true })
  originationFee(@Root() product: LoanProductView): OriginationFeeType | null {
    return product.feeKind && product.feeValue !== null ? { kind: product.feeKind, value: product.feeValue } : null;
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateLoanProductPayload, { description: 'Creates a product, active at once. Admins only.' })
  createLoanProduct(
    @Arg('input', () => CreateLoanProductInput) input: CreateLoanProductInput,
    @Ctx() ctx: RequestContext,
  ) {
    const { idempotencyKey, ...request } = input;
    return mutationPayload(
      'loanProduct',
      () =>
        ctx.services.idempotency.run<LoanProductView>({
          key: idempotencyKey,
          operation: 'createLoanProduct',
          request,
          work: () => ctx.services.products.create(productCommand(request)),
          save: (product) => objectAnswer(productViewToJson(product)),
          replay: (answer) => productViewFromJson(answer.body),
        }),
      productField,
    );
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => UpdateLoanProductPayload, {
    description: 'Changes a product (not its currency). Loans already made keep their own terms. Admins only.',
  })
  updateLoanProduct(
    @Arg('input', () => UpdateLoanProductInput) input: UpdateLoanProductInput,
    @Ctx() ctx: RequestContext,
  ) {
    const { id, expectedVersion, ...fields } = input;
    return mutationPayload(
      'loanProduct',
      () => ctx.services.products.update(id, expectedVersion, productCommand(fields)),
      productField,
    );
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ArchiveLoanProductPayload, {
    description: 'Stops offering a product (borrowers no longer see it); loans under it keep it. Admins only.',
  })
  archiveLoanProduct(
    @Arg('input', () => ArchiveLoanProductInput) input: ArchiveLoanProductInput,
    @Ctx() ctx: RequestContext,
  ) {
    return mutationPayload('loanProduct', () => ctx.services.products.archive(input.id), productField);
  }
}
