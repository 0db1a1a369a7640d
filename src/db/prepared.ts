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
  private compiled: { sql: string; order: Name[] } | undefined;

  constructor(private readonly build: (em: EntityManager, param: (name: Name) => string) => SqlText) {}

  /** The rows as PostgreSQL returns them (column names, timestamps and decimals as text). */
  async rows(em: EntityManager, values: Record<Name, unknown>): Promise<Record<string, unknown>[]> {
    const { sql, order } = (this.compiled ??= this.compile(em));
    const query = em.getKnex().raw(
      sql,
      order.map((name) => values[name] as Knex.Value),
    );
    const trx = em.getTransactionContext<Knex.Transaction>();
    if (trx) query.transacting(trx);
    const result = (await query) as { rows: Record<string, unknown>[] };
    return result.rows;
  }

  private compile(em: EntityManager): { sql: string; order: Name[] } {
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
    return { sql, order };
  }
}

/** Rows of `entity`'s table named and typed as MikroORM maps them (property names, Dates), without entities. */
export function mapRows<T>(em: EntityManager, entity: { name: string }, rows: Record<string, unknown>[]): T[] {
  const meta = em.getMetadata().get(entity.name);
  const driver = em.getDriver();
  return rows.map((row) => driver.mapResult(row, meta) as T);
}
