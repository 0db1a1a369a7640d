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
import { mutationPayload } from '../graphql/mutation';
import { connectionCost, LIST_SIZES, listCost } from '../graphql/limits/cost';
import { UserType } from '../users/user.types';
import { LoanProductType } from '../products/loan-product.types';
import type { LoanProductView } from '../products/loan-product.view';
import type { UserView } from '../users/user.view';
import { Role } from '../users/role';
import { canSeeBorrower } from '../auth/viewer';
import { objectAnswer } from '../idempotency/idempotency.service';
import type { LoanEvent } from './loan-event.entity';
import { LoanEventType } from './loan-event.types';
import { loanViewFromJson, loanViewToJson, type LoanView } from './loan.view';
import { LoanStatus } from './loan-status';
import {
  ApproveLoanInput,
  ApproveLoanPayload,
  CreateLoanInput,
  CreateLoanPayload,
  DisburseLoanInput,
  DisburseLoanPayload,
  LoanConnection,
  LoanFilter,
  LoanOrder,
  LoanType,
  MarkLoanDefaultedInput,
  MarkLoanDefaultedPayload,
  MarkLoanRepaidInput,
  MarkLoanRepaidPayload,
  RejectLoanInput,
  RejectLoanPayload,
  type LoanTransitionInput,
} from './loan.types';

@ArgsType()
export class LoansArgs extends PageArgs {
  @Field(() => LoanFilter, { nullable: true })
  filter?: LoanFilter | null;

  @Field(() => LoanOrder, { nullable: true, description: 'Default: newest first (CREATED_AT DESC).' })
  orderBy?: LoanOrder | null;
}

/** Where createLoan's domain fields live in its GraphQL input. */
const CREATE_LOAN_FIELDS: Record<string, string[]> = {
  amount: ['input', 'amount', 'amount'],
  currency: ['input', 'amount', 'currencyCode'],
};

@Resolver(() => LoanType)
export class LoanResolver {
  @Authorized()
  @Query(() => LoanType, {
    nullable: true,
    description: 'A loan by id; null when it does not exist or is not yours (borrowers see their own loans).',
  })
  loan(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<LoanView | null> {
    return ctx.services.loans.findById(id);
  }

  @Authorized()
  @Query(() => LoanConnection, {
    description: 'Loans, newest first unless `orderBy` says otherwise. A borrower sees their own loans only.',
    complexity: connectionCost,
  })
  async loans(@Args(() => LoansArgs) args: LoansArgs, @Ctx() ctx: RequestContext): Promise<LoanConnection> {
    return LoanConnection.from(await ctx.services.loans.list(args));
  }

  @FieldResolver(() => UserType)
  async borrower(@Root() loan: LoanView, @Ctx() ctx: RequestContext): Promise<UserView> {
    const user = await ctx.loaders.userById.load(loan.borrower.id);
    // The foreign key guarantees a borrower; a miss is a broken invariant, not a client error.
    if (!user) throw new Error(`loan ${loan.id} has no borrower ${loan.borrower.id}`);
    return user;
  }

  @FieldResolver(() => LoanProductType, {
    nullable: true,
    description: 'The product applied for; null for loans made without one (and all legacy REST loans). Batched.',
  })
  product(@Root() loan: LoanView, @Ctx() ctx: RequestContext): Promise<LoanProductView | null> {
    return loan.product ? ctx.loaders.productById.load(loan.product.id) : Promise.resolve(null);
  }

  @FieldResolver(() => [LoanEventType], {
    description: 'The audit trail, oldest first: creation, then every status change. Batched across loans.',
    complexity: listCost(LIST_SIZES.loanHistory),
  })
  history(@Root() loan: LoanView, @Ctx() ctx: RequestContext): Promise<LoanEvent[]> {
    // Loans reach a caller only through the scoped services; this guard keeps it so if that ever changes.
    if (!canSeeBorrower(ctx.viewer, loan.borrower.id)) return Promise.resolve([]);
    return ctx.loaders.loanEventsByLoan.load(loan.id);
  }

  @FieldResolver(() => Money)
  amount(@Root() loan: LoanView): Money {
    return { amount: loan.amount, currencyCode: loan.currency };
  }

  @Authorized()
  @Mutation(() => CreateLoanPayload, {
    description: 'Applies for a loan; it starts PENDING. A borrower applies for themselves; an admin for anyone.',
  })
  createLoan(@Arg('input', () => CreateLoanInput) input: CreateLoanInput, @Ctx() ctx: RequestContext) {
    const { idempotencyKey, ...request } = input;
    return mutationPayload(
      'loan',
      () =>
        ctx.services.idempotency.run<LoanView>({
          key: idempotencyKey,
          operation: 'createLoan',
          request,
          work: () =>
            ctx.services.loans.create(
              {
                borrowerId: input.borrowerId ?? undefined,
                amount: input.amount.amount,
                currency: input.amount.currencyCode,
                termMonths: input.termMonths,
                interestRateApr: input.interestRateApr,
                productId: input.productId,
              },
              { registerUnknownBorrower: false },
            ),
          // A replay answers the loan as it was created (its borrower and history resolve as they are now).
          save: (loan) => objectAnswer(loanViewToJson(loan)),
          replay: (answer) => loanViewFromJson(answer.body),
        }),
      (field) => CREATE_LOAN_FIELDS[field] ?? ['input', field],
    );
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ApproveLoanPayload, { description: 'PENDING to APPROVED.' })
  approveLoan(@Arg('input', () => ApproveLoanInput) input: ApproveLoanInput, @Ctx() ctx: RequestContext) {
    return this.transition(ctx, input, LoanStatus.APPROVED);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RejectLoanPayload, { description: 'PENDING to REJECTED.' })
  rejectLoan(@Arg('input', () => RejectLoanInput) input: RejectLoanInput, @Ctx() ctx: RequestContext) {
    return this.transition(ctx, input, LoanStatus.REJECTED);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => DisburseLoanPayload, { description: 'APPROVED to DISBURSED.' })
  disburseLoan(@Arg('input', () => DisburseLoanInput) input: DisburseLoanInput, @Ctx() ctx: RequestContext) {
    return this.transition(ctx, input, LoanStatus.DISBURSED);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => MarkLoanRepaidPayload, { description: 'DISBURSED to REPAID.' })
  markLoanRepaid(@Arg('input', () => MarkLoanRepaidInput) input: MarkLoanRepaidInput, @Ctx() ctx: RequestContext) {
    return this.transition(ctx, input, LoanStatus.REPAID);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => MarkLoanDefaultedPayload, { description: 'DISBURSED to DEFAULTED.' })
  markLoanDefaulted(
    @Arg('input', () => MarkLoanDefaultedInput) input: MarkLoanDefaultedInput,
    @Ctx() ctx: RequestContext,
  ) {
    return this.transition(ctx, input, LoanStatus.DEFAULTED);
  }

  private transition(ctx: RequestContext, input: LoanTransitionInput, to: LoanStatus) {
    return mutationPayload('loan', () =>
      ctx.services.loans.transition(input.loanId, to, { expectedVersion: input.expectedVersion, reason: input.reason }),
    );
  }
}
