import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { recordActivity } from '../activity/activity.recorder';
import { ActivityKind } from '../activity/activity-event.entity';
import { PASSWORD_LIMITS } from '../config/config';
import { BusinessRuleError, UserErrorCode, ValidationError, type FieldProblem } from '../common/errors';
import { newUserId } from '../common/ids';
import { User } from '../users/user.entity';
import { Role } from '../users/role';
import { emailTaken } from '../users/user.service';
import { validateUserFields } from '../users/user.validation';
import { hashPassword, needsRehash, verifyPassword } from './password';
import type { IssuedToken, TokenService } from './tokens';

export interface SignUpCommand {
  email: unknown;
  password: unknown;
  firstName: unknown;
  lastName: unknown;
}

export interface LogInCommand {
  email: unknown;
  password: unknown;
}

export interface Session extends IssuedToken {
  user: User;
}

/** The one answer for every failed log-in: it never tells whether the email exists. */
export function invalidCredentials(): BusinessRuleError {
  return new BusinessRuleError({
    field: null,
    code: UserErrorCode.INVALID_CREDENTIALS,
    message: 'the email or the password is incorrect',
  });
}

export function validatePassword(password: unknown, field = 'password'): FieldProblem | string {
  if (password === undefined || password === null || password === '') {
    return { field, code: UserErrorCode.REQUIRED, message: 'is required' };
  }
  if (typeof password !== 'string') return { field, code: UserErrorCode.INVALID, message: 'must be a string' };
  // Characters as people count them (code points), so an emoji is one.
  const length = [...password].length;
  if (length < PASSWORD_LIMITS.min) {
    return { field, code: UserErrorCode.TOO_SHORT, message: `must be at least ${PASSWORD_LIMITS.min} characters` };
  }
  if (length > PASSWORD_LIMITS.max) {
    return { field, code: UserErrorCode.TOO_LONG, message: `must be at most ${PASSWORD_LIMITS.max} characters` };
  }
  return password;
}

/** Accounts: sign-up and log-in. Open to anonymous callers; passwords never leave this class but as hashes. */
export class AuthService {
  constructor(
    private readonly em: EntityManager,
    private readonly tokens: TokenService,
  ) {}

  async signUp(command: SignUpCommand): Promise<Session> {
    const problems: FieldProblem[] = [];
    let fields: ReturnType<typeof validateUserFields> = {};
    try {
      fields = validateUserFields({ firstName: command.firstName, lastName: command.lastName, email: command.email });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      problems.push(...error.problems);
    }
    for (const field of ['email', 'firstName', 'lastName'] as const) {
      const value = command[field];
      if ((value === undefined || value === null) && !problems.some((p) => p.field === field)) {
        problems.push({ field, code: UserErrorCode.REQUIRED, message: 'is required' });
      }
    }
    const password = validatePassword(command.password);
    if (typeof password !== 'string') problems.push(password);
    if (problems.length > 0 || typeof password !== 'string') throw new ValidationError(problems);

    const passwordHash = await hashPassword(password);
    try {
      return await this.em.transactional(async (em) => {
        // Sign-up always makes a borrower: roles are granted by an admin, never chosen.
        const user = em.create(User, { id: newUserId(), ...fields, role: Role.BORROWER, passwordHash });
        await em.flush();
        return { user, ...(await this.tokens.issue({ userId: user.id, role: user.role })) };
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw emailTaken();
      throw error;
    }
  }

  /**
   * Unknown email, no password set, wrong password: one answer, and one Argon2id verification each,
   * so neither the answer nor its timing tells them apart.
   */
  async logIn(command: LogInCommand): Promise<Session> {
    const email = typeof command.email === 'string' ? command.email.trim().toLowerCase() : '';
    const password = typeof command.password === 'string' ? command.password : '';
    const tooLong = [...password].length > PASSWORD_LIMITS.max;
    const user =
      email === '' || email.length > 254
        ? null
        : await this.em.findOne(User, { email }, { populate: ['passwordHash'] });
    const ok = await verifyPassword(tooLong ? null : user?.passwordHash, tooLong ? '' : password);
    if (!user || !ok) throw invalidCredentials();

    return this.em.transactional(async (em) => {
      // Hashes made with weaker parameters are upgraded while the plain password is at hand.
      if (user.passwordHash && needsRehash(user.passwordHash)) {
        await em.nativeUpdate(User, { id: user.id }, { passwordHash: await hashPassword(password) });
      }
      recordActivity(em, user.id, ActivityKind.LOG_IN);
      await em.flush();
      return { user, ...(await this.tokens.issue({ userId: user.id, role: user.role })) };
    });
  }
}
