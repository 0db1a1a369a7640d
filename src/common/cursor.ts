import { InvalidArgumentError } from './errors';
import { isInstantKey, textProblem } from './input-rules';

/** What a keyset cursor holds: the sort it belongs to, the sort key of the row, and its id. */
export interface CursorPayload {
  sort: string;
  key: string;
  id: string;
}

const PREFIX = 'c1:';

/** Opaque to clients (base64url of a small JSON document), versioned so that its format can change. */
export function encodeCursor(payload: CursorPayload): string {
  return Buffer.from(PREFIX + JSON.stringify([payload.sort, payload.key, payload.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, expectedSort: string, argument = 'after'): CursorPayload {
  const invalid = () =>
    new InvalidArgumentError(argument, `"${argument}" is not a cursor returned by this list with this order`);
  if (cursor.length > 512) throw invalid();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(PREFIX.length));
  } catch {
    throw invalid();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    !parsed.every((part) => typeof part === 'string') ||
    // A cursor is client input too: a decoded part with U+0000 or a lone surrogate would reach SQL.
    parsed.some((part) => textProblem(part) !== null) ||
    parsed[0] !== expectedSort
  ) {
    throw invalid();
  }
  return { sort: parsed[0], key: parsed[1], id: parsed[2] };
}

/**
 * A cursor of a list ordered by creation instant, then id (`(created_at, id)` keysets): decoded, with its key an
 * instant and its id one this list could have written (`isId`), or INVALID_ARGUMENT on `after`.
 */
export function decodeInstantCursor(after: string, sort: string, isId: (id: string) => boolean): CursorPayload {
  const cursor = decodeCursor(after, sort);
  if (!isInstantKey(cursor.key) || !isId(cursor.id)) {
    throw new InvalidArgumentError('after', '"after" is not a cursor returned by this list');
  }
  return cursor;
}

export const PAGE_SIZE = { default: 20, min: 1, max: 100 } as const;

/** `first` is clamped, not refused: 0 or 1000 give the nearest allowed page size. */
export function clampPageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return PAGE_SIZE.default;
  return Math.min(PAGE_SIZE.max, Math.max(PAGE_SIZE.min, Math.trunc(first)));
}

export interface PageInfoData {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfoData;
  /** Runs the COUNT only when called, i.e. only when `totalCount` is selected. */
  totalCount: () => Promise<number>;
}

/** Builds a page from `limit + 1` fetched rows (the extra row only tells whether there is a next page). */
export function toPage<T>(
  rows: T[],
  limit: number,
  hadCursor: boolean,
  cursorOf: (row: T) => string,
  totalCount: () => Promise<number>,
): Page<T> {
  const nodes = rows.slice(0, limit);
  const edges = nodes.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > limit,
      // Forward pagination only: a page fetched after a cursor has at least the cursor's row before it.
      hasPreviousPage: hadCursor,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
    totalCount,
  };
}
