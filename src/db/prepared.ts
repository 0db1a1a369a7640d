import type { EntityManager, Knex } from '@mikro-orm/postgresql';

/** SQL with `?` placeholders and their values, as knex compiles a query. */
export interface SqlText {
  sql: string;
  bindings: readonly unknown[];
}

/** What a QueryBuilder compiles to (knex's `toSQL`), to extend before it is prepared (`limit ?`...). */
export function sqlOf(qb: { getKnexQuery(): Knex.QueryBuilder }): SqlText {
  const { sql, bindings } = qb.getKnexQuery().toSQL();
  return { sql, bindings };
}

/**
 * A read statement of a fixed shape, written once with MikroORM's QueryBuilder (table and column names
 * from the entity metadata) and then run with new values: the SQL text is compiled on first use and
 * reused, so a hot read path does not build a query, format its values into it and map it through the
 * unit of work on every request. Values travel as bound parameters (`$1`...), never in the SQL text.
 *
 * `build` receives `param(name)`, a placeholder to pass wherever a value goes; each must end up a bound
 * parameter of the built SQL, which the first compilation checks (knex drops a non-numeric `limit()`, so
 * a limit is appended as `limit ?` to the compiled text instead).
 */
export class PreparedRead<Name extends string> {
  private compiled: { sql: string; text: string; order: Name[] } | undefined;

  constructor(private readonly build: (em: EntityManager, param: (name: Name) => string) => SqlText) {}

  /** The rows as PostgreSQL returns them (column names, timestamps and decimals as text). */
  async rows(em: EntityManager, values: Record<Name, unknown>): Promise<Record<string, unknown>[]> {
    const { sql, text, order } = (this.compiled ??= this.compile(em));
    const params = order.map((name) => values[name]);
    const trx = em.getTransactionContext<Knex.Transaction>();
    if (trx) {
      // Inside a transaction: on its connection, through knex.
      const result = (await em
        .getKnex()
        .raw(sql, params as Knex.Value[])
        .transacting(trx)) as {
        rows: Record<string, unknown>[];
      };
      return result.rows;
    }
    // Otherwise straight to a pooled pg connection with the text positioned once (`$1`...): knex's query
    // runner (builder, events, positioning the bindings and formatting an error message WITH the values on
    // every call) is most of a small read's cost. The connection still comes from knex's pool through
    // `acquireConnection`, so the request's database scope (share of the pool, cancellation) applies.
    return pooledQuery(em.getKnex(), text, params);
  }

  private compile(em: EntityManager): { sql: string; text: string; order: Name[] } {
    const marker = (name: string) => `\u0000param:${name}\u0000`;
    const names = new Map<string, Name>();
    const { sql, bindings } = this.build(em, (name) => {
      names.set(marker(name), name);
      return marker(name);
    });
    const order = bindings.map((binding) => {
      const name = typeof binding === 'string' ? names.get(binding) : undefined;
      if (name === undefined)
        throw new Error(`prepared read: a value is not a parameter (${String(binding)}) in ${sql}`);
      return name;
    });
    if (sql.includes('\u0000')) throw new Error(`prepared read: a parameter was written into the SQL text: ${sql}`);
    const text = (em.getKnex().client as unknown as PooledClient).positionBindings(sql);
    return { sql, text, order };
  }
}

/**
 * One statement on a connection of knex's pool, outside any transaction, without knex's query runner
 * (see `PreparedRead.rows`). `text` has `$1`... placeholders; the values travel bound.
 */
export async function pooledQuery(
  knex: Knex,
  text: string,
  values: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  const client = knex.client as unknown as PooledClient;
  const connection = await client.acquireConnection();
  emitStatement(knex, text, values);
  try {
    // No `name`: PostgreSQL gets an unnamed statement (parsed with each call; what is prepared once here is the
    // SQL text). A named one would exist only on the server connection that prepared it, and PgBouncer's
    // transaction pooling (docs/deployment.md "PgBouncer") hands the next call another one.
    const result = await connection.query({ text, values });
    return result.rows;
  } finally {
    await client.releaseConnection(connection);
  }
}

/**
 * knex's own statement event, as its runner emits it, for a statement sent to a connection without the runner:
 * listeners (statement counts, tracing) see every statement.
 */
export function emitStatement(knex: Knex, text: string, values: unknown[]): void {
  (knex.client as unknown as PooledClient).emit('query', { method: 'raw', sql: text, bindings: values });
}

/** What the read needs of knex's pg client: its pool, and how it numbers placeholders. */
interface PooledClient {
  acquireConnection(): Promise<{
    query(config: { text: string; values: unknown[] }): Promise<{ rows: Record<string, unknown>[] }>;
  }>;
  releaseConnection(connection: unknown): Promise<unknown>;
  positionBindings(sql: string): string;
  emit(event: 'query', data: { method: string; sql: string; bindings: unknown[] }): boolean;
}

/** Rows of `entity`'s table named and typed as MikroORM maps them (property names, Dates), without entities. */
export function mapRows<T>(em: EntityManager, entity: { name: string }, rows: Record<string, unknown>[]): T[] {
  const meta = em.getMetadata().get(entity.name);
  const driver = em.getDriver();
  return rows.map((row) => driver.mapResult(row, meta) as T);
}
