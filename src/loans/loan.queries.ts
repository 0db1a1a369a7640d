import { raw, type EntityManager, type QueryBuilder } from '@mikro-orm/postgresql';
import { decodeCursor, encodeCursor, clampPageSize, toPage, type Page } from '../common/cursor';
import { InvalidArgumentError } from '../common/errors';
import { isUuid } from '../common/ids';
import { OrderDirection } from '../common/ordering';
import { Loan } from './loan.entity';
import type { LoanStatus } from './loan-status';

export enum LoanOrderField {
  CREATED_AT = 'CREATED_AT',
  AMOUNT = 'AMOUNT',
}

export interface LoanFilterData {
  status?: LoanStatus[] | null;
  currency?: string | null;
  borrowerId?: string | null;
  /** Inclusive lower bound. */
  createdAfter?: Date | null;
  /** Exclusive upper bound. */
  createdBefore?: Date | null;
}

export interface LoanOrderData {
  field: LoanOrderField;
  direction: OrderDirection;
}

export interface LoanListArgs {
  first?: number | null;
  after?: string | null;
  filter?: LoanFilterData | null;
  orderBy?: LoanOrderData | null;
}

export const DEFAULT_LOAN_ORDER: LoanOrderData = { field: LoanOrderField.CREATED_AT, direction: OrderDirection.DESC };

/** Each sort has an index (sort key, id): keyset pagination makes page 1000 cost what page 1 costs. */
const SORTS: Record<
  LoanOrderField,
  { column: string; keyOf: (loan: Loan) => string; isKey: (key: string) => boolean }
> = {
  [LoanOrderField.CREATED_AT]: {
    column: 'created_at',
    keyOf: (loan) => loan.createdAt.toISOString(),
    isKey: (key) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(key) && !Number.isNaN(Date.parse(key)),
  },
  [LoanOrderField.AMOUNT]: {
    column: 'amount',
    keyOf: (loan) => loan.amount,
    isKey: (key) => /^-?\d{1,12}(\.\d{1,2})?$/.test(key),
  },
};

const sortName = (order: LoanOrderData) => `loans:${order.field}:${order.direction}`;

export const isSet = <T>(value: T | null | undefined): value is T => value !== null && value !== undefined;

export function applyLoanFilter(qb: QueryBuilder<Loan>, filter: LoanFilterData | null | undefined, alias = 'l'): void {
  if (!filter) return;
  // A given value always filters (an empty string matches nothing rather than being ignored);
  // an empty status list, like an omitted one, means "any status".
  if (isSet(filter.status) && filter.status.length > 0) qb.andWhere({ status: { $in: filter.status } });
  if (isSet(filter.currency)) qb.andWhere({ currency: filter.currency.trim().toUpperCase() });
  if (isSet(filter.borrowerId)) qb.andWhere({ borrower: filter.borrowerId });
  if (filter.createdAfter) qb.andWhere(`${alias}.created_at >= ?`, [filter.createdAfter]);
  if (filter.createdBefore) qb.andWhere(`${alias}.created_at < ?`, [filter.createdBefore]);
}

interface PreparedList {
  limit: number;
  order: LoanOrderData;
  column: string;
  direction: 'asc' | 'desc';
  cursor: { key: string; id: string } | null;
}

function prepare(args: LoanListArgs): PreparedList {
  const order = args.orderBy ?? DEFAULT_LOAN_ORDER;
  const sort = SORTS[order.field];
  let cursor: PreparedList['cursor'] = null;
  if (args.after !== null && args.after !== undefined) {
    const decoded = decodeCursor(args.after, sortName(order));
    if (!sort.isKey(decoded.key) || !isUuid(decoded.id)) {
      throw new InvalidArgumentError('after', '"after" is not a cursor returned by this list with this order');
    }
    cursor = { key: decoded.key, id: decoded.id };
  }
  return {
    limit: clampPageSize(args.first),
    order,
    column: sort.column,
    direction: order.direction === OrderDirection.ASC ? 'asc' : 'desc',
    cursor,
  };
}

