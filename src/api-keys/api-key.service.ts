import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { actorId, actorRole, requireAdmin, type Viewer } from '../auth/viewer';
import type { Page } from '../common/cursor';
import { NotFoundError, UserErrorCode, ValidationError } from '../common/errors';
import { Role } from '../users/role';
import { User } from '../users/user.entity';
import { ApiKeyEvent, ApiKeyEventKind, ApiKeyEventSource } from './api-key-event.entity';
import { ApiKey } from './api-key.entity';
import { findApiKeyPage, type ApiKeyListArgs } from './api-key.queries';
import { API_KEY_ID, newApiKey } from './api-key.secret';
import { validateCreateApiKey, type CreateApiKeyCommand } from './api-key.validation';
import { apiKeyView, type ApiKeyView } from './api-key.view';

/**
 * Who manages keys: an admin through GraphQL (checked here, and recorded as the actor), or an operator on
 * the host through `npm run api-key` (whoever can run it can reach the database anyway; recorded as `cli`).
 */
export type ApiKeyActor = { source: ApiKeyEventSource.GRAPHQL; viewer: Viewer } | { source: ApiKeyEventSource.CLI };

export interface CreatedApiKey {
  apiKey: ApiKeyView;
  /** The whole key, `blk_<id>_<secret>`: this is the only time it exists outside the caller's hands. */
  key: string;
}

/** API keys of the legacy REST callers (README "API keys"): create, revoke, list. Admins only. */
export class ApiKeyService {
  constructor(
    private readonly em: EntityManager,
    private readonly actor: ApiKeyActor,
  ) {}

  /** A new key; its secret is in the answer and nowhere else (the table holds its SHA-256). */
  async create(command: CreateApiKeyCommand): Promise<CreatedApiKey> {
    this.requireAdmin();
    const valid = validateCreateApiKey(command);
    return this.em.transactional(async (em) => {
      let borrower: User | null = null;
      if ('borrowerId' in valid.binding) {
        const borrowerId = valid.binding.borrowerId;
        borrower = await em.findOne(User, { id: borrowerId });
        if (!borrower) {
          throw new ValidationError([
            { field: 'borrowerId', code: UserErrorCode.NOT_FOUND, message: 'no user has this id' },
          ]);
        }
        if (borrower.role !== Role.BORROWER) {
          throw new ValidationError([
            {
              field: 'borrowerId',
              code: UserErrorCode.INVALID,
              message: 'is an administrator, not a borrower: bind the key to the ADMIN role instead',
            },
          ]);
        }
      }
      const secret = newApiKey();
      const now = new Date();
      const key = em.create(ApiKey, {
        id: secret.id,
        name: valid.name,
        secretHash: secret.secretHash,
        role: 'role' in valid.binding ? valid.binding.role : null,
        borrower,
        createdAt: now,
        expiresAt: valid.expiresAt,
      });
      this.record(em, key, ApiKeyEventKind.CREATED, now);
      await em.flush();
      return { apiKey: apiKeyView(key), key: secret.key };
    });
  }

  /**
   * Revokes a key: refused from the next request on, on every replica (each request reads the row). Revoking a
   * revoked key changes nothing and records nothing. An unknown id is NOT_FOUND (field `id`).
   */
  async revoke(id: string): Promise<ApiKeyView> {
    this.requireAdmin();
    if (!API_KEY_ID.test(id)) throw new NotFoundError('ApiKey', id, 'id');
    return this.em.transactional(async (em) => {
      // Locked: of two concurrent revocations one records the event, the other finds the key revoked.
      const key = await em.findOne(ApiKey, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!key) throw new NotFoundError('ApiKey', id, 'id');
      if (key.revokedAt === null) {
        key.revokedAt = new Date();
        this.record(em, key, ApiKeyEventKind.REVOKED, key.revokedAt);
        await em.flush();
      }
      return apiKeyView(key);
    });
  }

  list(args: ApiKeyListArgs): Promise<Page<ApiKeyView>> {
    this.requireAdmin();
    return findApiKeyPage(this.em, args);
  }

  private requireAdmin(): void {
    if (this.actor.source === ApiKeyEventSource.GRAPHQL) requireAdmin(this.actor.viewer);
  }

  /** The audit trail entry, in the change's transaction. */
  private record(em: EntityManager, key: ApiKey, kind: ApiKeyEventKind, at: Date): void {
    const viewer = this.actor.source === ApiKeyEventSource.GRAPHQL ? this.actor.viewer : null;
    const actor = viewer === null ? null : actorId(viewer);
    em.create(ApiKeyEvent, {
      apiKey: key,
      kind,
      source: this.actor.source,
      actor: actor === null ? null : em.getReference(User, actor),
      actorRole: viewer === null ? null : actorRole(viewer),
      at,
    });
  }
}
