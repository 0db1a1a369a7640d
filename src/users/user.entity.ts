import { Entity, Enum, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Role } from './role';

@Entity({ tableName: 'users' })
@Index({ name: 'users_created_at_id_idx', properties: ['createdAt', 'id'] })
@Index({ name: 'users_role_created_at_id_idx', properties: ['role', 'createdAt', 'id'] })
export class User {
  [OptionalProps]?: 'firstName' | 'lastName' | 'email' | 'role' | 'passwordHash' | 'createdAt' | 'updatedAt';

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

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