function applyKeyset(qb: QueryBuilder<Loan>, p: PreparedList, alias = 'l'): void {
  if (!p.cursor) return;
  // A row comparison walks the (sort key, id) index and breaks ties (rows of one flush share created_at).
  const op = p.direction === 'asc' ? '>' : '<';
  qb.andWhere(`(${alias}.${p.column}, ${alias}.id) ${op} (?, ?)`, [p.cursor.key, p.cursor.id]);
}

function cursorOf(order: LoanOrderData): (loan: Loan) => string {
  const sort = SORTS[order.field];
  return (loan) => encodeCursor({ sort: sortName(order), key: sort.keyOf(loan), id: loan.id });
}

export function countLoans(em: EntityManager, filter: LoanFilterData | null | undefined): Promise<number> {
  const qb = em.createQueryBuilder(Loan, 'l');
  applyLoanFilter(qb, filter);
  return qb.getCount();
}

/** One page of loans: one SELECT, plus a COUNT only if `totalCount` is read. */
export async function findLoanPage(em: EntityManager, args: LoanListArgs): Promise<Page<Loan>> {
  const p = prepare(args);
  const qb = em.createQueryBuilder(Loan, 'l').select('*');
  applyLoanFilter(qb, args.filter);
  applyKeyset(qb, p);
  qb.orderBy([{ [p.column === 'created_at' ? 'createdAt' : 'amount']: p.direction }, { id: p.direction }]).limit(
    p.limit + 1,
  );
  const rows = await qb.getResultList();
  return toPage(rows, p.limit, p.cursor !== null, cursorOf(p.order), () => countLoans(em, args.filter));
}

/**
 * Pages of loans for many borrowers in ONE statement (a window function per borrower), so
 * `users { loans { ... } }` costs one query for the whole level whatever the number of users.
 */
export async function findLoanPagesByBorrower(
  em: EntityManager,
  borrowerIds: readonly string[],
  args: LoanListArgs,
  countFor: (borrowerId: string) => Promise<number>,
): Promise<Page<Loan>[]> {
  const p = prepare(args);
  const dir = p.direction;
  const inner = em
    .createQueryBuilder(Loan, 'l')
    .select([
      'l.*',
      raw(`row_number() over (partition by l.borrower_id order by l.${p.column} ${dir}, l.id ${dir}) as page_position`),
    ])
    .where({ borrower: { $in: [...borrowerIds] } });
  applyLoanFilter(inner, args.filter);
  applyKeyset(inner, p);
  const knex = em.getKnex();
  const query = knex
    .select('*')
    .from(inner.getKnexQuery().as('t'))
    .where('t.page_position', '<=', p.limit + 1)
    .orderBy([{ column: 't.borrower_id' }, { column: 't.page_position' }]);
  const rows: Record<string, unknown>[] = await em.getConnection().execute(query);
  const byBorrower = new Map<string, Loan[]>(borrowerIds.map((id) => [id, []]));
  for (const { page_position: _position, ...row } of rows) {
    const loan = em.map(Loan, row);
    byBorrower.get(row.borrower_id as string)?.push(loan);
  }
  return borrowerIds.map((id) =>
    toPage(byBorrower.get(id) ?? [], p.limit, p.cursor !== null, cursorOf(p.order), () => countFor(id)),
  );
}

/** Loan counts for many borrowers in one GROUP BY. */
export async function countLoansByBorrower(
  em: EntityManager,
  borrowerIds: readonly string[],
  filter: LoanFilterData | null | undefined,
): Promise<number[]> {
  const qb = em
    .createQueryBuilder(Loan, 'l')
    .select(['l.borrower_id', raw('count(*)::int as count')])
    .where({ borrower: { $in: [...borrowerIds] } })
    .groupBy('l.borrower_id');
  applyLoanFilter(qb, filter);
  const rows = await qb.execute<{ borrower_id: string; count: number }[]>('all', false);
  const counts = new Map(rows.map((r) => [r.borrower_id, Number(r.count)]));
  return borrowerIds.map((id) => counts.get(id) ?? 0);
}

/** Every loan, newest first (the legacy `GET /api/loans`). */
export function findAllLoans(em: EntityManager): Promise<Loan[]> {
  return em.find(Loan, {}, { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
}
