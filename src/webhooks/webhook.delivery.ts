import http from 'node:http';
import https from 'node:https';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { CloudEvent } from '../events/envelope';
import { CLOUDEVENTS_CONTENT_TYPE } from '../events/catalog';
import type { Logger } from '../logging/logger';
import { claimEvent, isProcessed } from '../worker/processed-events';
import { signWebhook } from './webhook.signature';
import { guardedLookup, webhookUrlProblem, type Resolver, type WebhookUrlPolicy } from './webhook.url';

export const WEBHOOKS_CONSUMER = 'webhooks';

export interface DeliverySettings {
  timeoutMs: number;
  policy: WebhookUrlPolicy;
  /** Name resolution for the delivery sockets (default: the system's); tests pass their own. */
  resolve?: Resolver;
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
    const problem = webhookUrlProblem(target.url, settings.policy);
    if (problem) throw new Error(`url ${problem}`);
    const timestamp = Math.floor(Date.now() / 1000);
    const status = await post(new URL(target.url), body, settings, {
      'Content-Type': CLOUDEVENTS_CONTENT_TYPE,
      'User-Agent': 'branchloans-webhooks/1',
      'Webhook-Id': event.id,
      'Webhook-Timestamp': String(timestamp),
      'Webhook-Signature': signWebhook(target.secret, timestamp, body),
    });
    const succeeded = status >= 200 && status < 300;
    const error = succeeded
      ? null
      : status >= 300 && status < 400
        ? `redirect (${status}) not followed`
        : `HTTP ${status}`;
    return { statusCode: status, durationMs: elapsed(), error, succeeded };
  } catch (error) {
    // The request's AbortSignal.timeout fires as an AbortError (a DOMException, not an Error on every Node version).
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
 * One POST with node's HTTP client, whose socket resolves the host through `guardedLookup` (the address checked
 * is the address connected to). The timeout covers everything: name resolution, connection, TLS, the answer's
 * status line. Resolves to the status code; the body is never read (nor logged): only the status matters.
 */
function post(url: URL, body: Buffer, settings: DeliverySettings, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { ...headers, 'Content-Length': String(body.length) },
        lookup: guardedLookup(settings.policy, settings.resolve),
        signal: AbortSignal.timeout(settings.timeoutMs),
      },
      (response) => {
        resolve(response.statusCode ?? 0);
        response.destroy();
      },
    );
    request.on('error', reject);
    request.end(body);
  });
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
