import type { MikroORM } from '@mikro-orm/postgresql';
import type { CloudEvent } from '../events/envelope';
import { User } from '../users/user.entity';
import { claimEvent } from '../worker/processed-events';
import { Notification } from './notification.entity';
import { newNotificationId, notificationFor } from './notification.messages';

export const NOTIFICATIONS_CONSUMER = 'notifications';

/**
 * Writes the borrower's notification for one event, and the event's `processed_events` row, in ONE transaction:
 * a redelivered event finds its row and changes nothing. Events that tell the borrower nothing are only marked.
 */
export function notificationHandler(orm: MikroORM) {
  return async ({ event }: { event: CloudEvent }): Promise<void> => {
    const draft = notificationFor(event);
    await orm.em.fork().transactional(async (em) => {
      if (!(await claimEvent(em, NOTIFICATIONS_CONSUMER, event.id))) return;
      if (!draft) return;
      em.create(Notification, {
        id: newNotificationId(),
        user: em.getReference(User, draft.userId),
        eventId: event.id,
        kind: draft.kind,
        title: draft.title,
        message: draft.message,
        loanId: draft.loanId,
      });
    });
  };
}
