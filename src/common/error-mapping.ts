import { GraphQLError } from 'graphql';
import {
  BusinessRuleError,
  DomainError,
  ForbiddenError,
  InvalidArgumentError,
  NotFoundError,
  ServiceUnavailableError,
  TooManyAttemptsError,
  UnauthenticatedError,
  UserErrorCode,
  ValidationError,
  type FieldProblem,
} from './errors';

/**
 * The ONE place where errors change shape: domain errors become GraphQL `userErrors`, GraphQL
 * errors with `extensions.code`, or REST responses. Anything unrecognised is an internal error:
 * logged with its stack on the server, masked for the client.
 */

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  '57014', // query_canceled: statement_timeout (DB_STATEMENT_TIMEOUT_MS), or a cancel from the request's guard
  '57P01', // admin_shutdown (also pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57P04', // database_dropped
  '3D000', // invalid_catalog_name (database does not exist)
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
]);

/**
 * Messages of the layers that carry no code: pg's client (`query_timeout`, a connection timeout, a socket
 * gone), knex's pool (`Timeout acquiring a connection`, which MikroORM re-wraps under another name) and
 * knex's transactions (a statement after its connection was lost mid-transaction).
 */
const UNAVAILABLE_MESSAGES = new RegExp(
  [
    'Connection terminated',
    'timeout exceeded when trying to connect',
    'is not currently accepting connections',
    'Query read timeout',
    'Timeout acquiring a connection',
    'Unable to acquire a connection',
    'Client has encountered a connection error and is not queryable',
    'Client was closed and is not queryable',
    'Transaction query already complete',
    'Connection ended unexpectedly',
    // pg's connectionTimeoutMillis: a server that accepts the TCP connection but never answers (frozen).
    '^timeout expired$',
  ].join('|'),
  'i',
);

/**
 * True for errors meaning "the database cannot answer now", whatever layer (pg, knex pool, MikroORM) raised
 * them: unreachable, refusing connections, out of resources (class 53), too slow (a statement or query
 * timeout), or a connection lost mid-request. Always a 503, never a 500: the request may succeed later.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    if (e instanceof ServiceUnavailableError) return true;
    const candidate = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; previous?: unknown };
    const code = typeof candidate.code === 'string' ? candidate.code : '';
    // 08: connection exceptions; 53: insufficient resources (too many connections, out of memory, disk full).
    if (CONNECTION_ERROR_CODES.has(code) || code.startsWith('08') || /^53[0-9A-Z]{3}$/.test(code)) return true;
    if (candidate.name === 'KnexTimeoutError' || candidate.name === 'ConnectionException') return true;
    // 55000 (object_not_in_prerequisite_state) is connection-related only with the third message.
    const message = typeof candidate.message === 'string' ? candidate.message : '';
    if (UNAVAILABLE_MESSAGES.test(message)) return true;
    e = candidate.cause ?? candidate.previous;
  }
  return false;
}

/** Normalises anything thrown into a DomainError when it is one we understand, else `null`. */
export function asDomainError(error: unknown): DomainError | null {
  if (error instanceof DomainError) return error;
  if (isDatabaseUnavailable(error)) return new ServiceUnavailableError(undefined, error);
  return null;
}

export interface UserErrorData {
  field: string[] | null;
  message: string;
  code: UserErrorCode;
}

/** Problems a mutation reports in its payload, or `null` when the error is not the caller's to fix. */
export function toUserErrors(error: unknown, fieldPath: (field: string) => string[]): UserErrorData[] | null {
  const problems = userProblems(error);
  return (
    problems?.map((p) => ({ field: p.field === null ? null : fieldPath(p.field), message: p.message, code: p.code })) ??
    null
  );
}

function userProblems(error: unknown): FieldProblem[] | null {
  if (error instanceof ValidationError) return error.problems;
  if (error instanceof BusinessRuleError) return [error.problem];
  if (error instanceof NotFoundError) {
    return [{ field: error.field, code: UserErrorCode.NOT_FOUND, message: `${error.entity} not found` }];
  }
  return null;
}

