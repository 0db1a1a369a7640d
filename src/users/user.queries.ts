import type { EntityManager, QueryBuilder } from '@mikro-orm/postgresql';
import { clampPageSize, decodeInstantCursor, encodeCursor, toPage, type Page } from '../common/cursor';
import { isSet } from '../loans/loan.queries';
import { User } from './user.entity';
import { USER_VIEW_PROPERTIES, type UserView } from './user.view';
import { mapRows, PreparedRead, sqlOf } from '../db/prepared';
import type { Role } from './role';

export interface UserFilterData {
  role?: Role[] | null;
  email?: string | null;
  /** Set by the service, never by a client: confines the list to this one user. */
  ownedBy?: string | null;
}

export interface UserListArgs {
  first?: number | null;
  after?: string | null;
  filter?: UserFilterData | null;
}

const SORT = 'users:CREATED_AT:DESC';

function applyUserFilter(qb: QueryBuilder<User>, filter: UserFilterData | null | undefined): void {
  if (!filter) return;
  if (isSet(filter.role) && filter.role.length > 0) qb.andWhere({ role: { $in: filter.role } });
  if (isSet(filter.email)) qb.andWhere({ email: filter.email.trim().toLowerCase() });
  if (isSet(filter.ownedBy)) qb.andWhere({ id: filter.ownedBy });
}

const userViews = (em: EntityManager, rows: Record<string, unknown>[]) => mapRows<UserView>(em, User, rows);

const USERS_BY_ID = new PreparedRead<'ids'>((em, param) =>
  sqlOf(
    em
      .createQueryBuilder(User, 'u')
      .select([...USER_VIEW_PROPERTIES])
      .where('u.id = any(?)', [param('ids')]),
  ),
);

/** Users as views (plain data, no entity), in no particular order; unknown ids are left out. */
export async function findUserViews(em: EntityManager, ids: readonly string[]): Promise<UserView[]> {
  return userViews(em, await USERS_BY_ID.rows(em, { ids }));
}

/** One user as a view, or null. */
export async function findUserView(em: EntityManager, id: string): Promise<UserView | null> {
  return (await findUserViews(em, [id]))[0] ?? null;
}

type PageParam = 'limit' | 'afterKey' | 'afterId';
/** A page with no filter (the common case), prepared once with and once without a cursor. */
const unfilteredPages = [false, true].map(
  (withCursor) =>
    new PreparedRead<PageParam>((em, param) => {
      const qb = em.createQueryBuilder(User, 'u').select([...USER_VIEW_PROPERTIES]);
      if (withCursor) qb.andWhere('(u.created_at, u.id) < (?, ?)', [param('afterKey'), param('afterId')]);
      const { sql, bindings } = sqlOf(qb.orderBy([{ createdAt: 'desc' }, { id: 'desc' }]));
      return { sql: `${sql} limit ?`, bindings: [...bindings, param('limit')] };
    }),
);

const isUnfiltered = (filter: UserFilterData | null | undefined) =>
  !filter || Object.values(filter).every((v) => v === null || v === undefined || (Array.isArray(v) && v.length === 0));

/** Newest users first, keyset-paginated on the (created_at, id) index; plain rows, no entities. */
export async function findUserPage(em: EntityManager, args: UserListArgs): Promise<Page<UserView>> {
  const limit = clampPageSize(args.first);
  const hasCursor = args.after !== null && args.after !== undefined;
  let cursor: { key: string; id: string } | undefined;
  if (hasCursor) {
    cursor = decodeInstantCursor(args.after!, SORT, (id) => id.length <= 64);
  }
  let rows: UserView[];
  if (isUnfiltered(args.filter)) {
    const statement = unfilteredPages[hasCursor ? 1 : 0];
    rows = userViews(em, await statement.rows(em, { limit: limit + 1, afterKey: cursor?.key, afterId: cursor?.id }));
  } else {
    const qb = em.createQueryBuilder(User, 'u').select([...USER_VIEW_PROPERTIES]);
    applyUserFilter(qb, args.filter);
    if (cursor) qb.andWhere('(u.created_at, u.id) < (?, ?)', [cursor.key, cursor.id]);
    qb.orderBy([{ createdAt: 'desc' }, { id: 'desc' }]).limit(limit + 1);
    rows = await qb.execute<UserView[]>('all', true);
  }
  return toPage(
    rows,
    limit,
    hasCursor,
    (user) => encodeCursor({ sort: SORT, key: user.createdAt.toISOString(), id: user.id }),
    () => {
      const count = em.createQueryBuilder(User, 'u');
      applyUserFilter(count, args.filter);
      return count.getCount();
    },
  );
}
