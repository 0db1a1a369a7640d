import pino, { type Logger } from 'pino';
import { sqlWithoutValues, textWithoutValues } from './redaction';

/**
 * Fields of driver errors that hold input values: PostgreSQL's `detail` (`Key (email)=(amina@example.com)
 * already exists.`, `Failing row contains (...)`), `where` (the statement context), `internalQuery`, and the
 * `bindings` knex attaches to some errors. The rest (`code`, `severity`, `constraint`, `table`, `column`,
 * `routine`...) names things, never values, and stays.
 */
const VALUE_FIELDS = ['detail', 'where', 'internalQuery', 'bindings', 'parameters', 'params', 'values'];
const MAX_DEPTH = 8;

/**
 * pino's standard `err` serializer (type, message and stack with their causes, own fields, nested errors),
 * then every message and stack without the values a failed statement carries (README "Errors"): the SQL
 * keeps its shape with `?` for each literal, PostgreSQL's quotes of refused input become `[redacted]`,
 * and the fields above are dropped. In every environment, at every level.
 */
export function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown;
  if (serialized === error || serialized === null || typeof serialized !== 'object') return serialized;
  // pino builds each serialized error (the root and the nested ones) on one prototype: those are fresh
  // copies, safe to change. Other objects among the fields are the application's own and are left alone.
  scrub(serialized as Record<string, unknown>, Object.getPrototypeOf(serialized) as object, 0);
  return serialized;
}

function scrub(serialized: Record<string, unknown>, errorPrototype: object, depth: number): void {
  for (const field of VALUE_FIELDS) {
    if (field in serialized) delete serialized[field];
  }
  for (const [key, value] of Object.entries(serialized)) {
    if (typeof value === 'string') {
      if (key === 'message' || key === 'stack') serialized[key] = textWithoutValues(value);
      else if (key === 'sql') serialized[key] = sqlWithoutValues(value);
      continue;
    }
    if (depth >= MAX_DEPTH) continue;
    // A nested error (`originalError`, `previous`...) or the list of an AggregateError's errors.
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (item !== null && typeof item === 'object' && Object.getPrototypeOf(item) === errorPrototype) {
        scrub(item as Record<string, unknown>, errorPrototype, depth + 1);
      }
    }
  }
}

/** Serializers every logger of the app uses. */
export const logSerializers = { err: serializeError };

/** `logger` with the serializers above, for loggers made elsewhere (tests pass their own). */
export function withLogSerializers(logger: Logger): Logger {
  return logger.child({}, { serializers: logSerializers });
}
