import { raw } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from '../users/user.entity';
import type { Role } from '../users/role';
import { AccountEvent, type AccountEventKind } from './account-event.entity';
import { actorId, actorRole, type Viewer } from './viewer';

/**
 * Revokes every token of `userId` issued so far: `token_version + 1` in SQL (atomic, so two revocations
 * at once both count and a token issued from one is not undone by the other). Returns the new version,
 * or null when the user does not exist. Call it inside the transaction of the change it goes with.
 */
export async function bumpTokenVersion(em: EntityManager, userId: string): Promise<number | null> {
  const row = await em
    .createQueryBuilder(User)
    .update({ tokenVersion: raw('token_version + 1') })
    .where({ id: userId })
    .returning(['tokenVersion'])
    .execute<{ tokenVersion: number } | null>('get');
  return row ? Number(row.tokenVersion) : null;
}

/** Queues an entry of the access audit trail on `em` (written by the caller's flush, in its transaction). */
export function recordAccountEvent(
  em: EntityManager,
  event: { userId: string; kind: AccountEventKind; by: Viewer; fromRole?: Role; toRole?: Role },
): void {
  const actor = actorId(event.by);
  em.create(AccountEvent, {
    user: em.getReference(User, event.userId),
    kind: event.kind,
    actor: actor === null ? null : em.getReference(User, actor),
    actorRole: actorRole(event.by),
    fromRole: event.fromRole ?? null,
    toRole: event.toRole ?? null,
    at: new Date(),
  });
}
