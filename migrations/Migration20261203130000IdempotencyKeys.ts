import { Migration } from '@mikro-orm/migrations';

/**
 * Idempotent creation (README "Idempotent creation"): one row per (caller scope, key) with the fingerprint of
 * the request that first used the key and the answer it got, until `expires_at`.
 *
 * The primary key (scope, key) is the unique constraint concurrent duplicates meet: the first INSERT wins, the
 * others wait for its transaction (`insert ... on conflict`), then replay its answer. `expires_at` is indexed for
 * the opportunistic purge of expired keys (a few per new key, `for update skip locked`).
 */
export class Migration20261203130000IdempotencyKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "idempotency_keys" ("scope" text not null, "key" varchar(255) not null, "operation" text not null, "request_hash" char(64) not null, "response_status" smallint null, "response_headers" jsonb null, "response_body" text null, "created_at" timestamptz(3) not null, "expires_at" timestamptz(3) not null, constraint "idempotency_keys_pkey" primary key ("scope", "key"));`,
    );
    this.addSql(`create index "idempotency_keys_expires_at_idx" on "idempotency_keys" ("expires_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "idempotency_keys" cascade;`);
  }
}
