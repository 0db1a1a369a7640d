import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import type { Page } from '../common/cursor';
import { NotFoundError, UserErrorCode, ValidationError } from '../common/errors';
import { newUserId } from '../common/ids';
import { User } from './user.entity';
import { findUserPage, type UserListArgs } from './user.queries';
import { validateUserFields, type UserFieldsCommand } from './user.validation';

export class UserService {
  constructor(private readonly em: EntityManager) {}

  findById(id: string): Promise<User | null> {
    if (id.length > 64) return Promise.resolve(null);
    return this.em.findOne(User, { id });
  }

  list(args: UserListArgs): Promise<Page<User>> {
    return findUserPage(this.em, args);
  }

  async create(command: UserFieldsCommand): Promise<User> {
    const fields = validateUserFields(command);
    return this.saving(async (em) => {
      const user = em.create(User, { id: newUserId(), ...fields });
      await em.flush();
      return user;
    });
  }

  async update(id: string, command: UserFieldsCommand): Promise<User> {
    const fields = validateUserFields(command);
    return this.saving(async (em) => {
      const user = await em.findOne(User, { id });
      if (!user) throw new NotFoundError('User', id, 'id');
      em.assign(user, fields);
      await em.flush();
      return user;
    });
  }

  /** A taken email is a userError, decided by the unique index (race-safe), not by a prior SELECT. */
  private async saving(work: (em: EntityManager) => Promise<User>): Promise<User> {
    try {
      return await this.em.transactional(work);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new ValidationError([
          { field: 'email', code: UserErrorCode.TAKEN, message: 'is already used by another user' },
        ]);
      }
      throw error;
    }
  }
}
