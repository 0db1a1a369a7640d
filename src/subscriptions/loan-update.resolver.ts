import { GraphQLError } from 'graphql';
import { Arg, Authorized, ID, Resolver, Root, Subscription } from 'type-graphql';
import { toGraphQLError } from '../common/error-mapping';
import type { RequestContext } from '../context/request-context';
import { liveRootOf } from './live-root';
import type { LoanChange } from './loan-change';
import { LoanUpdate, type LoanUpdateView } from './loan-update.types';

/**
 * The live-update subscriptions. Subscribing checks who may see what, once, with the same service as the
 * queries; each change is then delivered by `ws-server.ts`, which re-checks the caller's token and reads the
 * loan fresh through the same scoped service (the event's root value here is that `LoanUpdateView`).
 */
@Resolver()
export class LoanUpdateResolver {
  @Authorized()
  @Subscription(() => LoanUpdate, {
    description:
      'Every change of one loan from now on (status changes, repayments). A borrower may follow only their own loans: an unknown id and another borrower\'s loan both answer NOT_FOUND (ids leak nothing). Over WebSocket (graphql-ws) on /graphql; README "Live updates (subscriptions)".',
    subscribe: ({ source, args, context }) =>
      loanChanges(source, String((args as { id: unknown }).id), context as RequestContext),
  })
  loanUpdated(@Arg('id', () => ID) _id: string, @Root() update: LoanUpdateView): LoanUpdateView {
    return update;
  }

  @Authorized()
  @Subscription(() => LoanUpdate, {
    description:
      "Every change of the caller's own loans (as their borrower) from now on, including loans applied for after subscribing. For admins too: their own loans, not everyone's (follow another loan with `loanUpdated`).",
    subscribe: ({ source, context }) => myLoanChanges(source, context as RequestContext),
  })
  myLoanUpdates(@Root() update: LoanUpdateView): LoanUpdateView {
    return update;
  }
}

async function loanChanges(source: unknown, id: string, ctx: RequestContext): Promise<AsyncIterable<LoanChange>> {
  const root = liveRootOf(source);
  let loanId: string;
  try {
    const loan = await ctx.services.loans.findById(id);
    if (!loan) {
      throw new GraphQLError('No loan with this id (or it is not yours).', { extensions: { code: 'NOT_FOUND' } });
    }
    loanId = loan.id;
  } catch (error) {
    throw toGraphQLError(error);
  }
  return root.changes((change) => change.loanId === loanId);
}

function myLoanChanges(source: unknown, ctx: RequestContext): AsyncIterable<LoanChange> {
  const root = liveRootOf(source);
  const viewer = ctx.viewer;
  if (viewer.kind !== 'user')
    throw new GraphQLError('you must be logged in', { extensions: { code: 'UNAUTHENTICATED' } });
  return root.changes((change) => change.borrowerId === viewer.userId);
}
