import { raw, type EntityManager } from '@mikro-orm/postgresql';
import type { ApiKeyViewer } from '../auth/viewer';
import { UnauthenticatedError } from '../common/errors';
import { PreparedRead, sqlOf } from '../db/prepared';
import type { Logger } from '../logging/logger';
import { Role } from '../users/role';
import { ApiKey } from './api-key.entity';
import { apiKeyId, matchesHash } from './api-key.secret';

/** `last_used_at` is written at most this often per key (README "API keys": "last used, to the minute"). */
export const LAST_USED_RESOLUTION_SECONDS = 60;

/** Column names of `api_keys`, from the entity's metadata. */
function columns(em: EntityManager, qualifier = '') {
  const meta = em.getMetadata().get(ApiKey.name);
  const column = (property: 'expiresAt' | 'lastUsedAt' | 'revokedAt') =>
    `${qualifier}"${meta.properties[property].fieldNames[0]}"`;
  return { expiresAt: column('expiresAt'), lastUsedAt: column('lastUsedAt'), revokedAt: column('revokedAt') };
}

/** SQL: true when the key's `last_used_at` is due to be written again. */
const useIsStale = (lastUsedAt: string) =>
  `(${lastUsedAt} is null or ${lastUsedAt} < now() - interval '${LAST_USED_RESOLUTION_SECONDS} seconds')`;

/**
 * The one database read of a request made with an API key: the key's hash, binding and state, by primary key,
 * prepared once. Expiry and the age of `last_used_at` are decided on PostgreSQL's clock, the same for every
 * replica.
 */
const KEY_STATE = new PreparedRead<'id'>((em, param) => {
  const c = columns(em, 'k.');
  return sqlOf(
    em
      .createQueryBuilder(ApiKey, 'k')
      .select([
        'secretHash',
        'role',
        'borrower',
        raw(`${c.revokedAt} is not null as revoked`),
        raw(`(${c.expiresAt} is not null and ${c.expiresAt} <= now()) as expired`),
        raw(`${useIsStale(c.lastUsedAt)} as use_is_stale`),
      ])
      .where({ id: param('id') }),
  );
});

const INVALID_KEY = 'the API key is not valid';

/**
 * Who an API key speaks for, now (REST_AUTH=api-key). A key that is not of our format is refused with no SQL;
 * otherwise one indexed read finds its row by id, and the SHA-256 of the presented key is compared with the
 * stored one in constant time. Only a key whose secret matches learns that it is revoked or expired, so a
 * guessed or leaked id alone tells nothing. Refusals are UnauthenticatedError (`invalid_token`): 401.
 */
export class ApiKeyAuthenticator {
  constructor(
    /** The ORM's root EntityManager: the read needs no unit of work, only its connection and metadata. */
    private readonly em: EntityManager,
    private readonly logger: Logger,
  ) {}

  async viewerFor(key: string): Promise<ApiKeyViewer> {
    const id = apiKeyId(key);
    if (id === null) throw new UnauthenticatedError(INVALID_KEY, 'invalid_token');
    const [row] = await KEY_STATE.rows(this.em, { id });
    if (!row || !matchesHash(key, String(row.secret_hash))) {
      throw new UnauthenticatedError(INVALID_KEY, 'invalid_token');
    }
    if (row.revoked === true) {
      throw new UnauthenticatedError(
        'the API key has been revoked: ask an administrator for a new one',
        'invalid_token',
      );
    }
    if (row.expired === true) {
      throw new UnauthenticatedError('the API key has expired: ask an administrator for a new one', 'invalid_token');
    }
    if (row.use_is_stale === true) this.recordUse(id);
    if (row.role === Role.ADMIN) return { kind: 'apiKey', keyId: id, role: Role.ADMIN, borrowerId: null };
    return { kind: 'apiKey', keyId: id, role: Role.BORROWER, borrowerId: String(row.borrower_id) };
  }

  /**
   * `last_used_at = now()`, at most once a minute per key (the read says when it is due, the WHERE keeps
   * replicas from writing it twice). Not on the request's path: the request does not wait for it, and a
   * failure only costs the listing's precision.
   */
  private recordUse(id: string): void {
    const em = this.em.fork();
    em.createQueryBuilder(ApiKey)
      .update({ lastUsedAt: raw('now()') })
      .where({ id })
      .andWhere(useIsStale(columns(em).lastUsedAt))
      .execute('run')
      .catch((error: unknown) =>
        this.logger.warn({ err: error, apiKeyId: id }, 'could not record the use of an API key'),
      );
  }
}
