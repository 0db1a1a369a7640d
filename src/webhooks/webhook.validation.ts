import { UserErrorCode, ValidationError, type FieldProblem } from '../common/errors';
import { textProblem } from '../common/input-rules';
import { EVENT_TYPES, isEventType } from '../events/catalog';
import { webhookUrlProblem, type WebhookUrlPolicy } from './webhook.url';

export const WEBHOOK_LIMITS = { maxUrlLength: 2000, maxDescriptionLength: 500 } as const;

export interface WebhookEndpointCommand {
  url?: unknown;
  eventTypes?: unknown;
  description?: unknown;
}

export interface ValidWebhookFields {
  url?: string;
  eventTypes?: string[];
  description?: string | null;
}

/**
 * The rules of an endpoint's fields, every failing field at once. `partial`: an update, where an omitted field
 * (undefined) is left as it is; `null` clears the description only.
 */
export function validateWebhookFields(
  command: WebhookEndpointCommand,
  policy: WebhookUrlPolicy,
  partial: boolean,
): ValidWebhookFields {
  const problems: FieldProblem[] = [];
  const problem = (field: string, code: UserErrorCode, message: string) => problems.push({ field, code, message });
  const out: ValidWebhookFields = {};

  const url = command.url;
  if (url === undefined || url === null) {
    if (!partial || url === null) problem('url', UserErrorCode.REQUIRED, 'is required');
  } else if (typeof url !== 'string') problem('url', UserErrorCode.INVALID, 'must be a string');
  else if (url.trim() === '') problem('url', UserErrorCode.BLANK, 'must not be blank');
  else if (url.trim().length > WEBHOOK_LIMITS.maxUrlLength) {
    problem('url', UserErrorCode.TOO_LONG, `must be at most ${WEBHOOK_LIMITS.maxUrlLength} characters`);
  } else {
    const issue = textProblem(url) ?? webhookUrlProblem(url.trim(), policy);
    if (issue) problem('url', UserErrorCode.INVALID, issue);
    else out.url = url.trim();
  }

  const types = command.eventTypes;
  if (types === undefined || types === null) {
    if (!partial || types === null) problem('eventTypes', UserErrorCode.REQUIRED, 'is required');
  } else if (!Array.isArray(types) || types.some((t) => typeof t !== 'string')) {
    problem('eventTypes', UserErrorCode.INVALID, 'must be a list of event types');
  } else if (types.length === 0) problem('eventTypes', UserErrorCode.REQUIRED, 'must name at least one event type');
  else {
    const unknown = (types as string[]).filter((t) => !isEventType(t));
    if (unknown.length > 0) {
      problem(
        'eventTypes',
        UserErrorCode.INVALID,
        `unknown event type ${JSON.stringify(unknown[0].slice(0, 100))}: one of ${EVENT_TYPES.join(', ')}`,
      );
    } else out.eventTypes = [...new Set(types as string[])].sort();
  }

  const description = command.description;
  if (description === null) out.description = null;
  else if (description !== undefined) {
    if (typeof description !== 'string') problem('description', UserErrorCode.INVALID, 'must be a string');
    else if (description.trim().length > WEBHOOK_LIMITS.maxDescriptionLength) {
      problem(
        'description',
        UserErrorCode.TOO_LONG,
        `must be at most ${WEBHOOK_LIMITS.maxDescriptionLength} characters`,
      );
    } else if (textProblem(description) !== null)
      problem('description', UserErrorCode.INVALID, textProblem(description)!);
    else out.description = description.trim() === '' ? null : description.trim();
  }

  if (problems.length > 0) throw new ValidationError(problems);
  return out;
}
