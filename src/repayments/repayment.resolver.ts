import { Arg, Args, Authorized, Ctx, FieldResolver, Int, Mutation, Resolver, Root } from 'type-graphql';
import { canSeeBorrower } from '../auth/viewer';
import { utcToday } from '../common/clock';
import { Decimal } from '../common/decimal';
import type { RequestContext } from '../context/request-context';
import { Money, PageArgs } from '../graphql/common-types';
import { connectionCost, LIST_SIZES, listCost } from '../graphql/limits/cost';
import { mutationPayload } from '../graphql/mutation';
import { LoanType } from '../loans/loan.types';
import type { LoanView } from '../loans/loan.view';
import { Role } from '../users/role';
import {
  daysPastDueOf,
  installmentState,
  moneyText,
  nextInstallmentOf,
  outstandingOf,
  paidOf,
  type Breakdown,
} from './allocation';
import type { InstallmentView, RepaymentView } from './repayment.queries';
import type { RepaymentResult } from './repayment.service';
import {
  AmountBreakdownType,
  InstallmentType,
  RecordRepaymentInput,
  RecordRepaymentPayload,
  RepaymentConnection,
  RepaymentType,
  ReverseRepaymentInput,
  ReverseRepaymentPayload,
} from './repayment.types';

/** Where the service's domain fields live in the mutations' GraphQL input. */
const REPAYMENT_FIELDS: Record<string, string[]> = {
  amount: ['input', 'amount', 'amount'],
  currency: ['input', 'amount', 'currencyCode'],
};
const repaymentField = (field: string) => REPAYMENT_FIELDS[field] ?? ['input', field];

const money = (amount: string, currencyCode: string): Money => ({ amount, currencyCode });

function breakdown(b: Breakdown, currency: string): AmountBreakdownType {
  return {
    principal: money(moneyText(b.principal, currency), currency),
    interest: money(moneyText(b.interest, currency), currency),
    fees: money(moneyText(b.fees, currency), currency),
    total: money(moneyText(b.total, currency), currency),
  };
}

function installment(i: InstallmentView, currency: string, today: string): InstallmentType {
  const m = (value: string) => money(moneyText(value, currency), currency);
  return {
    number: i.number,
    dueDate: i.dueDate,
    principal: m(i.principal),
    interest: m(i.interest),
    fee: m(i.fee),
    total: m(i.total),
    paid: money(moneyText(paidOf(i), currency), currency),
    state: installmentState(i, today),
  };
}

/** Both mutations answer the repayment and its loan, or userErrors. */
async function repaymentPayload(work: () => Promise<RepaymentResult>) {
  let loan: LoanView | null = null;
  const payload = await mutationPayload(
    'repayment',
    async (): Promise<RepaymentView> => {
      const result = await work();
      loan = result.loan;
      return result.repayment;
    },
    repaymentField,
  );
  return { ...payload, loan };
}

/**
 * Repayment schedules and repayments on `Loan` (README "Repayment schedules and repayments"), and the admin
 * mutations. Loans reach a caller only through the scoped loan service (a borrower's own, an admin's all);
 * each field checks it again, as `Loan.history` does. One batched statement per field kind per page of loans.
 */
/** Fields computed from a loan's whole schedule read its installments: costed as that many items. */
const SCHEDULE_READ_COST = 1 + LIST_SIZES.installments;

@Resolver(() => LoanType)
export class LoanRepaymentFieldsResolver {
  @FieldResolver(() => [InstallmentType], {
    description:
      'The repayment schedule stored at disbursement, first installment first; empty before disbursement and for loans without one (no term or no rate, or disbursed before schedules existed). Batched.',
    complexity: listCost(LIST_SIZES.installments),
  })
  async schedule(@Root() loan: LoanView, @Ctx() ctx: RequestContext): Promise<InstallmentType[]> {
    const rows = await this.installments(loan, ctx);
    const today = utcToday(ctx.clock);
    return rows.map((i) => installment(i, loan.currency, today));
  }

  @FieldResolver(() => AmountBreakdownType, {
    nullable: true,
    description: 'What is still owed over the schedule (reversals taken into account); null without a schedule.',
    // Computed from the whole schedule (the batched read `schedule` makes): costed as reading it.
    complexity: SCHEDULE_READ_COST,
  })
  async outstanding(@Root() loan: LoanView, @Ctx() ctx: RequestContext): Promise<AmountBreakdownType | null> {
    const rows = await this.installments(loan, ctx);
    return rows.length === 0 ? null : breakdown(outstandingOf(rows), loan.currency);
  }

