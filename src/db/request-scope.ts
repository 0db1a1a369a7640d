import { AsyncLocalStorage } from 'node:async_hooks';
import type { MikroORM } from '@mikro-orm/postgresql';
import { sendCancelRequest, type CancellableConnection } from './cancel-request';

/**
 * What one request may do with the connection pool, and how its SQL is stopped.
 *
 * Every statement MikroORM runs goes through knex's `client.acquireConnection()` (plain queries and
 * transactions alike). `installRequestScopes` wraps that pair once per pool: inside `scope.run(...)`
 * (an AsyncLocalStorage, so it follows DataLoader batches and promise chains), a request
 * - holds at most `maxConnections` pool connections at once: the others wait in the scope's own queue,
 *   not in the pool's, so `/health` and other callers keep getting connections;
 * - can be aborted (deadline, client gone): waiting acquisitions fail, and every connection the request
 *   holds has its running statement cancelled (the protocol's CancelRequest with the connection's own key,
 *   which also works through PgBouncer: cancel-request.ts) and is then retired from the pool, so a late
 *   cancel can never hit another request's statement on a reused connection.
 * Outside a scope (REST, health checks, migrations) nothing changes.
 */

/** A pg connection as knex pools it (its cancel key: `processID`, `secretKey`). */
interface PooledConnection extends CancellableConnection {
  __knex__disposed?: unknown;
}

interface KnexClient {
  acquireConnection(): Promise<PooledConnection>;
  releaseConnection(connection: PooledConnection): Promise<void>;
}

/** What a scope needs of the pool: its own acquire/release, and a way to cancel a connection's statement. */
interface ScopedPool extends KnexClient {
  cancelQuery(connection: PooledConnection): Promise<unknown>;
}

const storage = new AsyncLocalStorage<DatabaseScope>();
const installed = new WeakSet<object>();

export class DatabaseScope {
  private readonly held = new Set<PooledConnection>();
  private readonly waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private acquiring = 0;
  private abortReason: Error | undefined;
  private client: ScopedPool | undefined;
  /** Statements cancelled by `abort` (for the log line and the tests). */
  cancelled = 0;

  constructor(private readonly maxConnections: number) {}

  /** Runs `work` (and everything it starts) inside this scope. */
  run<T>(work: () => T): T {
    return storage.run(this, work);
  }

  /** How many pool connections the request holds or is acquiring now. */
  get inUse(): number {
    return this.held.size + this.acquiring;
  }

  /**
   * Stops the request's database work: no new connection, and the statements running now are cancelled.
   * Resolves when PostgreSQL has been asked to cancel each of them.
   */
  async abort(reason: Error): Promise<void> {
    if (this.abortReason) return;
    this.abortReason = reason;
    for (const waiter of this.waiting.splice(0)) waiter.reject(reason);
    const client = this.client;
    if (!client) return;
    await Promise.all(
      [...this.held].map(async (connection) => {
        // Retired: knex's pool validation destroys it instead of handing it to another request.
        connection.__knex__disposed = 'retired after its request was aborted';
        this.cancelled++;
        await client.cancelQuery(connection).catch(() => undefined);
      }),
    );
  }

  /** @internal the wrapped `acquireConnection`. */
  async acquire(client: ScopedPool): Promise<PooledConnection> {
    this.client = client;
    if (this.abortReason) throw this.abortReason;
    while (this.inUse >= this.maxConnections) {
      await new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    }
    this.acquiring++;
    let connection: PooledConnection;
    try {
      connection = await client.acquireConnection();
    } finally {
      this.acquiring--;
    }
    const abortReason = this.abortReason as Error | undefined;
    if (abortReason) {
      await client.releaseConnection(connection);
      this.wakeOne();
      throw abortReason;
    }
    this.held.add(connection);
    return connection;
  }

  /** @internal the wrapped `releaseConnection`. */
  release(connection: PooledConnection): void {
    if (this.held.delete(connection)) this.wakeOne();
  }

  private wakeOne(): void {
    this.waiting.shift()?.resolve();
  }
}

/** The scope of the code running now, if any. */
export function currentDatabaseScope(): DatabaseScope | undefined {
  return storage.getStore();
}

/** Wraps the pool of this ORM's knex client once (idempotent). */
export function installRequestScopes(orm: MikroORM): void {
  const client = orm.em.getConnection().getKnex().client as unknown as KnexClient;
  if (installed.has(client)) return;
  installed.add(client);
  const acquire = client.acquireConnection.bind(client);
  const release = client.releaseConnection.bind(client);
  const owners = new WeakMap<PooledConnection, DatabaseScope>();
  const pool: ScopedPool = {
    acquireConnection: acquire,
    releaseConnection: release,
    cancelQuery: sendCancelRequest,
  };
  client.acquireConnection = async () => {
    const scope = storage.getStore();
    if (!scope) return acquire();
    const connection = await scope.acquire(pool);
    owners.set(connection, scope);
    return connection;
  };
  client.releaseConnection = (connection) => {
    const scope = owners.get(connection);
    if (scope) {
      owners.delete(connection);
      scope.release(connection);
    }
    return release(connection);
  };
}
