import { Entity, Enum, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Role } from './role';

@Entity({ tableName: 'users' })
@Index({ name: 'users_created_at_id_idx', properties: ['createdAt', 'id'] })
@Index({ name: 'users_role_created_at_id_idx', properties: ['role', 'createdAt', 'id'] })
export class User {
  [OptionalProps]?:
    'firstName' | 'lastName' | 'email' | 'role' | 'passwordHash' | 'tokenVersion' | 'createdAt' | 'updatedAt';

  /** Opaque string id; legacy borrower ids (`usr_kenya_001`) are user ids. */
  @PrimaryKey({ type: 'string', length: 64 })
  id!: string;

  @Property({ type: 'string', length: 100, nullable: true })
  firstName: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  lastName: string | null = null;

  /** Stored trimmed and lower-cased, so the unique index is case-insensitive in effect. */
  @Property({ type: 'string', length: 254, nullable: true, unique: 'users_email_unique' })
  email: string | null = null;

  @Enum({ items: () => Role })
  role: Role = Role.BORROWER;

  /**
   * Argon2id (PHC string). `null` for users who cannot log in (legacy borrowers registered by the REST shim).
   * `lazy`: never loaded unless asked for, so it cannot leak through an entity that is serialised or logged.
   */
  @Property({ type: 'text', nullable: true, lazy: true, hidden: true })
  passwordHash: string | null = null;

  /**
   * The version every token of this user must carry (claim `ver`). Raised by a role change, a password
   * change, `logOut` and `revokeTokens`: every token issued before stops working on its next request
   * (README "Tokens, revocation and log-in throttling"). Only ever incremented in SQL (`token_version + 1`).
   */
  @Property({ type: 'integer', default: 0 })
  tokenVersion: number = 0;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
