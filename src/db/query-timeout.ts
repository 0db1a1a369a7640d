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
  __knex__disposed?: unknown;
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
