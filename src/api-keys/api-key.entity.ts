import { Check, Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Role } from '../users/role';
import { User } from '../users/user.entity';

/**
 * A credential of a server-to-server caller of the legacy REST API (`REST_AUTH=api-key`; README "API keys").
 * Bound either to the ADMIN role (every loan) or to one borrower (that borrower's loans only), never both:
 * the database refuses anything else. The key itself is never stored, only its SHA-256 (`api-key.secret.ts`).
 */
@Entity({ tableName: 'api_keys' })
@Index({ name: 'api_keys_created_at_id_idx', properties: ['createdAt', 'id'] })
@Index({ name: 'api_keys_borrower_id_idx', properties: ['borrower'] })
@Check({
  name: 'api_keys_binding',
  expression: `(role = 'admin' and borrower_id is null) or (role is null and borrower_id is not null)`,
})
export class ApiKey {
  [OptionalProps]?: 'role' | 'borrower' | 'expiresAt' | 'lastUsedAt' | 'revokedAt' | 'createdAt';

  /** 16 hex characters, the `<id>` of `blk_<id>_<secret>`. Not a secret. */
  @PrimaryKey({ type: 'string', length: 16 })
  id!: string;

  /** What the key is for (`payments-service`), for the people who manage keys. */
  @Property({ type: 'string', length: 100 })
  name!: string;

  /** SHA-256 (hex) of the whole key. Never selected unless asked for, never serialised. */
  @Property({ type: 'string', length: 64, columnType: 'char(64)', lazy: true, hidden: true })
  secretHash!: string;

  /** ADMIN for a key that sees every loan; null for a key bound to `borrower`. */
  @Enum({ items: () => Role, nullable: true })
  role: Role | null = null;

  /** The one borrower whose loans the key sees and creates; null for an ADMIN key. */
  @ManyToOne(() => User, { fieldName: 'borrower_id', nullable: true, deleteRule: 'restrict', updateRule: 'cascade' })
  borrower: User | null = null;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  /** After this instant the key is refused (401); null: it does not expire. */
  @Property({ type: 'datetime', length: 3, nullable: true })
  expiresAt: Date | null = null;

  /** The last request made with the key, to the minute (README "API keys"). */
  @Property({ type: 'datetime', length: 3, nullable: true })
  lastUsedAt: Date | null = null;

  /** Set once by `revokeApiKey`; the key is refused from then on. */
  @Property({ type: 'datetime', length: 3, nullable: true })
  revokedAt: Date | null = null;
}