  @FieldResolver(() => InstallmentType, {
    nullable: true,
    description: 'The oldest installment not fully paid; null when all are paid, or without a schedule.',
    // Computed from the whole schedule (the batched read `schedule` makes): costed as reading it.
    complexity: SCHEDULE_READ_COST,
  })
  async nextInstallment(@Root() loan: LoanView, @Ctx() ctx: RequestContext): Promise<InstallmentType | null> {
    const next = nextInstallmentOf(await this.installments(loan, ctx));
    return next && installment(next, loan.currency, utcToday(ctx.clock));
  }

  @FieldResolver(() => Int, {
    nullable: true,
    description:
      'Days from the oldest unpaid due date to today (UTC); 0 when nothing unpaid is past due; null without a schedule.',
    // Computed from the whole schedule (the batched read `schedule` makes): costed as reading it.
    complexity: SCHEDULE_READ_COST,
  })
  async daysPastDue(@Root() loan: LoanView, @Ctx() ctx: RequestContext): Promise<number | null> {
    const rows = await this.installments(loan, ctx);
    return rows.length === 0 ? null : daysPastDueOf(rows, utcToday(ctx.clock));
  }

  @FieldResolver(() => RepaymentConnection, {
    description: 'Repayments recorded against the loan, newest first, reversed ones included. Batched.',
    complexity: connectionCost,
  })
  async repayments(
    @Root() loan: LoanView,
    @Args(() => PageArgs) args: PageArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<RepaymentConnection> {
    if (!canSeeBorrower(ctx.viewer, loan.borrower.id)) {
      return RepaymentConnection.from({
        edges: [],
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
        totalCount: () => Promise.resolve(0),
      });
    }
    return RepaymentConnection.from(await ctx.loaders.repaymentPageByLoan(args).load(loan.id));
  }

  private installments(loan: LoanView, ctx: RequestContext): Promise<InstallmentView[]> {
    // Loans reach a caller only through the scoped services; this guard keeps it so if that ever changes.
    if (!canSeeBorrower(ctx.viewer, loan.borrower.id)) return Promise.resolve([]);
    return ctx.loaders.installmentsByLoan.load(loan.id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RecordRepaymentPayload, {
    description:
      'Records a payment against a DISBURSED loan: allocated installment by installment, oldest first, each one fee, then interest, then principal. Paying everything moves the loan to REPAID. Admins only.',
  })
  recordRepayment(@Arg('input', () => RecordRepaymentInput) input: RecordRepaymentInput, @Ctx() ctx: RequestContext) {
    return repaymentPayload(() =>
      ctx.services.repayments.record({
        loanId: input.loanId,
        amount: input.amount.amount,
        currency: input.amount.currencyCode,
        paidAt: input.paidAt,
        reference: input.reference,
      }),
    );
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ReverseRepaymentPayload, {
    description:
      'Takes back exactly what a repayment allocated and marks it reversed, with the reason; a REPAID loan goes back to DISBURSED. At most once per repayment. Admins only.',
  })
  reverseRepayment(
    @Arg('input', () => ReverseRepaymentInput) input: ReverseRepaymentInput,
    @Ctx() ctx: RequestContext,
  ) {
    return repaymentPayload(() => ctx.services.repayments.reverse(input.repaymentId, input.reason));
  }
}

@Resolver(() => RepaymentType)
export class RepaymentResolver {
  @FieldResolver(() => Money)
  amount(@Root() repayment: RepaymentView): Money {
    return money(moneyText(repayment.amount, repayment.currency), repayment.currency);
  }

  @FieldResolver(() => AmountBreakdownType, { description: 'How the amount was allocated, over all installments.' })
  allocated(@Root() repayment: RepaymentView): AmountBreakdownType {
    const principal = repayment.allocatedPrincipal;
    const interest = repayment.allocatedInterest;
    const fees = repayment.allocatedFee;
    return breakdown(
      {
        principal: new Decimal(principal),
        interest: new Decimal(interest),
        fees: new Decimal(fees),
        total: new Decimal(principal).plus(interest).plus(fees),
      },
      repayment.currency,
    );
  }
}