export function toGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const domain = asDomainError(error);
  if (domain instanceof ServiceUnavailableError) {
    return new GraphQLError(domain.message, {
      extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503 } },
      originalError: domain,
    });
  }
  if (domain instanceof InvalidArgumentError) {
    return new GraphQLError(domain.message, { extensions: { code: 'BAD_USER_INPUT', argumentName: domain.argument } });
  }
  if (domain instanceof ValidationError || domain instanceof BusinessRuleError) {
    return new GraphQLError(domain.message, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  if (domain instanceof NotFoundError) {
    return new GraphQLError(domain.message, { extensions: { code: 'NOT_FOUND' } });
  }
  if (domain instanceof UnauthenticatedError) {
    // A refused token fails the whole request with 401; a missing one only the fields that need it.
    const http = domain.bearerError ? { http: { status: 401 } } : {};
    return new GraphQLError(domain.message, { extensions: { code: 'UNAUTHENTICATED', ...http } });
  }
  if (domain instanceof ForbiddenError) {
    return new GraphQLError(domain.message, { extensions: { code: 'FORBIDDEN' } });
  }
  if (domain instanceof TooManyAttemptsError) {
    return new GraphQLError(domain.message, {
      extensions: {
        code: domain.code,
        retryAfterSeconds: domain.retryAfterSeconds,
        http: { status: 429, headers: new Map([['retry-after', String(domain.retryAfterSeconds)]]) },
      },
    });
  }
  return internalGraphQLError(error);
}

export function internalGraphQLError(error?: unknown): GraphQLError {
  return new GraphQLError('Internal server error', {
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
    originalError: error instanceof Error ? error : undefined,
  });
}

export interface RestErrorBody {
  error: {
    code: string;
    message: string;
    details?: { field: string | null; code: string; message: string }[];
    request_id?: string;
  };
}

/** REST names of domain fields: the legacy snake_case, except what REST carries in a header. */
const REST_FIELD_NAMES: Record<string, string> = { idempotencyKey: 'Idempotency-Key' };
const snakeCase = (field: string) => REST_FIELD_NAMES[field] ?? field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Business refusals that are not conflicts with the resource's state: the request itself cannot be processed. */
const UNPROCESSABLE_CODES: ReadonlySet<string> = new Set([UserErrorCode.IDEMPOTENCY_KEY_REUSED]);

/** Status and JSON body for the REST shim (fields in the legacy snake_case). `null`: internal error. */
export function toRestError(error: unknown): { status: number; body: RestErrorBody } | null {
  const domain = asDomainError(error);
  if (!domain) return null;
  const problems = userProblems(domain);
  const details = problems?.map((p) => ({ field: p.field && snakeCase(p.field), code: p.code, message: p.message }));
  if (domain instanceof ValidationError) {
    return { status: 400, body: { error: { code: domain.code, message: 'The request has invalid fields', details } } };
  }
  if (domain instanceof BusinessRuleError) {
    const status = UNPROCESSABLE_CODES.has(domain.code) ? 422 : 409;
    return { status, body: { error: { code: domain.code, message: domain.message, details } } };
  }
  if (domain instanceof NotFoundError) {
    return { status: 404, body: { error: { code: 'NOT_FOUND', message: domain.message } } };
  }
  if (domain instanceof InvalidArgumentError) {
    return {
      status: 400,
      body: {
        error: {
          code: 'INVALID_ARGUMENT',
          message: domain.message,
          details: [{ field: snakeCase(domain.argument), code: UserErrorCode.INVALID, message: domain.message }],
        },
      },
    };
  }
  if (domain instanceof UnauthenticatedError) {
    return { status: 401, body: { error: { code: domain.code, message: domain.message } } };
  }
  if (domain instanceof ForbiddenError) {
    const forbiddenDetails = domain.field
      ? [{ field: snakeCase(domain.field), code: domain.code, message: domain.message }]
      : undefined;
    return { status: 403, body: { error: { code: domain.code, message: domain.message, details: forbiddenDetails } } };
  }
  if (domain instanceof ServiceUnavailableError) {
    return { status: 503, body: { error: { code: domain.code, message: domain.message } } };
  }
  if (domain instanceof TooManyAttemptsError) {
    return { status: 429, body: { error: { code: domain.code, message: domain.message } } };
  }
  return null;
}
