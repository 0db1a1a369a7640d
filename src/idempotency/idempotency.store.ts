import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import { IdempotencyKey } from './idempotency-key.entity';

/** The answer kept for a key: what a replay gives back. */
export interface StoredAnswer {
  /** HTTP status (REST); null for answers without one (GraphQL). */
  status: number | null;
  headers: Record<string, string> | null;
  /** Replayed byte for byte. */
  body: string;
}

export interface KeyRecord {
  operation: string;
  requestHash: string;
  answer: StoredAnswer | null;
}

/** Expired rows each claim deletes (besides its own), so the table shrinks whatever the traffic. */
export const PURGE_PER_CLAIM = 4;

/**
 * The SQL of the idempotency keys. Every statement runs on `em`'s transaction (the caller opens it), so the
 * key row, the creation and the answer commit together or not at all. Names come from the entity's metadata;
 * values travel as bound parameters (`$1`...), never in the SQL text (as `PreparedRead` does).
 */
export class IdempotencyStore {
  constructor(private readonly em: EntityManager) {}

  private async query(
    sql: string,
    bindings: readonly unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount: number }> {
    const query = this.em.getKnex().raw(sql, bindings as Knex.Value[]);
    const trx = this.em.getTransactionContext<Knex.Transaction>();
    if (trx) query.transacting(trx);
    return (await query) as { rows: Record<string, unknown>[]; rowCount: number };
  }

  private names() {
    const meta = this.em.getMetadata().get(IdempotencyKey.name);
    const column = (property: Exclude<keyof IdempotencyKey, symbol>) => `"${meta.properties[property].fieldNames[0]}"`;
    return {
      table: `"${meta.tableName}"`,
      scope: column('scope'),
      key: column('key'),
      operation: column('operation'),
      requestHash: column('requestHash'),
      responseStatus: column('responseStatus'),
      responseHeaders: column('responseHeaders'),
      responseBody: column('responseBody'),
      createdAt: column('createdAt'),
      expiresAt: column('expiresAt'),
    };
  }

  /**
   * Takes the key for this transaction: true when it was free (never used, or expired and now taken over), false
   * when it belongs to a request that already completed. The unique (scope, key) decides: of concurrent claims one
   * inserts, and the others WAIT in PostgreSQL for its transaction to end: when it commits, they find its row (the
   * `do update` takes its row lock and its `where` leaves a live row as it is); when it rolls back, one of them
   * inserts instead. An expired row is taken over in the same statement, never replayed.
   */
  async claim(scope: string, key: string, operation: string, requestHash: string, ttlHours: number): Promise<boolean> {
    const n = this.names();
    const { rows } = await this.query(
      `insert into ${n.table} as k (${n.scope}, ${n.key}, ${n.operation}, ${n.requestHash}, ${n.createdAt}, ${n.expiresAt})
       values (?, ?, ?, ?, now(), now() + make_interval(hours => ?))
       on conflict (${n.scope}, ${n.key}) do update
         set ${n.operation} = excluded.${n.operation}, ${n.requestHash} = excluded.${n.requestHash},
             ${n.responseStatus} = null, ${n.responseHeaders} = null, ${n.responseBody} = null,
             ${n.createdAt} = excluded.${n.createdAt}, ${n.expiresAt} = excluded.${n.expiresAt}
         where k.${n.expiresAt} <= now()
       returning 1 as claimed`,
      [scope, key, operation, requestHash, ttlHours],
    );
    return rows.length === 1;
  }

  /** The live (unexpired) record of a key, or null. */
  async find(scope: string, key: string): Promise<KeyRecord | null> {
    const n = this.names();
    const { rows } = await this.query(
      `select ${n.operation} as operation, ${n.requestHash} as request_hash, ${n.responseStatus} as status,
              ${n.responseHeaders} as headers, ${n.responseBody} as body
       from ${n.table} where ${n.scope} = ? and ${n.key} = ? and ${n.expiresAt} > now()`,
      [scope, key],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      operation: row.operation as string,
      requestHash: (row.request_hash as string).trim(),
      answer:
        row.body === null
          ? null
          : {
              status: row.status as number | null,
              headers: row.headers as Record<string, string> | null,
              body: row.body as string,
            },
    };
  }

  /** Writes the answer of a claimed key (same transaction as the claim). */
  async complete(scope: string, key: string, answer: StoredAnswer): Promise<void> {
    const n = this.names();
    await this.query(
      `update ${n.table} set ${n.responseStatus} = ?, ${n.responseHeaders} = ?::jsonb, ${n.responseBody} = ?
       where ${n.scope} = ? and ${n.key} = ?`,
      [answer.status, answer.headers === null ? null : JSON.stringify(answer.headers), answer.body, scope, key],
    );
  }

  /**
   * Deletes up to `limit` expired keys (oldest first, through the `expires_at` index). Rows another transaction
   * holds are skipped, never waited for. Expired rows are ignored by `claim` and `find` anyway; this only keeps
   * the table small.
   */
  async purgeExpired(limit = PURGE_PER_CLAIM): Promise<number> {
    const n = this.names();
    const result = await this.query(
      `delete from ${n.table} where (${n.scope}, ${n.key}) in (
         select ${n.scope}, ${n.key} from ${n.table} where ${n.expiresAt} <= now()
         order by ${n.expiresAt} limit ? for update skip locked)`,
      [limit],
    );
    return result.rowCount;
  }
}
