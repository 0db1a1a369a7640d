import type { EntityManager } from '@mikro-orm/postgresql';
import { clampPageSize, decodeInstantCursor, encodeCursor, toPage, type Page } from '../common/cursor';
import type { Role } from '../users/role';
import { ApiKey } from './api-key.entity';
import { API_KEY_ID } from './api-key.secret';
import { apiKeyView, type ApiKeyView } from './api-key.view';

export interface ApiKeyListArgs {
  first?: number | null;
  after?: string | null;
}

const SORT = 'apiKeys:CREATED_AT:DESC';
const VIEW_PROPERTIES = [
  'id',
  'name',
  'role',
  'borrower',
  'createdAt',
  'expiresAt',
  'lastUsedAt',
  'revokedAt',
] as const;

interface MappedKeyRow {
  id: string;
  name: string;
  role: Role | null;
  borrower: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/**
 * Every key, newest first (revoked and expired ones too: the listing is also their record), keyset-paginated on
 * the (created_at, id) index. An admin screen, not a hot path: built per call.
 */
export async function findApiKeyPage(em: EntityManager, args: ApiKeyListArgs): Promise<Page<ApiKeyView>> {
  const limit = clampPageSize(args.first);
  const hasCursor = args.after !== null && args.after !== undefined;
  const qb = em.createQueryBuilder(ApiKey, 'k').select([...VIEW_PROPERTIES]);
  if (hasCursor) {
    const cursor = decodeInstantCursor(args.after!, SORT, (id) => API_KEY_ID.test(id));
    qb.andWhere('(k.created_at, k.id) < (?, ?)', [cursor.key, cursor.id]);
  }
  qb.orderBy([{ createdAt: 'desc' }, { id: 'desc' }]).limit(limit + 1);
  const rows = (await qb.execute<MappedKeyRow[]>('all', true)).map(apiKeyView);
  return toPage(
    rows,
    limit,
    hasCursor,
    (key) => encodeCursor({ sort: SORT, key: key.createdAt.toISOString(), id: key.id }),
    () => em.createQueryBuilder(ApiKey, 'k').getCount(),
  );
}
