/**
 * What every string and instant from a client must satisfy before it may reach SQL, written once for
 * both adapters. PostgreSQL refuses U+0000 in `text` (the driver error used to read as an outage, 503),
 * silently stores U+FFFD for a lone UTF-16 surrogate (so `a\ud800b` and `a\udfffb` became one borrower),
 * and its `date`/`timestamptz` refuse what JavaScript's Date accepts (year 0, negative years, years past
 * 9999 once formatted as ISO text). Where the rules are applied, before any resolver or handler runs:
 * - REST: `http/input-guard.ts`, over the whole parsed body and the query string (REST router);
 * - GraphQL: `graphql/input-rules.ts`, over every argument, literal or variable (an Apollo plugin);
 * - cursors: `common/cursor.ts` (the decoded parts) and each list's key check (`isInstantKey`).
 */

/** A lone high surrogate, or a lone low one (`String.prototype.isWellFormed`, which lib ES2022 does not type). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const TEXT_MESSAGES = {
  nul: 'must not contain the null character (U+0000)',
  surrogate: 'must be well-formed Unicode (it holds a lone UTF-16 surrogate)',
} as const;

/** Why a string may not be stored or compared in SQL, or `null` when it may. */
export function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return TEXT_MESSAGES.nul;
  if (LONE_SURROGATE.test(text)) return TEXT_MESSAGES.surrogate;
  return null;
}

export type InputPath = (string | number)[];

export interface TextProblem {
  /** Where the string is: object keys and array indexes from the root. */
  path: InputPath;
  /** True when the bad string is an object key (then `path` is the object holding it). */
  key: boolean;
  message: string;
}

/** A path as a linked list from the leaf: walking a 50,000-deep value must not copy 50,000-long arrays. */
interface PathLink {
  parent: PathLink | null;
  part: string | number;
}

function toPath(link: PathLink | null, rootPath: InputPath): InputPath {
  const parts: InputPath = [];
  for (let l = link; l; l = l.parent) parts.push(l.part);
  return [...rootPath, ...parts.reverse()];
}

/**
 * Every bad string (values and object keys) of a parsed JSON value, at most `max` of them. Iterative:
 * a 100 kB body of `[[[[...` nests 50,000 deep, which a recursive walk would answer with a RangeError.
 */
export function findTextProblems(root: unknown, max = 20, rootPath: InputPath = []): TextProblem[] {
  const problems: TextProblem[] = [];
  const stack: { value: unknown; at: PathLink | null }[] = [{ value: root, at: null }];
  while (stack.length > 0 && problems.length < max) {
    const { value, at } = stack.pop()!;
    if (typeof value === 'string') {
      const message = textProblem(value);
      if (message) problems.push({ path: toPath(at, rootPath), key: false, message });
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], at: { parent: at, part: i } });
    } else if (typeof value === 'object' && value !== null) {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i];
        const message = textProblem(key);
        // The key itself is not echoed back: it is what cannot be represented.
        if (message) problems.push({ path: toPath(at, rootPath), key: true, message: `a field name ${message}` });
        else stack.push({ value: (value as Record<string, unknown>)[key], at: { parent: at, part: key } });
      }
    }
  }
  return problems.slice(0, max);
}

/** `filter.createdAfter`, `items[0].name`: a path as people read it. */
export function formatPath(path: InputPath): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part),
    '',
  );
}

/**
 * Instants a client may send: years 1 to 9999 in UTC. PostgreSQL's timestamptz reaches 4713 BC to
 * 294276 AD, but JavaScript has a year 0 PostgreSQL lacks, and the statistics turn instants into ISO
 * `YYYY-MM-DD` day text, which past 9999 becomes `+010000-01-01`. RFC 3339 itself has 4-digit years.
 */
export const INSTANT_RANGE = { min: '0001-01-01T00:00:00Z', max: '9999-12-31T23:59:59.999Z' } as const;
const MIN_INSTANT_MS = Date.parse(INSTANT_RANGE.min);
const MAX_INSTANT_MS = Date.parse(INSTANT_RANGE.max);

export const INSTANT_RANGE_MESSAGE = `must be an instant between ${INSTANT_RANGE.min} and ${INSTANT_RANGE.max}`;

export function isStorableInstant(date: Date): boolean {
  const ms = date.getTime();
  return ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS;
}

const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * A sort key as the lists write it into cursors (`Date.toISOString()`): a real calendar instant in range.
 * `Date.parse` alone would take `2025-02-30` (as March 2nd), which PostgreSQL refuses.
 */
export function isInstantKey(key: string): boolean {
  if (!ISO_MILLIS.test(key)) return false;
  const date = new Date(key);
  return !Number.isNaN(date.getTime()) && date.toISOString() === key && isStorableInstant(date);
}
