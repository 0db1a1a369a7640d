import { raw, type EntityManager, type Knex, type QueryBuilder } from '@mikro-orm/postgresql';
import { decodeCursor, encodeCursor, clampPageSize, toPage, type Page } from '../common/cursor';
import { InvalidArgumentError } from '../common/errors';
import { isInstantKey } from '../common/input-rules';
import { isUuid } from '../common/ids';
import { OrderDirection } from '../common/ordering';
import { Loan } from './loan.entity';
import type { LoanStatus } from './loan-status';
import { loanView, type LoanView, type MappedLoanRow } from './loan.view';
import { emitStatement, mapRows, PreparedRead, sqlOf, type SqlText } from '../db/prepared';
import { withStatementWatchdog } from '../db/query-timeout';

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
  {
    column: string;
    property: 'createdAt' | 'amount';
    keyOf: (loan: LoanView) => string;
    isKey: (key: string) => boolean;
  }
> = {
  [LoanOrderField.CREATED_AT]: {
    column: 'created_at',
    property: 'createdAt',
    keyOf: (loan) => loan.createdAt.toISOString(),
    // A real instant in PostgreSQL's range (`2025-02-30` or year 0 would fail in SQL, not here).
    isKey: isInstantKey,
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

/** `after` is the cursor's values, or the parameters standing for them in a prepared statement. */
function applyKeyset(
  qb: QueryBuilder<Loan>,
  p: PreparedList,
  after: { key: unknown; id: unknown } | null = p.cursor,
  alias = 'l',
): void {
  if (!after) return;
  // A row comparison walks the (sort key, id) index and breaks ties (rows of one flush share created_at).
  const op = p.direction === 'asc' ? '>' : '<';
  qb.andWhere(`(${alias}.${p.column}, ${alias}.id) ${op} (?, ?)`, [after.key, after.id]);
}

/** The parameters of a cursor in a prepared statement. */
const cursorParams = (p: PreparedList, param: (name: 'afterKey' | 'afterId') => string) =>
  p.cursor && { key: param('afterKey'), id: param('afterId') };

const ordered = (qb: QueryBuilder<Loan>, p: PreparedList) =>
  qb.orderBy([{ [p.property]: p.direction }, { id: p.direction }]);

function cursorOf(order: LoanOrderData): (loan: LoanView) => string {
  const sort = SORTS[order.field];
  return (loan) => encodeCursor({ sort: sortName(order), key: sort.keyOf(loan), id: loan.id });
}

export function countLoans(em: EntityManager, filter: LoanFilterData | null | undefined): Promise<number> {
  const qb = em.createQueryBuilder(Loan, 'l');
  applyLoanFilter(qb, filter);
  return qb.getCount();
}

const loanViews = (em: EntityManager, rows: Record<string, unknown>[]) =>
  mapRows<MappedLoanRow>(em, Loan, rows).map(loanView);

const LOAN_BY_ID = new PreparedRead<'id'>((em, param) =>
  sqlOf(
    em
      .createQueryBuilder(Loan, 'l')
      .select('*')
      .where({ id: param('id') }),
  ),
);
const OWN_LOAN_BY_ID = new PreparedRead<'id' | 'borrowerId'>((em, param) =>
  sqlOf(
    em
      .createQueryBuilder(Loan, 'l')
      .select('*')
      .where({ id: param('id'), borrower: param('borrowerId') }),
  ),
);

/** One loan as a view (plain data, no entity), or null; `borrowerId` confines it to one borrower's loans. */
export async function findLoanView(em: EntityManager, id: string, borrowerId: string | null): Promise<LoanView | null> {
  const rows =
    borrowerId === null ? await LOAN_BY_ID.rows(em, { id }) : await OWN_LOAN_BY_ID.rows(em, { id, borrowerId });
  return loanViews(em, rows)[0] ?? null;
}

type PageParam = 'limit' | 'afterKey' | 'afterId' | 'ownedBy';

/**
 * The statement of a page without client filters (the common case: a front-end's list, a borrower's own
 * loans), prepared once per order, cursor and scope.
 */
const unfilteredPages = new Map<string, PreparedRead<PageParam>>();
function unfilteredPage(p: PreparedList, owned: boolean): PreparedRead<PageParam> {
  const key = `${sortName(p.order)}:${p.cursor !== null}:${owned}`;
  let statement = unfilteredPages.get(key);
  if (!statement) {
    statement = new PreparedRead<PageParam>((em, param) => {
      const qb = em.createQueryBuilder(Loan, 'l').select('*');
      if (owned) qb.andWhere('l.borrower_id = ?', [param('ownedBy')]);
      applyKeyset(qb, p, cursorParams(p, param));
      const { sql, bindings } = sqlOf(ordered(qb, p));
      return { sql: `${sql} limit ?`, bindings: [...bindings, param('limit')] };
    });
    unfilteredPages.set(key, statement);
  }
  return statement;
}

/** Only the service's own scope, no client filter: the page can use a prepared statement. */
function isUnfiltered(filter: LoanFilterData | null | undefined): boolean {
  if (!filter) return true;
  return Object.entries(filter).every(
    ([key, value]) =>
      key === 'ownedBy' || value === null || value === undefined || (Array.isArray(value) && value.length === 0),
  );
}

/** One page of loans: one SELECT of plain rows, plus a COUNT only if `totalCount` is read. */
export async function findLoanPage(em: EntityManager, args: LoanListArgs): Promise<Page<LoanView>> {
  const p = prepare(args);
  let rows: LoanView[];
  if (isUnfiltered(args.filter)) {
    const ownedBy = args.filter?.ownedBy ?? null;
    rows = loanViews(
      em,
      await unfilteredPage(p, ownedBy !== null).rows(em, {
        limit: p.limit + 1,
        afterKey: p.cursor?.key,
        afterId: p.cursor?.id,
        ownedBy,
      }),
    );
  } else {
    const qb = em.createQueryBuilder(Loan, 'l').select('*');
    applyLoanFilter(qb, args.filter);
    applyKeyset(qb, p);
    ordered(qb, p).limit(p.limit + 1);
    rows = (await qb.execute<MappedLoanRow[]>('all', true)).map(loanView);
  }
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
): Promise<Page<LoanView>[]> {
  const p = prepare(args);
  const ids = [...new Set(borrowerIds)];
  const rows = ids.length === 0 ? [] : await selectPagesByBorrower(em, ids, p, args.filter);
  const byBorrower = new Map<string, LoanView[]>(ids.map((id) => [id, []]));
  for (const view of loanViews(em, rows)) byBorrower.get(view.borrower.id)?.push(view);
  return borrowerIds.map((id) =>
    toPage(byBorrower.get(id) ?? [], p.limit, p.cursor !== null, cursorOf(p.order), () => countFor(id)),
  );
}

/**
 * The pages of many borrowers: `inner` is one borrower's page (`b` is the borrower row of the outer
 * query). Column and direction come from SORTS and an enum, never from input; every value is a bound
 * parameter.
 */
function lateralPages(p: PreparedList, inner: SqlText, ids: unknown, limit: unknown): SqlText {
  return {
    sql: `select page.* from unnest(?::varchar[]) with ordinality as b(id, ord)
    cross join lateral (${inner.sql} limit ?) as page
    order by b.ord, page.${p.column} ${p.direction}, page.id ${p.direction}`,
    bindings: [ids, ...inner.bindings, limit],
  };
}

function borrowerPageQuery(em: EntityManager): QueryBuilder<Loan> {
  return em.createQueryBuilder(Loan, 'l').select('l.*').where('l.borrower_id = b.id');
}

/** Without client filters (the common case) the statement is prepared once per order and cursor. */
const unfilteredBorrowerPages = new Map<string, PreparedRead<'ids' | 'limit' | 'afterKey' | 'afterId'>>();

async function selectPagesByBorrower(
  em: EntityManager,
  ids: string[],
  p: PreparedList,
  filter: LoanFilterData | null | undefined,
): Promise<Record<string, unknown>[]> {
  if (isUnfiltered(filter)) {
    const key = `${sortName(p.order)}:${p.cursor !== null}`;
    let statement = unfilteredBorrowerPages.get(key);
    if (!statement) {
      statement = new PreparedRead((em2, param) => {
        const inner = borrowerPageQuery(em2);
        applyKeyset(inner, p, cursorParams(p, param));
        return lateralPages(p, sqlOf(ordered(inner, p)), param('ids'), param('limit'));
      });
      unfilteredBorrowerPages.set(key, statement);
    }
    return statement.rows(em, { ids, limit: p.limit + 1, afterKey: p.cursor?.key, afterId: p.cursor?.id });
  }
  const inner = borrowerPageQuery(em);
  applyLoanFilter(inner, filter);
  applyKeyset(inner, p);
  const { sql, bindings } = lateralPages(p, sqlOf(ordered(inner, p)), ids, p.limit + 1);
  const query = em.getKnex().raw(sql, bindings as Knex.Value[]);
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

/**
 * Small on purpose: the rows of a batch and their JSON are what is alive while it is formatted, and that must
 * stay well below V8's young generation even when V8 has shrunk it (after the process idled, to 1 MB). With
 * 1,000-row batches a download of 1,000,000 loans after an idle spell promoted most rows to the old
 * generation and the RSS grew by 40 to 150 MB; with 100 it stayed within 0 to 30 MB in the same runs (the
 * bench's own order still shows more: docs/profiling.md). A keyset SELECT
 * of 100 rows on the index is cheap; the cost is more round trips.
 */
export const LOAN_BATCH_SIZE = 100;

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

/** The longest a streamed list may wait for its client between two batches. */
const STREAM_IDLE_TIMEOUT = '30s';

/**
 * The batch SELECTs, written once per shape (with a borrower or not, first batch or after a row): the same text
 * on every batch, its values bound (`$1`...). Sent straight to the transaction's connection: building and
 * running each batch through knex (builder, compiler, runner, lodash) was a tenth of a 100-loan list's cost.
 */
const BATCH_STATEMENTS = new Map<string, string>();
function batchStatement(scoped: boolean, resumed: boolean): string {
  const key = `${scoped}:${resumed}`;
  let text = BATCH_STATEMENTS.get(key);
  if (text === undefined) {
    const where: string[] = [];
    let n = 0;
    if (scoped) where.push(`"l"."borrower_id" = $${++n}`);
    // The previous batch's last created_at, as PostgreSQL printed it: exact, whatever the precision.
    if (resumed) where.push(`(l.created_at, l.id) < ($${++n}::timestamptz, $${++n}::uuid)`);
    text =
      `select ${LOAN_ROW_COLUMNS.map((column) => `"l"."${column}"`).join(', ')} from "loans" as "l"` +
      (where.length > 0 ? ` where ${where.join(' and ')}` : '') +
      ` order by "l"."created_at" desc, "l"."id" desc limit $${++n}`;
    BATCH_STATEMENTS.set(key, text);
  }
  return text;
}

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
export async function forEachLoanBatch(
  em: EntityManager,
  onBatch: (rows: LoanRow[], last: boolean) => Promise<boolean | void> | boolean | void,
  options: { scope?: LoanScope; batchSize?: number } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? LOAN_BATCH_SIZE;
  const borrowerId = options.scope?.borrowerId;
  // Plain rows on one pooled connection, its transaction written out: no unit of work, entity or knex
  // transaction object is involved, and each statement is one round trip.
  const knex = em.getKnex();
  const pool = knex.client as unknown as {
    acquireConnection(): Promise<StreamConnection>;
    releaseConnection(connection: StreamConnection): Promise<unknown>;
  };
  const connection = await pool.acquireConnection();
  try {
    // One watchdog bounds every statement of the connection (db/query-timeout.ts).
    return await withStatementWatchdog(connection, async (watchdog) => {
      const run = async (text: string, values: unknown[] = []) => {
        emitStatement(knex, text, values);
        watchdog.arm();
        try {
          return (await connection.query({ text, values })).rows;
        } finally {
          watchdog.disarm();
        }
      };
      await run('begin transaction isolation level repeatable read read only');
      // A client that stops reading must not hold a connection and an old snapshot for ever:
      // PostgreSQL ends the transaction once it has waited this long between two batches.
      await run(`set local idle_in_transaction_session_timeout = '${STREAM_IDLE_TIMEOUT}'`);
      let after: LoanRow | undefined;
      let total = 0;
      for (;;) {
        const rows = await run(batchStatement(borrowerId !== undefined, after !== undefined), [
          ...(borrowerId !== undefined ? [borrowerId] : []),
          ...(after ? [after.created_at, after.id] : []),
          batchSize,
        ]);
        total += rows.length;
        const last = rows.length < batchSize;
        if ((await onBatch(rows, last)) === false || last) break;
        after = rows[rows.length - 1];
      }
      await run('commit');
      return total;
    });
  } catch (error) {
    // The snapshot ends here either way: rolled back, or, when the connection cannot answer, never lent again.
    emitStatement(knex, 'rollback', []);
    await connection.query({ text: 'rollback', values: [] }).catch(() => {
      connection.__knex__disposed ??= 'a streamed list could not roll back its transaction';
    });
    throw error;
  } finally {
    await pool.releaseConnection(connection);
  }
}

/** A pooled pg connection as the streamed list uses it (knex destroys one marked `__knex__disposed`). */
interface StreamConnection {
  query(config: { text: string; values: unknown[] }): Promise<{ rows: LoanRow[] }>;
  __knex__disposed?: unknown;
}
