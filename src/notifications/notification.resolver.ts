import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import { PageArgs } from '../graphql/common-types';
import { connectionCost } from '../graphql/limits/cost';
import { mutationPayload } from '../graphql/mutation';
import { UserType } from '../users/user.types';
import type { UserView } from '../users/user.view';
import { MarkNotificationsReadInput, MarkNotificationsReadPayload, NotificationConnection } from './notification.types';

@ArgsType()
class NotificationsArgs extends PageArgs {
  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'True: unread ones only.' })
  unreadOnly?: boolean | null;
}

/** `User.notifications` (your own: `me { notifications }`) and `markNotificationsRead`. */
@Resolver(() => UserType)
export class NotificationResolver {
  @FieldResolver(() => NotificationConnection, {
    nullable: true,
    description:
      'Your own in-app notifications (`me { notifications }`), newest first. Null on any other user, admins included.',
    complexity: connectionCost,
  })
  async notifications(
    @Root() user: UserView,
    @Args(() => NotificationsArgs) args: NotificationsArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<NotificationConnection | null> {
    const page = await ctx.services.notifications.page(user.id, args);
    return page && NotificationConnection.from(page);
  }

  @Authorized()
  @Mutation(() => MarkNotificationsReadPayload, {
    description: "Marks your own notifications read (`ids`, or `all: true`); others' ids change nothing.",
  })
  markNotificationsRead(
    @Arg('input', () => MarkNotificationsReadInput) input: MarkNotificationsReadInput,
    @Ctx() ctx: RequestContext,
  ) {
    return mutationPayload('updatedCount', () => ctx.services.notifications.markRead(input));
  }
}
