import { ForbiddenError, UnauthenticatedError } from '../common/errors';
import { Role } from '../users/role';

/**
 * Who is calling.
 * - `anonymous`: no token.
 * - `user`: a verified, unrevoked token; `role` is the user's CURRENT role, read from the database on this
 *   request (`access.ts`), not the role written in the token.
 * - `legacy`: the REST shim in its default open mode (REST_AUTH=open), where the legacy API had no
 *   identity at all. It may do what that API did; it is never an actor in the audit trail.
 * - `apiKey`: a server-to-server caller of the REST shim with REST_AUTH=api-key (`api-keys/`), checked on
 *   this request. Bound to the ADMIN role (`borrowerId` null: every loan) or to one borrower (`role`
 *   BORROWER, `borrowerId` set: that borrower's loans only). Not a user: never an actor in the audit
 *   trail, only the role it acted with.
 */
export type Viewer =
  { kind: 'anonymous' } | { kind: 'user'; userId: string; role: Role } | { kind: 'legacy' } | ApiKeyViewer;

export type ApiKeyViewer =
  | { kind: 'apiKey'; keyId: string; role: Role.ADMIN; borrowerId: null }
  | { kind: 'apiKey'; keyId: string; role: Role.BORROWER; borrowerId: string };

export const ANONYMOUS: Viewer = { kind: 'anonymous' };
export const LEGACY: Viewer = { kind: 'legacy' };

export function isAdmin(viewer: Viewer): boolean {
  return (
    viewer.kind === 'legacy' || ((viewer.kind === 'user' || viewer.kind === 'apiKey') && viewer.role === Role.ADMIN)
  );
}

/**
 * The borrower whose data the viewer is confined to, or `null` when it sees everything.
 * Throws UNAUTHENTICATED for anonymous callers: no service reads on their behalf.
 */
export function borrowerScope(viewer: Viewer): string | null {
  if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
  if (isAdmin(viewer)) return null;
  if (viewer.kind === 'apiKey') return viewer.borrowerId;
  return (viewer as { userId: string }).userId;
}

/** True when the viewer may see (or act on) the borrower `userId`'s data. */
export function canSeeBorrower(viewer: Viewer, userId: string): boolean {
  const scope = borrowerScope(viewer);
  return scope === null || scope === userId;
}

export function requireAdmin(viewer: Viewer): void {
  if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
  if (!isAdmin(viewer)) throw new ForbiddenError('this action is for administrators');
}

/** The user recorded as having done something, or `null` (the open legacy API, or the system). */
export function actorId(viewer: Viewer): string | null {
  return viewer.kind === 'user' ? viewer.userId : null;
}

export function actorRole(viewer: Viewer): Role | null {
  return viewer.kind === 'user' || viewer.kind === 'apiKey' ? viewer.role : null;
}
