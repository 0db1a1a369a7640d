import type { EntityManager, QueryBuilder } from '@mikro-orm/postgresql';
import { clampPageSize, decodeCursor, encodeCursor, toPage, type Page } from '../common/cursor';
import { InvalidArgumentError } from '../common/errors';
import { isSet } from '../loans/loan.queries';
import { User } from './user.entity';
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
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function applyUserFilter(qb: QueryBuilder<User>, filter: UserFilterData | null | undefined): void {
  if (!filter) return;
  if (isSet(filter.role) && filter.role.length > 0) qb.andWhere({ role: { $in: filter.role } });
  if (isSet(filter.email)) qb.andWhere({ email: filter.email.trim().toLowerCase() });
  if (isSet(filter.ownedBy)) qb.andWhere({ id: filter.ownedBy });
}

/** Newest users first, keyset-paginated on the (created_at, id) index. */
export async function findUserPage(em: EntityManager, args: UserListArgs): Promise<Page<User>> {
  const limit = clampPageSize(args.first);
  const qb = em.createQueryBuilder(User, 'u').select('*');
  applyUserFilter(qb, args.filter);
  const hasCursor = args.after !== null && args.after !== undefined;
  if (hasCursor) {
    const cursor = decodeCursor(args.after!, SORT);
    if (!ISO.test(cursor.key) || Number.isNaN(Date.parse(cursor.key)) || cursor.id.length > 64) {
      throw new InvalidArgumentError('after', '"after" is not a cursor returned by this list');
    }
    qb.andWhere('(u.created_at, u.id) < (?, ?)', [cursor.key, cursor.id]);
  }
  qb.orderBy([{ createdAt: 'desc' }, { id: 'desc' }]).limit(limit + 1);
  const rows = await qb.getResultList();
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
