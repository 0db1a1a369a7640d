import { Arg, Authorized, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import { Role } from '../users/role';
import type { UserView } from '../users/user.view';
import { UserType } from '../users/user.types';
import { ACTIVITY_LIMITS } from './activity.service';
import { ActivityFilter, ActivitySummary, UserActivity } from './activity.types';

@Resolver(() => UserActivity)
export class ActivityResolver {
  @Authorized(Role.ADMIN)
  @Query(() => ActivitySummary, {
    description: 'Totals and per-user counts of log-ins and loan applications. Admins only.',
  })
  async activitySummary(
    @Arg('filter', () => ActivityFilter) filter: ActivityFilter,
    @Arg('top', () => Int, {
      defaultValue: ACTIVITY_LIMITS.defaultTop,
      description: `How many users to list in perUser (0..${ACTIVITY_LIMITS.maxTop}); totals always count everyone.`,
    })
    top: number,
    @Ctx() ctx: RequestContext,
  ): Promise<ActivitySummary> {
    const summary = await ctx.services.activity.summary({ from: filter.from, to: filter.to }, top);
    return { from: filter.from, to: filter.to, ...summary };
  }

  @FieldResolver(() => UserType, { nullable: true })
  user(@Root() activity: UserActivity, @Ctx() ctx: RequestContext): Promise<UserView | null> {
    return ctx.loaders.userById.load(activity.userId);
  }
}
