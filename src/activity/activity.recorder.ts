import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from '../users/user.entity';
import { ActivityEvent, type ActivityKind } from './activity-event.entity';

/** Queues an activity event on `em`: it is written by the caller's flush, inside the caller's transaction. */
export function recordActivity(em: EntityManager, userId: string, kind: ActivityKind, at = new Date()): void {
  em.create(ActivityEvent, { user: em.getReference(User, userId), kind, at });
}
