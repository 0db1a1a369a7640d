import { isUuid } from '../common/ids';
import type { EntityManager } from '@mikro-orm/postgresql';
import { clampPageSize, decodeInstantCursor, encodeCursor, toPage, type Page } from '../common/cursor';
import { Notification, type NotificationKind } from './notification.entity';

export interface NotificationListArgs {
  first?: number | null;
  after?: string | null;
  unreadOnly?: boolean | null;
}

/** A notification as GraphQL shows it (rows, not entities: a read path). */
export interface NotificationView {
  id: string;
  kind: NotificationKind;
  title: string;
  message: string;
  loanId: string | null;
  createdAt: Date;
  readAt: Date | null;
}

const SORT = 'notifications:CREATED_AT:DESC';
const VIEW = ['id', 'kind', 'title', 'message', 'loanId', 'createdAt', 'readAt'] as const;

/**
 * A user's notifications, newest first, keyset-paginated on (user_id, created_at, id); `unreadOnly` keeps the
 * unread ones. `totalCount` counts what the filter keeps.
 */
export async function findNotificationPage(
  em: EntityManager,
  userId: string,
  args: NotificationListArgs,
): Promise<Page<NotificationView>> {
  const limit = clampPageSize(args.first);
  const hasCursor = args.after !== null && args.after !== undefined;
  const where = (alias: string) => {
    const qb = em.createQueryBuilder(Notification, alias).where({ user: userId });
    if (args.unreadOnly) qb.andWhere({ readAt: null });
    return qb;
  };
  const qb = where('n').select([...VIEW]);
  if (hasCursor) {
    const cursor = decodeInstantCursor(args.after!, SORT, isUuid);
    qb.andWhere('(n.created_at, n.id) < (?, ?)', [cursor.key, cursor.id]);
  }
  qb.orderBy([{ createdAt: 'desc' }, { id: 'desc' }]).limit(limit + 1);
  const rows = await qb.execute<NotificationView[]>('all', true);
  return toPage(
    rows,
    limit,
    hasCursor,
    (n) => encodeCursor({ sort: SORT, key: n.createdAt.toISOString(), id: n.id }),
    () => where('n').getCount(),
  );
}

export function countUnread(em: EntityManager, userId: string): Promise<number> {
  return em.count(Notification, { user: userId, readAt: null });
}
