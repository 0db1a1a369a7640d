import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import { UserType } from '../users/user.types';
import type { UserView } from '../users/user.view';
import type { CurrencyAmount } from './dashboard.service';
import { BorrowerDashboardType } from './dashboard.types';

const money = (m: CurrencyAmount) => ({ amount: m.amount, currencyCode: m.currency });

/** `User.dashboard`: the viewer's own, in one statement; null on any other user (admins included). */
@Resolver(() => UserType)
export class DashboardResolver {
  @FieldResolver(() => BorrowerDashboardType, {
    nullable: true,
    description:
      'Your own dashboard (`me { dashboard }`): active loans, what you owe, your next payment and what is overdue. Null on any other user, admins included.',
  })
  async dashboard(@Root() user: UserView, @Ctx() ctx: RequestContext): Promise<BorrowerDashboardType | null> {
    const data = await ctx.services.dashboard.forUser(user.id);
    if (!data) return null;
    return {
      activeLoans: data.activeLoans,
      totalOutstanding: data.totalOutstanding.map(money),
      overdueAmount: data.overdueAmount.map(money),
      nextPayment: data.nextPayment && { dueDate: data.nextPayment.dueDate, amount: money(data.nextPayment.amount) },
    };
  }
}
