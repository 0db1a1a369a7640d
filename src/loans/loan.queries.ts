import { IsolationLevel, raw, type EntityManager, type Knex, type QueryBuilder } from '@mikro-orm/postgresql';
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
  /** Set by the service, never by a client: confines the list to one borrower's loans (AND with the rest). */
  ownedBy?: string | null;
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
  { column: string; property: 'createdAt' | 'amount'; keyOf: (loan: Loan) => string; isKey: (key: string) => boolean }
> = {
  [LoanOrderField.CREATED_AT]: {
    column: 'created_at',
    property: 'createdAt',
    keyOf: (loan) => loan.createdAt.toISOString(),
    isKey: (key) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(key) && !Number.isNaN(Date.parse(key)),
  },
  [LoanOrderField.AMOUNT]: {
    column: 'amount',
    property: 'amount',
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
  if (isSet(filter.ownedBy)) qb.andWhere(`${alias}.borrower_id = ?`, [filter.ownedBy]);
  if (filter.createdAfter) qb.andWhere(`${alias}.created_at >= ?`, [filter.createdAfter]);
  if (filter.createdBefore) qb.andWhere(`${alias}.created_at < ?`, [filter.createdBefore]);
}

interface PreparedList {
  limit: number;
  order: LoanOrderData;
  column: string;
  property: 'createdAt' | 'amount';
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
    property: sort.property,
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
  qb.orderBy([{ [p.property]: p.direction }, { id: p.direction }]).limit(p.limit + 1);
  const rows = await qb.getResultList();
  return toPage(rows, p.limit, p.cursor !== null, cursorOf(p.order), () => countLoans(em, args.filter));
}

/**
 * Pages of loans for many borrowers in ONE statement, so `users { loans { ... } }` costs one query for the
 * whole level whatever the number of users. A LATERAL subquery per borrower walks the
 * (borrower_id, created_at, id) index and stops after `first + 1` rows: a borrower with 10,000 loans costs
 * what one with 6 costs (a window function would read and sort all of them).
 */
export async function findLoanPagesByBorrower(
  em: EntityManager,
  borrowerIds: readonly string[],
  args: LoanListArgs,
  countFor: (borrowerId: string) => Promise<number>,
): Promise<Page<Loan>[]> {
  const p = prepare(args);
  const ids = [...new Set(borrowerIds)];
  const rows = ids.length === 0 ? [] : await selectPagesByBorrower(em, ids, p, args.filter);
  const byBorrower = new Map<string, Loan[]>(ids.map((id) => [id, []]));
  for (const row of rows) byBorrower.get(row.borrower_id as string)?.push(em.map(Loan, row));
  return borrowerIds.map((id) =>
    toPage(byBorrower.get(id) ?? [], p.limit, p.cursor !== null, cursorOf(p.order), () => countFor(id)),
  );
}

async function selectPagesByBorrower(
  em: EntityManager,
  ids: string[],
  p: PreparedList,
  filter: LoanFilterData | null | undefined,
): Promise<Record<string, unknown>[]> {
  // One borrower's page; `b` is the borrower row of the outer query.
  const page = em.createQueryBuilder(Loan, 'l').select('l.*').where('l.borrower_id = b.id');
  applyLoanFilter(page, filter);
  applyKeyset(page, p);
  page.orderBy([{ [p.property]: p.direction }, { id: p.direction }]).limit(p.limit + 1);
  const inner = page.getKnexQuery().toSQL();
  // Column and direction come from SORTS and an enum, never from input; every value is a bound parameter
  // (knex, not MikroORM's `execute`, which would inline them into the SQL text).
  const sql = `select page.* from unnest(?::varchar[]) with ordinality as b(id, ord)
    cross join lateral (${inner.sql}) as page
    order by b.ord, page.${p.column} ${p.direction}, page.id ${p.direction}`;
  const query = em.getKnex().raw(sql, [ids, ...inner.bindings]);
  const trx = em.getTransactionContext<Knex.Transaction>();
  if (trx) query.transacting(trx);
  const result = (await query) as { rows: Record<string, unknown>[] };
  return result.rows;
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

/** A loan as stored, unmapped: timestamps and decimals are PostgreSQL's text, as MikroORM's connection returns them. */
export interface LoanRow {
  id: string;
  borrower_id: string;
  amount: string;
  currency: string;
  status: LoanStatus;
  term_months: number | null;
  interest_rate_apr: string | null;
  created_at: string;
  updated_at: string;
}

/** Which loans `forEachLoanBatch` walks; an omitted field does not filter. */
export interface LoanScope {
  borrowerId?: string;
}

export const LOAN_BATCH_SIZE = 1000;

const LOAN_ROW_COLUMNS: readonly (keyof LoanRow)[] = [
  'id',
  'borrower_id',
  'amount',
  'currency',
  'status',
  'term_months',
  'interest_rate_apr',
  'created_at',
  'updated_at',
];

/**
 * Every loan of `scope`, newest first (created_at desc, id desc), handed to `onBatch` in keyset batches of
 * plain rows (no entities, no identity map): memory stays bounded by one batch whatever the table size.
 * Each batch is one SELECT on the (created_at, id) index (or (borrower_id, created_at, id) with a borrower),
 * resuming after the previous batch's last row. All batches read one snapshot (a REPEATABLE READ, read-only
 * transaction), so a loan inserted or changed meanwhile can neither appear twice nor be skipped.
 *
 * `onBatch` is awaited before the next SELECT (backpressure) and may return `false` to stop early. It is
 * called at least once (with `[]` when there is no loan), and is told whether the batch is the last.
 * Resolves to the number of rows read. A failing SELECT rejects (the transaction is rolled back).
 */
/** The longest a streamed list may wait for its client between two batches. */
const STREAM_IDLE_TIMEOUT = '30s';

export async function forEachLoanBatch(
  em: EntityManager,
  onBatch: (rows: LoanRow[], last: boolean) => Promise<boolean | void> | boolean | void,
  options: { scope?: LoanScope; batchSize?: number } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? LOAN_BATCH_SIZE;
  const borrowerId = options.scope?.borrowerId;
  return em.transactional(
    async (tx) => {
      const trx = tx.getTransactionContext<Knex.Transaction>();
      if (!trx) throw new Error('forEachLoanBatch: no transaction');
      // A client that stops reading must not hold a connection and an old snapshot for ever:
      // PostgreSQL ends the transaction once it has waited this long between two batches.
      await trx.raw(`set local idle_in_transaction_session_timeout = '${STREAM_IDLE_TIMEOUT}'`);
      let after: LoanRow | undefined;
      let total = 0;
      for (;;) {
        const query = tx
          .getKnex()
          .select(LOAN_ROW_COLUMNS.map((column) => `l.${column}`))
          .from('loans as l')
          .orderBy([
            { column: 'l.created_at', order: 'desc' },
            { column: 'l.id', order: 'desc' },
          ])
          .limit(batchSize)
          .transacting(trx);
        if (borrowerId !== undefined) query.where('l.borrower_id', borrowerId);
        // The previous batch's last created_at, as PostgreSQL printed it: exact, whatever the precision.
        if (after) query.whereRaw('(l.created_at, l.id) < (?::timestamptz, ?::uuid)', [after.created_at, after.id]);
        const rows = (await query) as LoanRow[];
        total += rows.length;
        const last = rows.length < batchSize;
        if ((await onBatch(rows, last)) === false || last) return total;
        after = rows[rows.length - 1];
      }
    },
    { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
  );
}
