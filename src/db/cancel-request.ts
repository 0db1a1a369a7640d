import net from 'node:net';

/** What a pg `Client` knows of its own backend: the key PostgreSQL (or PgBouncer) gave it at start. */
export interface CancellableConnection {
  processID?: number | null;
  secretKey?: number | null;
  host?: string;
  port?: number;
}

/** The protocol's CancelRequest code (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80877102;
/** A cancel is a courtesy: the connection is retired anyway, so a server that does not answer is not waited for. */
const CANCEL_TIMEOUT_MS = 2000;

/**
 * Asks the server to cancel the statement running on `connection`, with the protocol's CancelRequest (the
 * connection's process id and secret key, on a new socket that is closed right after), as psql's Ctrl-C does.
 *
 * Not `select pg_cancel_backend(pid)` on another connection (knex's `cancelQuery`): behind PgBouncer the pid a
 * client got is PgBouncer's own key, not a backend's, and in transaction pooling the client's statement runs on
 * whichever server connection it was given, so `pg_cancel_backend` would cancel nothing (or, by chance, someone
 * else's statement). PgBouncer forwards a CancelRequest to the server connection serving that client now, and
 * PostgreSQL itself takes it straight from the postmaster, without a login or a connection slot.
 *
 * Resolves once the server has closed the cancel socket (it has then passed the request on), or after 2 s;
 * never rejects.
 */
export function sendCancelRequest(connection: CancellableConnection): Promise<void> {
  const { processID, secretKey, host, port } = connection;
  if (processID == null || secretKey == null || !port) return Promise.resolve();
  const message = Buffer.alloc(16);
  message.writeInt32BE(16, 0);
  message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  message.writeInt32BE(processID, 8);
  message.writeInt32BE(secretKey, 12);
  return new Promise((resolve) => {
    const socket =
      host && host.startsWith('/')
        ? net.connect(`${host}/.s.PGSQL.${port}`)
        : net.connect({ host: host || 'localhost', port });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, CANCEL_TIMEOUT_MS);
    // Not half-closed after the message: the server closes the socket once it has passed the request on.
    socket.once('connect', () => socket.write(message));
    socket.once('close', done);
    socket.once('error', done);
  });
}
