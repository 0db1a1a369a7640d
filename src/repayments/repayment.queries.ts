import { raw, type EntityManager, type Knex } from '@mikro-orm/postgresql';
import { clampPageSize, decodeCursor, encodeCursor, toPage, type Page } from '../common/cursor';
import { InvalidArgumentError } from '../common/errors';
import { isInstantKey } from '../common/input-rules';
import { isUuid } from '../common/ids';
import { mapRows, sqlOf } from '../db/prepared';
import type { InstallmentAmounts } from './allocation';
import { LoanInstallment } from './loan-installment.entity';
import { Repayment } from './repayment.entity';

/** An installment as reads hand it out (a mapped row): its amounts as stored, and its loan's id. */
export type InstallmentView = InstallmentAmounts & { loanId: string; total: string };

/** A repayment as GraphQL shows it: a mapped row, or the entity after a mutation. */
export type RepaymentView = Pick<
  Repayment,
  | 'id'
  | 'amount'
  | 'currency'
  | 'paidAt'
  | 'reference'
  | 'allocatedPrincipal'
  | 'allocatedInterest'
  | 'allocatedFee'
  | 'createdAt'
  | 'reversedAt'
  | 'reversalReason'
>;

export interface RepaymentListArgs {
  first?: number | null;
  after?: string | null;
}

/** The schedules of many loans in one statement (the primary key's order: loan, number). */
export async function findInstallmentsByLoans(
  em: EntityManager,
  loanIds: readonly string[],
): Promise<InstallmentView[][]> {
  const ids = [...new Set(loanIds)].filter(isUuid);
  const rows =
    ids.length === 0
      ? []
      : await em
          .createQueryBuilder(LoanInstallment, 'i')
          .select('*')
          .where({ loan: { $in: ids } })
          .orderBy([{ loan: 'asc' }, { number: 'asc' }])
          .execute<(Omit<InstallmentView, 'loanId'> & { loan: string })[]>('all', true);
  const byLoan = new Map<string, InstallmentView[]>(ids.map((id) => [id, []]));
  for (const { loan, ...row } of rows) byLoan.get(loan)?.push({ ...row, loanId: loan });
  return loanIds.map((id) => byLoan.get(id) ?? []);
}

const SORT = 'repayments:CREATED_AT:DESC';

/**
 * A page of each loan's repayments, newest recorded first (reversed ones included), keyset-paginated on
 * (created_at, id) through `repayments_loan_id_created_at_id_idx`: one statement for many loans (a LATERAL
 * page per loan, as `User.loans` does).
 */
export async function findRepaymentPagesByLoans(
  em: EntityManager,
  loanIds: readonly string[],
  args: RepaymentListArgs,
  countFor: (loanId: string) => Promise<number>,
): Promise<Page<RepaymentView>[]> {
  const limit = clampPageSize(args.first);
  let cursor: { key: string; id: string } | null = null;
  if (args.after !== null && args.after !== undefined) {
    const decoded = decodeCursor(args.after, SORT);
    if (!isInstantKey(decoded.key) || !isUuid(decoded.id)) {
      throw new InvalidArgumentError('after', '"after" is not a cursor returned by this list');
    }
    cursor = { key: decoded.key, id: decoded.id };
  }
  const ids = [...new Set(loanIds)].filter(isUuid);
  let rows: Record<string, unknown>[] = [];
  if (ids.length > 0) {
    const inner = em.createQueryBuilder(Repayment, 'r').select('r.*').where('r.loan_id = k.id');
    if (cursor) inner.andWhere('(r.created_at, r.id) < (?, ?)', [cursor.key, cursor.id]);
    inner.orderBy([{ createdAt: 'desc' }, { id: 'desc' }]);
    const { sql, bindings } = sqlOf(inner);
    const query = em.getKnex().raw(
      `select page.* from unnest(?::uuid[]) with ordinality as k(id, ord)
       cross join lateral (${sql} limit ?) as page
       order by k.ord, page.created_at desc, page.id desc`,
      [ids, ...bindings, limit + 1] as Knex.Value[],
    );
    const trx = em.getTransactionContext<Knex.Transaction>();
    if (trx) query.transacting(trx);
    rows = ((await query) as { rows: Record<string, unknown>[] }).rows;
  }
  const byLoan = new Map<string, RepaymentView[]>(ids.map((id) => [id, []]));
  for (const row of mapRows<RepaymentView & { loan: string }>(em, Repayment, rows)) byLoan.get(row.loan)?.push(row);
  return loanIds.map((id) =>
    toPage(
      byLoan.get(id) ?? [],
      limit,
      cursor !== null,
      (r) => encodeCursor({ sort: SORT, key: r.createdAt.toISOString(), id: r.id }),
      () => countFor(id),
    ),
  );
}

/** Repayment counts (reversed ones included) of many loans in one GROUP BY. */
export async function countRepaymentsByLoans(em: EntityManager, loanIds: readonly string[]): Promise<number[]> {
  const ids = [...new Set(loanIds)].filter(isUuid);
  const rows =
    ids.length === 0
      ? []
      : await em
          .createQueryBuilder(Repayment, 'r')
          .select(['r.loan_id', raw('count(*)::int as count')])
          .where({ loan: { $in: ids } })
          .groupBy('r.loan_id')
          .execute<{ loan_id: string; count: number }[]>('all', false);
  const counts = new Map(rows.map((r) => [r.loan_id, Number(r.count)]));
  return loanIds.map((id) => counts.get(id) ?? 0);
}
