import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { recordActivity } from '../activity/activity.recorder';
import { ActivityKind } from '../activity/activity-event.entity';
import { PASSWORD_LIMITS } from '../config/config';
import {
  BusinessRuleError,
  NotFoundError,
  UnauthenticatedError,
  UserErrorCode,
  ValidationError,
  type FieldProblem,
} from '../common/errors';
import { newUserId } from '../common/ids';
import { recordEvent, roleName } from '../events/outbox';
import { User } from '../users/user.entity';
import { Role } from '../users/role';
import { emailTaken } from '../users/user.service';
import { validateUserFields } from '../users/user.validation';
import { keyReused } from '../idempotency/idempotency.service';
import { AccountEventKind } from './account-event.entity';
import type { LoginThrottler } from './login-throttle';
import { hashPassword, needsRehash, verifyPassword } from './password';
import { bumpTokenVersion, recordAccountEvent } from './token-versions';
import type { IssuedToken, TokenService } from './tokens';
import { requireAdmin, type Viewer } from './viewer';

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

export interface ChangePasswordCommand {
  currentPassword: unknown;
  newPassword: unknown;
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

/** What the auth service needs besides the unit of work: the token issuer, the throttle, who is calling. */
export interface AuthDependencies {
  tokens: TokenService;
  throttle: LoginThrottler;
  viewer: Viewer;
  /** The client's address as express resolves it (TRUST_PROXY), for the per-address throttle. */
  clientAddress: string;
}

/**
 * Accounts: sign-up, log-in (throttled), password change, log-out and token revocation. Passwords never
 * leave this class but as hashes. Revocation raises the user's token version (`token-versions.ts`).
 */
export class AuthService {
  private readonly tokens: TokenService;

