import { Entity, Index, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';

/**
 * One idempotency key of one caller: the fingerprint of the request that first used it and the answer it
 * got, kept until `expiresAt` (IDEMPOTENCY_KEY_TTL_HOURS). Written and read with SQL of its own
 * (`idempotency.store.ts`: `insert ... on conflict` needs the exact statement); the entity exists so that
 * the schema and the migrations are checked against each other like every other table.
 *
 * A row is inserted in the same transaction as the creation it guards and completed (`response*`) before
 * that transaction commits, so other transactions only ever see it complete, or not at all.
 */
@Entity({ tableName: 'idempotency_keys' })
@Index({ name: 'idempotency_keys_expires_at_idx', properties: ['expiresAt'] })
export class IdempotencyKey {
  [PrimaryKeyProp]?: ['scope', 'key'];

  /** Whose key it is (`user:<id>`, `legacy`, `anonymous:<ip>`): keys of different callers never meet. */
  @PrimaryKey({ type: 'text' })
  scope!: string;

  /** As the client sent it: 1 to 255 printable ASCII characters. */
  @PrimaryKey({ type: 'string', length: 255 })
  key!: string;

  /** What the key was used for (`POST /api/loans`, `createLoan`...), for the error message and operators. */
  @Property({ type: 'text' })
  operation!: string;

  /** SHA-256 (hex) of the operation and the canonical request: a reuse with another request is refused. */
  @Property({ type: 'string', length: 64, columnType: 'char(64)' })
  requestHash!: string;

  /** The HTTP status of the first answer (REST); null where the answer has none (GraphQL). */
  @Property({ type: 'smallint', nullable: true })
  responseStatus: number | null = null;

  /** Headers to replay with the answer (REST `Location`). */
  @Property({ type: 'json', nullable: true })
  responseHeaders: Record<string, string> | null = null;

  /** The answer as text, replayed byte for byte (REST: the JSON body; GraphQL: the created object). */
  @Property({ type: 'text', nullable: true })
  responseBody: string | null = null;

  @Property({ type: 'datetime', length: 3 })
  createdAt!: Date;

  @Property({ type: 'datetime', length: 3 })
  expiresAt!: Date;
}
