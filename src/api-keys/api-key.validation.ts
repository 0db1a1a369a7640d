import { UserErrorCode, ValidationError, type FieldProblem } from '../common/errors';
import { textProblem } from '../common/input-rules';
import { Role } from '../users/role';

export const API_KEY_LIMITS = { maxNameLength: 100, maxBorrowerIdLength: 64 } as const;

export interface CreateApiKeyCommand {
  name: unknown;
  role?: unknown;
  borrowerId?: unknown;
  /** Optional; a Date (GraphQL's DateTimeISO, the CLI's parsed `--expires-at`). */
  expiresAt?: unknown;
}

export interface ValidApiKeyCommand {
  name: string;
  /** Exactly one of the two (the database checks it too). */
  binding: { role: Role.ADMIN } | { borrowerId: string };
  expiresAt: Date | null;
}

/**
 * The rules of a new key, every failing field at once. A key is bound to the ADMIN role or to one borrower:
 * a BORROWER role alone would name no borrower to confine the key to, so it is refused with a pointer to
 * `borrowerId` rather than given some meaning of its own.
 */
export function validateCreateApiKey(command: CreateApiKeyCommand, now = new Date()): ValidApiKeyCommand {
  const problems: FieldProblem[] = [];
  const problem = (field: string, code: UserErrorCode, message: string) => problems.push({ field, code, message });

  let name = '';
  if (command.name === undefined || command.name === null) problem('name', UserErrorCode.REQUIRED, 'is required');
  else if (typeof command.name !== 'string') problem('name', UserErrorCode.INVALID, 'must be a string');
  else if (command.name.trim() === '') problem('name', UserErrorCode.BLANK, 'must not be blank');
  else if (command.name.trim().length > API_KEY_LIMITS.maxNameLength) {
    problem('name', UserErrorCode.TOO_LONG, `must be at most ${API_KEY_LIMITS.maxNameLength} characters`);
  } else if (textProblem(command.name) !== null) problem('name', UserErrorCode.INVALID, textProblem(command.name)!);
  else name = command.name.trim();

  const role = command.role ?? null;
  const borrowerId = command.borrowerId ?? null;
  let binding: ValidApiKeyCommand['binding'] | null = null;
  if (role === null && borrowerId === null) {
    problem('role', UserErrorCode.REQUIRED, 'bind the key to the ADMIN role (role) or to one borrower (borrowerId)');
  } else if (role !== null && borrowerId !== null) {
    problem('borrowerId', UserErrorCode.INVALID, 'a key is bound to a role or to one borrower, not both');
  } else if (role !== null) {
    if (role === Role.ADMIN) binding = { role: Role.ADMIN };
    else if (role === Role.BORROWER) {
      problem(
        'role',
        UserErrorCode.INVALID,
        "a BORROWER key must say whose loans it may see: give borrowerId instead (the key then sees and creates that borrower's loans only)",
      );
    } else problem('role', UserErrorCode.INVALID, 'must be ADMIN');
  } else if (typeof borrowerId !== 'string') problem('borrowerId', UserErrorCode.INVALID, 'must be a string');
  else if (borrowerId.trim() === '') problem('borrowerId', UserErrorCode.BLANK, 'must not be blank');
  else if (borrowerId.trim().length > API_KEY_LIMITS.maxBorrowerIdLength || textProblem(borrowerId) !== null) {
    problem('borrowerId', UserErrorCode.NOT_FOUND, 'no user has this id');
  } else binding = { borrowerId: borrowerId.trim() };

  let expiresAt: Date | null = null;
  const expires = command.expiresAt ?? null;
  if (expires !== null) {
    if (!(expires instanceof Date) || Number.isNaN(expires.getTime())) {
      problem('expiresAt', UserErrorCode.INVALID, 'must be an instant such as 2027-01-01T00:00:00Z');
    } else if (expires.getTime() <= now.getTime()) {
      problem('expiresAt', UserErrorCode.OUT_OF_RANGE, 'must be in the future');
    } else if (expires.getUTCFullYear() > 9999) {
      problem('expiresAt', UserErrorCode.OUT_OF_RANGE, 'must be before the year 10000');
    } else expiresAt = expires;
  }

  if (problems.length > 0 || binding === null) throw new ValidationError(problems);
  return { name, binding, expiresAt };
}
