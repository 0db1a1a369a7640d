import { isUuid } from '../common/ids';
import { randomUUID } from 'node:crypto';
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { requireAdmin, type Viewer } from '../auth/viewer';
import type { Page } from '../common/cursor';
import { NotFoundError, UserErrorCode, ValidationError } from '../common/errors';
import { WebhookEndpoint } from './webhook-endpoint.entity';
import {
  findDeliveryPage,
  findEndpointPage,
  webhookEndpointView,
  type PageArgs,
  type WebhookDeliveryView,
  type WebhookEndpointView,
} from './webhook.queries';
import { newWebhookSecret } from './webhook.signature';
import type { WebhookUrlPolicy } from './webhook.url';
import { validateWebhookFields, type WebhookEndpointCommand } from './webhook.validation';

export interface CreatedWebhookEndpoint {
  webhookEndpoint: WebhookEndpointView;
  /** The signing secret: this is the only time it is shown. */
  secret: string;
}

export interface UpdateWebhookEndpointCommand extends WebhookEndpointCommand {
  id: string;
  enabled?: boolean | null;
}

/** Partner webhook endpoints and their delivery log (README "Partner webhooks"). Admins only. */
export class WebhookService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
    private readonly policy: WebhookUrlPolicy,
  ) {}

  async create(command: WebhookEndpointCommand): Promise<CreatedWebhookEndpoint> {
    requireAdmin(this.viewer);
    const valid = validateWebhookFields(command, this.policy, false);
    const secret = newWebhookSecret();
    return this.em.transactional(async (em) => {
      const now = new Date();
      const endpoint = em.create(WebhookEndpoint, {
        id: randomUUID(),
        url: valid.url!,
        eventTypes: valid.eventTypes!,
        description: valid.description ?? null,
        secret,
        createdAt: now,
        updatedAt: now,
      });
      await em.flush();
      return { webhookEndpoint: webhookEndpointView(endpoint), secret };
    });
  }

  async update(command: UpdateWebhookEndpointCommand): Promise<WebhookEndpointView> {
    requireAdmin(this.viewer);
    const { id, enabled, ...fields } = command;
    if (!isUuid(id)) throw new NotFoundError('WebhookEndpoint', id, 'id');
    const valid = validateWebhookFields(fields, this.policy, true);
    if (enabled === null) {
      throw new ValidationError([{ field: 'enabled', code: UserErrorCode.INVALID, message: 'must be true or false' }]);
    }
    return this.em.transactional(async (em) => {
      const endpoint = await em.findOne(WebhookEndpoint, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!endpoint) throw new NotFoundError('WebhookEndpoint', id, 'id');
      if (valid.url !== undefined) endpoint.url = valid.url;
      if (valid.eventTypes !== undefined) endpoint.eventTypes = valid.eventTypes;
      if (valid.description !== undefined) endpoint.description = valid.description;
      if (enabled !== undefined) endpoint.enabled = enabled;
      endpoint.updatedAt = new Date();
      await em.flush();
      return webhookEndpointView(endpoint);
    });
  }

  /** Deletes an endpoint and its delivery log; to stop deliveries but keep the log, disable it instead. */
  async delete(id: string): Promise<string> {
    requireAdmin(this.viewer);
    if (!isUuid(id)) throw new NotFoundError('WebhookEndpoint', id, 'id');
    return this.em.transactional(async (em) => {
      const deleted = await em.nativeDelete(WebhookEndpoint, { id });
      if (deleted === 0) throw new NotFoundError('WebhookEndpoint', id, 'id');
      return id;
    });
  }

  list(args: PageArgs): Promise<Page<WebhookEndpointView>> {
    requireAdmin(this.viewer);
    return findEndpointPage(this.em, args);
  }

  /** The delivery log of one endpoint; null for an unknown endpoint. */
  async deliveries(endpointId: string, args: PageArgs): Promise<Page<WebhookDeliveryView> | null> {
    requireAdmin(this.viewer);
    if (!isUuid(endpointId)) return null;
    const exists = await this.em.count(WebhookEndpoint, { id: endpointId });
    if (exists === 0) return null;
    return findDeliveryPage(this.em, endpointId, args);
  }
}
