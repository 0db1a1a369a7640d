/**
 * Domain errors: what services throw. They carry a code and know nothing of HTTP or GraphQL;
 * `error-mapping.ts` is the one place that turns them into userErrors, GraphQL errors or REST responses.
 */

/** Codes of problems the caller can fix (GraphQL `UserError.code`, REST `details[].code`). */
export enum UserErrorCode {
  REQUIRED = 'REQUIRED',
  BLANK = 'BLANK',
  TOO_SHORT = 'TOO_SHORT',
  TOO_LONG = 'TOO_LONG',
  INVALID = 'INVALID',
  OUT_OF_RANGE = 'OUT_OF_RANGE',
  TOO_PRECISE = 'TOO_PRECISE',
  NOT_FOUND = 'NOT_FOUND',
  TAKEN = 'TAKEN',
  INVALID_TRANSITION = 'INVALID_TRANSITION',
  STALE_VERSION = 'STALE_VERSION',
  INVALID_CREDENTIALS = 'INVALID_CREDENTIALS',
  LAST_ADMIN = 'LAST_ADMIN',
  /** The idempotency key was already used for another request (README "Idempotent creation"). */
  IDEMPOTENCY_KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED',
  /** A repayment in another currency than its loan's. */
  CURRENCY_MISMATCH = 'CURRENCY_MISMATCH',
  /** A repayment above what the loan still owes. */
  OVERPAYMENT = 'OVERPAYMENT',
  /** A repayment on a loan that is not DISBURSED. */
  LOAN_NOT_REPAYABLE = 'LOAN_NOT_REPAYABLE',
  /** A repayment on a disbursed loan that has no repayment schedule (README "Repayment schedules and repayments"). */
  NO_SCHEDULE = 'NO_SCHEDULE',
  /** The repayment reference was already used on this loan for another amount. */
  REFERENCE_REUSED = 'REFERENCE_REUSED',
  /** The repayment was reversed already. */
  ALREADY_REVERSED = 'ALREADY_REVERSED',
}

/** One problem with one input field; `field` uses the domain's names (`borrowerId`, `amount`...). */
export interface FieldProblem {
  field: string | null;
  message: string;
  code: UserErrorCode;
}

export abstract class DomainError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input the caller can correct; every failing field is listed at once. */
export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; '));
  }
}

/** A business rule refused the action (for example a lifecycle transition); the input itself was well-formed. */
export class BusinessRuleError extends DomainError {
  readonly code: string;
  constructor(readonly problem: FieldProblem) {
    super(problem.message);
    this.code = problem.code;
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly entity: string,
    readonly id: string,
    /** The input field that named the missing thing, when there is one. */
    readonly field: string | null = null,
  ) {
    super(`${entity} not found`);
  }
}

/** A malformed argument that is not a business field (a bad cursor, a malformed id). */
export class InvalidArgumentError extends DomainError {
  readonly code = 'BAD_USER_INPUT';
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(message);
  }
}

/** The database (or another dependency) cannot be reached: a 503, never a 500 with a driver message. */
export class ServiceUnavailableError extends DomainError {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(
    message = 'The service is temporarily unavailable, please retry',
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** No valid identity: no token where one is needed, or a token that is invalid or expired. */
export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  constructor(
    message = 'you must be logged in',
    /** RFC 6750 error for the WWW-Authenticate header, when a token was presented and refused. */
    readonly bearerError: 'invalid_token' | 'invalid_request' | null = null,
  ) {
    super(message);
  }
}

/**
 * Log-in attempts throttled (README "Log-in throttling"): too many failures for the account, or from the
 * client's address. Nothing was checked; the caller may try again after `retryAfterSeconds`.
 */
export class TooManyAttemptsError extends DomainError {
  readonly code = 'TOO_MANY_ATTEMPTS';
  constructor(
    readonly retryAfterSeconds: number,
    readonly scope: 'account' | 'address',
  ) {
    super(
      scope === 'account'
        ? `too many failed log-ins for this account: try again in ${retryAfterSeconds} s`
        : `too many failed log-ins from this address: try again in ${retryAfterSeconds} s`,
    );
  }
}

/** An identified caller acting on something that is not theirs, or beyond their role. */
export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';
  constructor(
    message = 'you may not do this',
    /** The input field naming what the caller may not touch, when there is one. */
    readonly field: string | null = null,
  ) {
    super(message);
  }
}
