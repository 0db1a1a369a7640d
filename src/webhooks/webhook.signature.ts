import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a receiver should accept a delivery after its `Webhook-Timestamp` (README "Partner webhooks"). */
export const REPLAY_WINDOW_SECONDS = 300;

/** A new endpoint secret: `whsec_` + 32 random bytes (base64url). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: the `Webhook-Signature` header. */
export function signWebhook(secret: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return `v1=${mac.digest('hex')}`;
}

/**
 * What a receiver does (the README shows the same code): recompute the signature over the raw body, compare in
 * constant time, and refuse a timestamp outside the replay window.
 */
export function verifyWebhook(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string | Buffer,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > REPLAY_WINDOW_SECONDS) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(headers.signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
