import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { canSeeBorrower } from '../auth/viewer';
import type { RequestContext } from '../context/request-context';
import type { UserView } from '../users/user.view';
import { UserType } from '../users/user.types';
import type { LoanEvent } from './loan-event.entity';
import { LoanEventType } from './loan-event.types';

@Resolver(() => LoanEventType)
export class LoanEventResolver {
  @FieldResolver(() => UserType, {
    nullable: true,
    description: 'Who did it, when the caller may see that user (a borrower sees themselves, not the admin).',
  })
  actor(@Root() event: LoanEvent, @Ctx() ctx: RequestContext): Promise<UserView | null> {
    // A borrower sees themselves, not the admin who approved their loan (actorRole still says ADMIN).
    if (!event.actor || !canSeeBorrower(ctx.viewer, event.actor.id)) return Promise.resolve(null);
    return ctx.loaders.userById.load(event.actor.id);
  }
}
