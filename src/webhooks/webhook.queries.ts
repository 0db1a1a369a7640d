import { isUuid } from '../common/ids';
import type { EntityManager } from '@mikro-orm/postgresql';
import { clampPageSize, decodeCursor, decodeInstantCursor, encodeCursor, toPage, type Page } from '../common/cursor';
import { InvalidArgumentError } from '../common/errors';
import { WebhookDelivery } from './webhook-delivery.entity';
import { WebhookEndpoint } from './webhook-endpoint.entity';

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** An endpoint as admins see it: never its secret. */
export interface WebhookEndpointView {
  id: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookDeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  attempt: number;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  succeeded: boolean;
  attemptedAt: Date;
}

const ENDPOINT_SORT = 'webhookEndpoints:CREATED_AT:DESC';
const DELIVERY_SORT = 'webhookDeliveries:ID:DESC';
const ENDPOINT_VIEW = ['id', 'url', 'eventTypes', 'description', 'enabled', 'createdAt', 'updatedAt'] as const;

export function webhookEndpointView(e: WebhookEndpointView): WebhookEndpointView {
  return {
    id: e.id,
    url: e.url,
    eventTypes: e.eventTypes,
    description: e.description,
    enabled: e.enabled,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

/** Every endpoint, newest first (disabled ones too), keyset-paginated on (created_at, id). */
export async function findEndpointPage(em: EntityManager, args: PageArgs): Promise<Page<WebhookEndpointView>> {
  const limit = clampPageSize(args.first);
  const hasCursor = args.after !== null && args.after !== undefined;
  const qb = em.createQueryBuilder(WebhookEndpoint, 'e').select([...ENDPOINT_VIEW]);
  if (hasCursor) {
    const cursor = decodeInstantCursor(args.after!, ENDPOINT_SORT, isUuid);
    qb.andWhere('(e.created_at, e.id) < (?, ?)', [cursor.key, cursor.id]);
  }
  qb.orderBy([{ createdAt: 'desc' }, { id: 'desc' }]).limit(limit + 1);
  const rows = (await qb.execute<WebhookEndpointView[]>('all', true)).map(webhookEndpointView);
  return toPage(
    rows,
    limit,
    hasCursor,
    (e) => encodeCursor({ sort: ENDPOINT_SORT, key: e.createdAt.toISOString(), id: e.id }),
    () => em.createQueryBuilder(WebhookEndpoint, 'e').getCount(),
  );
}

/** An endpoint's delivery log, newest attempt first, keyset-paginated on (endpoint_id, id). */
export async function findDeliveryPage(
  em: EntityManager,
  endpointId: string,
  args: PageArgs,
): Promise<Page<WebhookDeliveryView>> {
  const limit = clampPageSize(args.first);
  const hasCursor = args.after !== null && args.after !== undefined;
  const qb = em
    .createQueryBuilder(WebhookDelivery, 'd')
    .select(['id', 'eventId', 'eventType', 'attempt', 'statusCode', 'durationMs', 'error', 'succeeded', 'at'])
    .where({ endpoint: endpointId });
  if (hasCursor) {
    const cursor = decodeCursor(args.after!, DELIVERY_SORT);
    if (!/^\d{1,18}$/.test(cursor.key) || cursor.id !== endpointId) {
      throw new InvalidArgumentError('after', '"after" is not a cursor returned by this list');
    }
    qb.andWhere('d.id < ?', [cursor.key]);
  }
  qb.orderBy({ id: 'desc' }).limit(limit + 1);
  const rows = (await qb.execute<(Omit<WebhookDeliveryView, 'attemptedAt'> & { at: Date })[]>('all', true)).map(
    ({ at, ...row }) => ({ ...row, id: String(row.id), attemptedAt: at }),
  );
  return toPage(
    rows,
    limit,
    hasCursor,
    (d) => encodeCursor({ sort: DELIVERY_SORT, key: d.id, id: endpointId }),
    () => em.createQueryBuilder(WebhookDelivery, 'd').where({ endpoint: endpointId }).getCount(),
  );
}
