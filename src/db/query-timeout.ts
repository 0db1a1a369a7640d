/**
 * pg's client-side `query_timeout` answers the caller with "Query read timeout" but leaves the connection as
 * it was: its statement possibly still running (or the server frozen), the next query queued behind it.
 * Handed back to the pool, it would make the next request wait for the same hung server, and the
 * transaction that got the timeout would wait once more for its own ROLLBACK.
 *
 * So a connection whose statement timed out is retired at once: marked disposed for knex's pool (which
 * destroys it instead of lending it again) and its socket closed, which fails whatever is still queued on
 * it (the ROLLBACK) immediately with "Connection terminated". PostgreSQL ends the backend (and rolls back
 * its transaction) when it sees the socket gone.
 */

/** The part of a pg `Client` used here (`connection.stream` is its socket). */
interface PgClient {
  query: (...args: unknown[]) => unknown;
  end(): Promise<void>;
  connection?: { stream?: { destroy(): void } };
  /** pg reads `query_timeout` from here for every statement it sends. */
  connectionParameters?: { query_timeout?: number };
  __knex__disposed?: unknown;
  /** Set while `withStatementWatchdog` bounds the statements itself: the per-statement wrapper stands aside. */
  __watchdog?: boolean;
}

/** pg's message for its own `query_timeout`. */
export const QUERY_READ_TIMEOUT = 'Query read timeout';

function isQueryTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === QUERY_READ_TIMEOUT;
}

function retire(client: PgClient): void {
  if (client.__knex__disposed) return;
  // knex logs this reason when its pool drops the connection.
  client.__knex__disposed = 'retired: a statement got no answer within its query timeout';
  const socket = client.connection?.stream;
  if (socket) socket.destroy();
  else client.end().catch(() => undefined);
}

/**
 * The knex pool's `afterCreate` hook: wraps the new connection's `query` so that a client-side timeout
 * retires the connection. Every form of `Client.query` is covered: with a callback (how knex calls it),
 * returning a promise, or a submittable (a cursor or stream, which reports through its 'error' event).
 */
export function retireOnQueryTimeout(
  connection: unknown,
  done: (error: Error | null, connection: unknown) => void,
): void {
  const client = connection as PgClient;
  const query = client.query;
  client.query = function (this: PgClient, ...args: unknown[]) {
    if (client.__watchdog) return query.apply(this, args);
    const last = args.length > 0 ? args[args.length - 1] : undefined;
    if (typeof last === 'function') {
      const callback = last as (error: unknown, result: unknown) => void;
      args[args.length - 1] = (error: unknown, result: unknown) => {
        if (isQueryTimeout(error)) retire(client);
        callback(error, result);
      };
      return query.apply(this, args);
    }
    const submittable = args[0] as { submit?: unknown; on?: (event: string, listener: (e: unknown) => void) => void };
    if (submittable && typeof submittable.submit === 'function' && typeof submittable.on === 'function') {
      submittable.on('error', (error) => {
        if (isQueryTimeout(error)) retire(client);
      });
      return query.apply(this, args);
    }
    const result = query.apply(this, args);
    if (result instanceof Promise) {
      // Observes the rejection without handling it for the caller, who still gets `result`.
      result.catch((error: unknown) => {
        if (isQueryTimeout(error)) retire(client);
      });
    }
    return result;
  };
  done(null, connection);
}

/** What a statement run under `withStatementWatchdog` must call around itself. */
export interface StatementWatchdog {
  /** Arms the watchdog: the connection is retired unless `disarm` is called within the timeout. */
  arm(): void;
  disarm(): void;
}

/**
 * Runs `work` (many statements in a row on ONE connection, as the streamed `GET /api/loans` does: a thousand
 * batches per million loans) with one watchdog timer instead of pg's per-statement `query_timeout` and the
 * per-statement wrapper above. The protection is the same (a statement without an answer within `timeoutMs`
 * retires the connection, which fails the statement with "Connection terminated"), but nothing is allocated
 * per statement: pg's timer and the wrapper each wrap the statement's callback in a closure holding its result,
 * and over a long stream those closures got every batch's rows promoted to the old generation (the gateway's RSS
 * grew by about 100 MB per million loans streamed, against under 10 MB without them; docs/profiling.md).
 * The connection is handed back exactly as it was found.
 */
export async function withStatementWatchdog<T>(
  connection: unknown,
  work: (watchdog: StatementWatchdog) => Promise<T>,
): Promise<T> {
  const client = connection as PgClient;
  const parameters = client.connectionParameters;
  const timeoutMs = parameters?.query_timeout;
  // No client-side timeout configured (maintenance connections), or already watched: nothing to replace.
  if (!parameters || !timeoutMs || client.__watchdog) {
    return work({ arm: () => undefined, disarm: () => undefined });
  }
  parameters.query_timeout = 0;
  client.__watchdog = true;
  const expire = () => retire(client);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await work({
      arm: () => {
        clearTimeout(timer);
        timer = setTimeout(expire, timeoutMs);
      },
      disarm: () => {
        clearTimeout(timer);
        timer = undefined;
      },
    });
  } finally {
    clearTimeout(timer);
    parameters.query_timeout = timeoutMs;
    client.__watchdog = false;
  }
}
