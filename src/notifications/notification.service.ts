import { isUuid } from '../common/ids';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../auth/viewer';
import type { Page } from '../common/cursor';
import { UnauthenticatedError, UserErrorCode, ValidationError } from '../common/errors';
import { Notification } from './notification.entity';
import {
  countUnread,
  findNotificationPage,
  type NotificationListArgs,
  type NotificationView,
} from './notification.queries';

export const NOTIFICATION_LIMITS = { maxIdsPerMark: 100 } as const;

export interface MarkReadCommand {
  ids?: readonly string[] | null;
  all?: boolean | null;
}

/** A borrower's in-app notifications (README "Notifications worker"): only ever the viewer's own. */
export class NotificationService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
  ) {}

  /** The viewer's own notifications; null for any other user (admins included), as `User.dashboard`. */
  async page(
    userId: string,
    args: NotificationListArgs,
  ): Promise<(Page<NotificationView> & { unreadCount: () => Promise<number> }) | null> {
    if (this.viewer.kind !== 'user' || this.viewer.userId !== userId) return null;
    const page = await findNotificationPage(this.em, userId, args);
    return { ...page, unreadCount: () => countUnread(this.em, userId) };
  }

  /**
   * Marks the viewer's own notifications read: those of `ids` (others' ids and unknown ids change nothing, and
   * are not told apart), or `all`. Answers how many were unread and are now read.
   */
  async markRead(command: MarkReadCommand): Promise<number> {
    if (this.viewer.kind !== 'user') throw new UnauthenticatedError();
    const userId = this.viewer.userId;
    const ids = command.ids ?? null;
    const all = command.all ?? false;
    if (ids === null && !all) {
      throw new ValidationError([{ field: 'ids', code: UserErrorCode.REQUIRED, message: 'give ids, or all: true' }]);
    }
    if (ids !== null && all) {
      throw new ValidationError([
        { field: 'all', code: UserErrorCode.INVALID, message: 'give ids or all: true, not both' },
      ]);
    }
    if (ids !== null && ids.length > NOTIFICATION_LIMITS.maxIdsPerMark) {
      throw new ValidationError([
        { field: 'ids', code: UserErrorCode.TOO_LONG, message: `at most ${NOTIFICATION_LIMITS.maxIdsPerMark} ids` },
      ]);
    }
    // A malformed id names no notification: like an unknown one, it is left out (and cannot reach SQL as a uuid).
    const wanted = ids === null ? null : [...new Set(ids.filter((id) => isUuid(id)))];
    if (wanted !== null && wanted.length === 0) return 0;
    return this.em.transactional((em) =>
      em.nativeUpdate(
        Notification,
        { user: userId, readAt: null, ...(wanted === null ? {} : { id: { $in: wanted } }) },
        { readAt: new Date() },
      ),
    );
  }
}
