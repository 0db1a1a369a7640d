import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import { isUuid } from '../common/ids';
import { LoanType } from '../loans/loan.types';
import { Loan } from '../loans/loan.entity';
import { UserType } from '../users/user.types';
import { User } from '../users/user.entity';
import { Node } from './common-types';

/** Relay's `node(id)`: loan ids are UUIDs and user ids never are, so an id names its type. */
@Resolver()
export class NodeResolver {
  @Query(() => Node, { nullable: true, description: 'Any object by its id; null when it does not exist.' })
  async node(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<Loan | User | null> {
    return isUuid(id) ? ctx.services.loans.findById(id) : ctx.loaders.userById.load(id);
  }
}

/** Tells GraphQL which concrete type an entity is, for the `Node` interface. */
export function resolveNodeType(value: unknown): string | undefined {
  if (value instanceof Loan) return 'Loan';
  if (value instanceof User) return 'User';
  return undefined;
}

export const NODE_TYPES = [LoanType, UserType];
