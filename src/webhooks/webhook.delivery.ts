import type { MikroORM } from '@mikro-orm/postgresql';
import type { CloudEvent } from '../events/envelope';
import { CLOUDEVENTS_CONTENT_TYPE } from '../events/catalog';
import type { Logger } from '../logging/logger';
import { claimEvent, isProcessed } from '../worker/processed-events';
import { signWebhook } from './webhook.signature';
import { checkDeliveryTarget, type WebhookUrlPolicy } from './webhook.url';

export const WEBHOOKS_CONSUMER = 'webhooks';

export interface DeliverySettings {
  timeoutMs: number;
  policy: WebhookUrlPolicy;
}

interface Target {
  id: string;
  url: string;
  secret: string;
}

export interface AttemptResult {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  succeeded: boolean;
}

/** Thrown when some endpoints did not take the event: the message is retried (those that did are skipped). */
export class WebhookDeliveryError extends Error {
  constructor(failed: number, total: number) {
    super(`${failed} of ${total} webhook endpoints did not accept the event`);
    this.name = 'WebhookDeliveryError';
  }
}

/**
 * POSTs the event's exact message body, signed, to one endpoint. Redirects are never followed (a 3xx is a
 * failure: the partner must register the final URL); anything but a 2xx within the timeout is a failure.
 */
export async function postEvent(
  target: Target,
  event: CloudEvent,
  body: Buffer,
  settings: DeliverySettings,
): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    await checkDeliveryTarget(target.url, settings.policy);
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await fetch(target.url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(settings.timeoutMs),
      headers: {
        'Content-Type': CLOUDEVENTS_CONTENT_TYPE,
        'User-Agent': 'branchloans-webhooks/1',
        'Webhook-Id': event.id,
        'Webhook-Timestamp': String(timestamp),
        'Webhook-Signature': signWebhook(target.secret, timestamp, body),
      },
    });
    // The body is not read (nor logged): only the status matters.
    await response.body?.cancel().catch(() => undefined);
    const succeeded = response.status >= 200 && response.status < 300;
    const error = succeeded
      ? null
      : response.status >= 300 && response.status < 400
        ? `redirect (${response.status}) not followed`
        : `HTTP ${response.status}`;
    return { statusCode: response.status, durationMs: elapsed(), error, succeeded };
  } catch (error) {
    // AbortSignal.timeout rejects with a DOMException, which is not an Error instance on every Node version.
    const name = (error as { name?: unknown } | null)?.name;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    const reason = timedOut
      ? `no answer within ${settings.timeoutMs} ms`
      : error instanceof Error
        ? ((error.cause as Error | undefined)?.message ?? error.message) || error.name
        : String(error);
    return { statusCode: null, durationMs: elapsed(), error: reason.slice(0, 500), succeeded: false };
  }
}

/**
 * Delivers one event to every enabled endpoint subscribed to its type. Each attempt is logged
 * (`webhook_deliveries`); an endpoint that has a successful attempt for this event is never POSTed again, so a
 * redelivered or retried message only goes to the endpoints that have not taken it. When every endpoint has
 * taken it, the event is marked processed; otherwise WebhookDeliveryError makes the worker retry it later.
 */
export function webhookHandler(orm: MikroORM, settings: DeliverySettings, logger: Logger) {
  return async ({ event, body, attempt }: { event: CloudEvent; body: Buffer; attempt: number }): Promise<void> => {
    const em = orm.em.fork();
    if (await isProcessed(em, WEBHOOKS_CONSUMER, event.id)) return;
    const targets = await em.execute<Target[]>(
      `select e.id, e.url, e.secret from webhook_endpoints as e
       where e.enabled and ? = any(e.event_types)
         and not exists (select 1 from webhook_deliveries as d where d.endpoint_id = e.id and d.event_id = ? and d.succeeded)
       order by e.id`,
      [event.type, event.id],
    );
    const results = await Promise.all(
      targets.map(async (target) => {
        const result = await postEvent(target, event, body, settings);
        await recordAttempt(orm, target.id, event, attempt, result);
        if (!result.succeeded) {
          logger.warn(
            { endpointId: target.id, eventId: event.id, attempt, statusCode: result.statusCode, reason: result.error },
            'webhook delivery failed',
          );
        }
        return result.succeeded;
      }),
    );
    const failed = results.filter((ok) => !ok).length;
    if (failed > 0) throw new WebhookDeliveryError(failed, targets.length);
    await orm.em.fork().transactional((tx) => claimEvent(tx, WEBHOOKS_CONSUMER, event.id));
  };
}

/**
 * One log row. A second success for the same (endpoint, event), which only two workers racing on one redelivered
 * message could produce, is refused by the partial unique index and not recorded twice.
 */
async function recordAttempt(
  orm: MikroORM,
  endpointId: string,
  event: CloudEvent,
  attempt: number,
  result: AttemptResult,
): Promise<void> {
  const em = orm.em.fork();
  await em.execute(
    `insert into webhook_deliveries (endpoint_id, event_id, event_type, attempt, status_code, duration_ms, error, succeeded, at)
     values (?, ?, ?, ?, ?, ?, ?, ?, now())
     on conflict (endpoint_id, event_id) where succeeded do nothing`,
    [endpointId, event.id, event.type, attempt, result.statusCode, result.durationMs, result.error, result.succeeded],
  );
}
