import { LockMode, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { AccountEventKind } from '../auth/account-event.entity';
import { bumpTokenVersion, recordAccountEvent } from '../auth/token-versions';
import { borrowerScope, requireAdmin, type Viewer } from '../auth/viewer';
import type { Page } from '../common/cursor';
import { BusinessRuleError, ForbiddenError, NotFoundError, UserErrorCode, ValidationError } from '../common/errors';
import { newUserId } from '../common/ids';
import { recordEvent, roleName } from '../events/outbox';
import { Role } from './role';
import { User } from './user.entity';
import { findUserPage, findUserView, type UserListArgs } from './user.queries';
import type { UserView } from './user.view';
import { validateUserFields, type UserFieldsCommand } from './user.validation';

/**
 * Users: reads and writes, with who may do what. A borrower sees and edits themselves only (never their
 * role); admins see everyone, create users with any role and change the roles of others (nobody changes
 * their own). A role change revokes the user's tokens and enters the access audit trail.
 */
export class UserService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
  ) {}

  /** `null` for unknown and not-yours ids alike. */
  findById(id: string): Promise<UserView | null> {
    const scope = borrowerScope(this.viewer);
    if (id.length > 64 || (scope !== null && scope !== id)) return Promise.resolve(null);
    return findUserView(this.em, id);
  }

  list(args: UserListArgs): Promise<Page<UserView>> {
    const scope = borrowerScope(this.viewer);
    return findUserPage(this.em, scope === null ? args : { ...args, filter: { ...args.filter, ownedBy: scope } });
  }

  async create(command: UserFieldsCommand): Promise<User> {
    requireAdmin(this.viewer);
    const fields = validateUserFields(command);
    return this.saving(async (em) => {
      const user = em.create(User, { id: newUserId(), ...fields });
      await em.flush();
      return user;
    });
  }

  async update(id: string, command: UserFieldsCommand): Promise<User> {
    const scope = borrowerScope(this.viewer);
    // Another's account is FORBIDDEN whether or not it exists: ids leak nothing.
    if (scope !== null && scope !== id) throw new ForbiddenError('you may only update your own account', 'id');
    const fields = validateUserFields(command);
    return this.saving(async (em) => {
      let user = await em.findOne(User, { id });
      if (!user) throw new NotFoundError('User', id, 'id');
      if (fields.role !== undefined && fields.role !== user.role) {
        // Role changes of one user run one after another (a lock on the user's id for this transaction), and
        // the role is read again under it: two concurrent grants record ONE change, and the audit rows and
        // `user.role_changed` events of one user are numbered in the order they happened. Not a row lock, so
        // it cannot deadlock with the admins' row locks below. The two-key form: its key space is not the one of
        // the single-key locks (the relay's leader lock, the first admin's), so no user id can collide with them.
        await em
          .getConnection()
          .execute(
            "select pg_advisory_xact_lock(hashtext('branchloans.user_role'), hashtext(?))",
            [id],
            'all',
            em.getTransactionContext(),
          );
        user = await em.findOneOrFail(User, { id }, { refresh: true });
      }
      const fromRole = user.role;
      const roleChanges = fields.role !== undefined && fields.role !== fromRole;
      if (roleChanges && scope !== null) throw new ForbiddenError('only an admin may change a role', 'role');
      // Not even an admin: a role is granted or taken by someone else (sending the same role changes nothing).
      if (roleChanges && this.viewer.kind === 'user' && this.viewer.userId === id) {
        throw new ForbiddenError('nobody can change their own role: ask another admin', 'role');
      }
      if (user.role === Role.ADMIN && fields.role !== undefined && fields.role !== Role.ADMIN) {
        // Locks every admin row: two admins demoting each other at once cannot both pass this check.
        const admins = await em.find(User, { role: Role.ADMIN }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (admins.length <= 1) {
          throw new BusinessRuleError({
            field: 'role',
            code: UserErrorCode.LAST_ADMIN,
            message: 'this is the last admin: make another user an admin first',
          });
        }
      }
      em.assign(user, fields);
      if (roleChanges) {
        recordAccountEvent(em, {
          userId: id,
          kind: AccountEventKind.ROLE_CHANGED,
          by: this.viewer,
          fromRole,
          toRole: user.role,
        });
        recordEvent(em, 'user.role_changed', id, {
          userId: id,
          fromRole: roleName(fromRole),
          toRole: roleName(user.role),
        });
      }
      await em.flush();
      // The user's tokens die with the old role: their next request must log in again.
      if (roleChanges) await bumpTokenVersion(em, id);
      return user;
    });
  }

  /** A taken email is a userError, decided by the unique index (race-safe), not by a prior SELECT. */
  private async saving(work: (em: EntityManager) => Promise<User>): Promise<User> {
    try {
      return await this.em.transactional(work);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw emailTaken();
      throw error;
    }
  }
}

export function emailTaken(): ValidationError {
  return new ValidationError([
    { field: 'email', code: UserErrorCode.TAKEN, message: 'is already used by another user' },
  ]);
}
