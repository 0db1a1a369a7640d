import type { Request, Response } from 'express';
import { InvalidArgumentError } from '../common/errors';
import { IDEMPOTENCY_KEY_FIELD } from './idempotency-key';
import type { StoredAnswer } from './idempotency.store';

/** Set on a replayed answer (as Stripe does), so a client can tell a replay from a first answer. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** A REST answer as it is kept and replayed: a status, a few headers and the exact JSON text. */
export interface RestAnswer extends StoredAnswer {
  status: number;
  replayed: boolean;
}

/**
 * The `Idempotency-Key` header as sent (validated by the service), or `undefined` without one. Sent twice, it
 * is malformed: Node would join the two values into one key.
 */
export function idempotencyKeyHeader(req: Request): string | undefined {
  const values = req.headersDistinct['idempotency-key'];
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) {
    throw new InvalidArgumentError(IDEMPOTENCY_KEY_FIELD, 'send one Idempotency-Key header, not several');
  }
  return values[0];
}

/** A JSON answer to keep: the body serialised once, so the first answer and every replay are the same bytes. */
export function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): RestAnswer {
  return { status, headers, body: JSON.stringify(body), replayed: false };
}

export const keepRestAnswer = ({ status, headers, body }: RestAnswer): StoredAnswer => ({ status, headers, body });

export const replayRestAnswer = (stored: StoredAnswer): RestAnswer => ({
  status: stored.status ?? 200,
  headers: stored.headers ?? {},
  body: stored.body,
  replayed: true,
});

/** Sends a kept answer exactly as `res.json` would have (same Content-Type), from its stored text. */
export function sendRestAnswer(res: Response, answer: RestAnswer): void {
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
  if (answer.replayed) res.setHeader(REPLAYED_HEADER, 'true');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.send(answer.body);
}
