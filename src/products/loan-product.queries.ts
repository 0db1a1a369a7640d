import type { EntityManager } from '@mikro-orm/postgresql';
import { clampPageSize, decodeInstantCursor, encodeCursor, toPage, type Page } from '../common/cursor';
import { LoanProduct, PRODUCT_ID_PREFIX } from './loan-product.entity';
import type { LoanProductView } from './loan-product.view';

export interface LoanProductListArgs {
  first?: number | null;
  after?: string | null;
  includeArchived?: boolean | null;
}

const SORT = 'loan_products:CREATED_AT:ASC';

/** Product ids are `prd_` + hex; anything else names no product (and never reaches SQL). */
export const isProductId = (id: string) => id.startsWith(PRODUCT_ID_PREFIX) && id.length <= 32;

/** Products as views (mapped rows, no entities), in no particular order; unknown ids are left out. */
export async function findProductViews(em: EntityManager, ids: readonly string[]): Promise<LoanProductView[]> {
  const wanted = ids.filter(isProductId);
  if (wanted.length === 0) return [];
  return em
    .createQueryBuilder(LoanProduct, 'p')
    .select('*')
    .where({ id: { $in: wanted } })
    .execute<LoanProductView[]>('all', true);
}

/** Oldest first (a catalogue reads in the order it was built), keyset-paginated on (created_at, id). */
export async function findProductPage(em: EntityManager, args: LoanProductListArgs): Promise<Page<LoanProductView>> {
  const limit = clampPageSize(args.first);
  const hasCursor = args.after !== null && args.after !== undefined;
  const qb = em.createQueryBuilder(LoanProduct, 'p').select('*');
  if (!args.includeArchived) qb.andWhere({ active: true });
  if (hasCursor) {
    const cursor = decodeInstantCursor(args.after!, SORT, (id) => id.length <= 32);
    qb.andWhere('(p.created_at, p.id) > (?, ?)', [cursor.key, cursor.id]);
  }
  qb.orderBy([{ createdAt: 'asc' }, { id: 'asc' }]).limit(limit + 1);
  const rows = await qb.execute<LoanProductView[]>('all', true);
  return toPage(
    rows,
    limit,
    hasCursor,
    (product) => encodeCursor({ sort: SORT, key: product.createdAt.toISOString(), id: product.id }),
    () => em.count(LoanProduct, args.includeArchived ? {} : { active: true }),
  );
}

/** Active products of one currency: the candidates of `financingOptions` (a handful per currency). */
export function findActiveProductsIn(em: EntityManager, currency: string): Promise<LoanProductView[]> {
  return em
    .createQueryBuilder(LoanProduct, 'p')
    .select('*')
    .where({ currency, active: true })
    .orderBy([{ code: 'asc' }])
    .execute<LoanProductView[]>('all', true);
}
