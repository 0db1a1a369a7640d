import { UserErrorCode, ValidationError, type FieldProblem } from '../common/errors';
import { Role } from './role';

export const USER_LIMITS = { maxNameLength: 100, maxEmailLength: 254 } as const;

/** Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is proven by mail, not regex. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface UserFieldsCommand {
  /** `undefined`: leave as is (updates); `null`: clear. */
  firstName?: unknown;
  lastName?: unknown;
  email?: unknown;
  role?: Role | null;
}

export interface ValidUserFields {
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
  role?: Role;
}

export function validateUserFields(command: UserFieldsCommand): ValidUserFields {
  const problems: FieldProblem[] = [];
  const out: ValidUserFields = {};
  for (const field of ['firstName', 'lastName'] as const) {
    const value = command[field];
    if (value === undefined) continue;
    if (value === null) out[field] = null;
    else if (typeof value !== 'string')
      problems.push({ field, code: UserErrorCode.INVALID, message: 'must be a string' });
    else if (value.trim() === '')
      problems.push({ field, code: UserErrorCode.BLANK, message: 'must not be blank (send null to clear it)' });
    else if (value.trim().length > USER_LIMITS.maxNameLength) {
      problems.push({
        field,
        code: UserErrorCode.TOO_LONG,
        message: `must be at most ${USER_LIMITS.maxNameLength} characters`,
      });
    } else out[field] = value.trim();
  }
  if (command.email !== undefined) {
    const value = command.email;
    if (value === null) out.email = null;
    else if (typeof value !== 'string')
      problems.push({ field: 'email', code: UserErrorCode.INVALID, message: 'must be a string' });
    else {
      const email = value.trim().toLowerCase();
      if (email.length > USER_LIMITS.maxEmailLength) {
        problems.push({
          field: 'email',
          code: UserErrorCode.TOO_LONG,
          message: `must be at most ${USER_LIMITS.maxEmailLength} characters`,
        });
      } else if (!EMAIL.test(email))
        problems.push({ field: 'email', code: UserErrorCode.INVALID, message: 'is not an email address' });
      else out.email = email;
    }
  }
  if (command.role !== undefined && command.role !== null) {
    if (!Object.values(Role).includes(command.role))
      problems.push({ field: 'role', code: UserErrorCode.INVALID, message: 'is not a role' });
    else out.role = command.role;
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return out;
}
