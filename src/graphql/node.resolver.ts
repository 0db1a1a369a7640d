import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import { isUuid } from '../common/ids';
import { LoanType } from '../loans/loan.types';
import { isProductId } from '../products/loan-product.queries';
import { LoanProductType } from '../products/loan-product.types';
import type { LoanProductView } from '../products/loan-product.view';
import { UserType } from '../users/user.types';
import { Node } from './common-types';
import type { LoanView } from '../loans/loan.view';
import type { UserView } from '../users/user.view';

/**
 * Relay's `node(id)`. Loan ids are UUIDs; user ids are free-form strings (the legacy API registers any
 * borrower id it is given, so a user id may look like a UUID too): a UUID that is no loan is tried as a user.
 * Product ids start with `prd_`; one that is no product is tried as a user too.
 */
@Resolver()
export class NodeResolver {
  @Authorized()
  @Query(() => Node, {
    nullable: true,
    description: 'Any object by its id; null when it does not exist or is not yours.',
  })
  async node(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: RequestContext,
  ): Promise<LoanView | UserView | LoanProductView | null> {
    const loan = isUuid(id) ? await ctx.services.loans.findById(id) : null;
    const product = !loan && isProductId(id) ? await ctx.services.products.findById(id) : null;
    return loan ?? product ?? ctx.services.users.findById(id);
  }
}

/** Tells GraphQL which concrete type an entity is, for the `Node` interface. */
export function resolveNodeType(value: unknown): string | undefined {
  // Views are plain objects (rows, or entities after a mutation): a loan is the one with a borrower.
  if (typeof value !== 'object' || value === null) return undefined;
  if ('borrower' in value) return 'Loan';
  if ('role' in value) return 'User';
  if ('interestMethod' in value) return 'LoanProduct';
  return undefined;
}

export const NODE_TYPES = [LoanType, UserType, LoanProductType];