  constructor(
    private readonly em: EntityManager,
    private readonly deps: AuthDependencies,
  ) {
    this.tokens = deps.tokens;
  }

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
        recordEvent(em, 'user.signed_up', user.id, { userId: user.id, role: roleName(user.role) });
        await em.flush();
        return { user, ...(await this.issueFor(user)) };
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw emailTaken();
      throw error;
    }
  }

  /**
   * The answer of an idempotent `signUp` replayed (README "Idempotent creation"): the account the first request
   * created and a FRESH token for it, provided `password` is still its password. The first token was never kept
   * (a credential at rest), and the password is not part of the key's fingerprint (a fast hash of it would be at
   * rest too): it is checked here, throttled like a log-in. Another password is another request:
   * IDEMPOTENCY_KEY_REUSED.
   */
  async resumeSignUp(userId: string, password: unknown): Promise<Session> {
    const user = await this.em.findOne(User, { id: userId }, { populate: ['passwordHash'] });
    const attempt = await this.deps.throttle.begin(this.em, {
      email: user?.email ?? null,
      address: this.deps.clientAddress,
    });
    const text = typeof password === 'string' ? password : '';
    const tooLong = [...text].length > PASSWORD_LIMITS.max;
    const ok = await verifyPassword(tooLong ? null : user?.passwordHash, tooLong ? '' : text);
    if (!user || !ok) throw keyReused('signUp', 'signUp');
    await attempt.succeeded();
    return { user, ...(await this.issueFor(user)) };
  }

  /**
   * Unknown email, no password set, wrong password: one answer, and one Argon2id verification each,
   * so neither the answer nor its timing tells them apart. Throttled first (TooManyAttemptsError, with no
   * password checked): per email and per client address, shared by every replica.
   */
  async logIn(command: LogInCommand): Promise<Session> {
    const email = typeof command.email === 'string' ? command.email.trim().toLowerCase() : '';
    const password = typeof command.password === 'string' ? command.password : '';
    const tooLong = [...password].length > PASSWORD_LIMITS.max;
    const validEmail = email !== '' && email.length <= 254;
    const attempt = await this.deps.throttle.begin(this.em, {
      email: validEmail ? email : null,
      address: this.deps.clientAddress,
    });
    const user = validEmail ? await this.em.findOne(User, { email }, { populate: ['passwordHash'] }) : null;
    const ok = await verifyPassword(tooLong ? null : user?.passwordHash, tooLong ? '' : password);
    if (!user || !ok) throw invalidCredentials();
    await attempt.succeeded();

    return this.em.transactional(async (em) => {
      // Hashes made with weaker parameters are upgraded while the plain password is at hand.
      if (user.passwordHash && needsRehash(user.passwordHash)) {
        await em.nativeUpdate(User, { id: user.id }, { passwordHash: await hashPassword(password) });
      }
      recordActivity(em, user.id, ActivityKind.LOG_IN);
      await em.flush();
      return { user, ...(await this.issueFor(user)) };
    });
  }

  /**
   * The caller's new password, given the current one (checked and throttled as a log-in is). Every token
   * issued before is revoked; the answer carries a new token, so only this session stays logged in.
   */
  async changePassword(command: ChangePasswordCommand): Promise<Session> {
    const userId = this.callerId();
    const newPassword = validatePassword(command.newPassword, 'newPassword');
    if (typeof newPassword !== 'string') throw new ValidationError([newPassword]);
    const current = typeof command.currentPassword === 'string' ? command.currentPassword : '';
    const user = await this.em.findOne(User, { id: userId }, { populate: ['passwordHash'] });
    if (!user) throw new UnauthenticatedError();
    const attempt = await this.deps.throttle.begin(this.em, {
      email: user.email,
      address: this.deps.clientAddress,
    });
    const tooLong = [...current].length > PASSWORD_LIMITS.max;
    if (!(await verifyPassword(tooLong ? null : user.passwordHash, tooLong ? '' : current))) {
      throw new BusinessRuleError({
        field: 'currentPassword',
        code: UserErrorCode.INVALID_CREDENTIALS,
        message: 'the current password is incorrect',
      });
    }
    await attempt.succeeded();

    const passwordHash = await hashPassword(newPassword);
    return this.em.transactional(async (em) => {
      await em.nativeUpdate(User, { id: userId }, { passwordHash });
      const version = await bumpTokenVersion(em, userId);
      if (version === null) throw new UnauthenticatedError();
      recordAccountEvent(em, { userId, kind: AccountEventKind.PASSWORD_CHANGED, by: this.deps.viewer });
      await em.flush();
      user.tokenVersion = version;
      return { user, ...(await this.tokens.issue({ userId, role: user.role, tokenVersion: version })) };
    });
  }

  /**
   * Logs the caller out: revokes EVERY token of theirs (all sessions, all devices), by raising their token
   * version; there is no per-token denylist. Returns the account.
   */
  async logOut(): Promise<User> {
    const userId = this.callerId();
    return this.revoke(userId, AccountEventKind.LOGGED_OUT);
  }

  /** Admins: revokes every token of `userId` (all their sessions), in the access audit trail. */
  async revokeTokens(userId: string): Promise<User> {
    requireAdmin(this.deps.viewer);
    return this.revoke(userId, AccountEventKind.TOKENS_REVOKED);
  }

  private revoke(userId: string, kind: AccountEventKind): Promise<User> {
    return this.em.transactional(async (em) => {
      const version = userId.length > 64 ? null : await bumpTokenVersion(em, userId);
      if (version === null) throw new NotFoundError('User', userId, 'userId');
      recordAccountEvent(em, { userId, kind, by: this.deps.viewer });
      await em.flush();
      return em.findOneOrFail(User, { id: userId });
    });
  }

  private callerId(): string {
    const viewer = this.deps.viewer;
    if (viewer.kind !== 'user') throw new UnauthenticatedError();
    return viewer.userId;
  }

  private issueFor(user: User): Promise<IssuedToken> {
    return this.tokens.issue({ userId: user.id, role: user.role, tokenVersion: user.tokenVersion });
  }
}
