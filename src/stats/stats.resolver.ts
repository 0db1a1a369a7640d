import { Arg, Authorized, Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import { Role } from '../users/role';
import { CurrencyPortfolio, DailyLoanStats, LoanStats, LoanStatsFilter } from './stats.types';
import { LIST_SIZES, listCost } from '../graphql/limits/cost';

@Resolver(() => LoanStats)
export class StatsResolver {
  @Authorized(Role.ADMIN)
  @Query(() => LoanStats, {
    description: 'Counts, per-status and per-currency figures, and a per-day series. Admins only.',
  })
  async loanStats(
    @Arg('filter', () => LoanStatsFilter, { nullable: true }) filter: LoanStatsFilter | null,
    @Ctx() ctx: RequestContext,
  ): Promise<Omit<LoanStats, 'daily' | 'portfolio'>> {
    const scope = filter ?? {};
    const summary = await ctx.services.stats.summary(scope);
    return {
      filter: scope,
      totalLoans: summary.totalLoans,
      byStatus: summary.byStatus,
      byCurrency: summary.byCurrency.map((c) => ({
        currencyCode: c.currency,
        count: c.count,
        totalAmount: { amount: c.total, currencyCode: c.currency },
        averageAmount: { amount: c.average, currencyCode: c.currency },
      })),
    };
  }

  @FieldResolver(() => [DailyLoanStats], { complexity: listCost(LIST_SIZES.days) })
  async daily(@Root() stats: LoanStats, @Ctx() ctx: RequestContext): Promise<DailyLoanStats[]> {
    const days = await ctx.services.stats.daily(stats.filter);
    return days.map((d) => ({
      date: d.day,
      count: d.count,
      totals: d.totals.map((t) => ({ amount: t.total, currencyCode: t.currency })),
      collected: d.collected.map((c) => ({ amount: c.total, currencyCode: c.currency })),
    }));
  }

  @FieldResolver(() => [CurrencyPortfolio], { complexity: listCost(LIST_SIZES.currencies) })
  async portfolio(@Root() stats: LoanStats, @Ctx() ctx: RequestContext): Promise<CurrencyPortfolio[]> {
    const rows = await ctx.services.stats.portfolio(stats.filter);
    return rows.map((r) => ({
      currencyCode: r.currency,
      outstandingPrincipal: { amount: r.outstandingPrincipal, currencyCode: r.currency },
      collected: { amount: r.collected, currencyCode: r.currency },
      par30: { amount: r.par30, currencyCode: r.currency },
      par30Share: r.par30Share,
    }));
  }
}
