import { createHash } from 'node:crypto';
import type { Viewer } from '../auth/viewer';
import { InvalidArgumentError } from '../common/errors';

/** The domain name of the key (GraphQL `input.idempotencyKey`; REST shows it as the `Idempotency-Key` header). */
export const IDEMPOTENCY_KEY_FIELD = 'idempotencyKey';
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/** The description of every `idempotencyKey` input field (README "Idempotent creation"). */
export const IDEMPOTENCY_KEY_DESCRIPTION =
  `Optional; 1..${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters, a random UUID is best. ` +
  'Retrying with the same key and the same input replays the first answer and creates nothing; the same key ' +
  'with another input is refused (IDEMPOTENCY_KEY_REUSED). Keys are per caller and kept for ' +
  'IDEMPOTENCY_KEY_TTL_HOURS (default 24).';

/** Printable ASCII (space to tilde), as the IETF Idempotency-Key draft's examples and Stripe's keys are. */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * The key of a request, or `null` when it sent none. Anything else than 1..255 printable ASCII characters is
 * a malformed argument (REST 400 naming `Idempotency-Key`, GraphQL BAD_USER_INPUT naming `idempotencyKey`),
 * checked before the request does anything. An empty key is malformed, not "no key".
 */
export function parseIdempotencyKey(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
    throw invalidKey();
  }
  if (!PRINTABLE_ASCII.test(value)) throw invalidKey();
  return value;
}

function invalidKey(): InvalidArgumentError {
  return new InvalidArgumentError(
    IDEMPOTENCY_KEY_FIELD,
    `the idempotency key must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters (a UUID, for example)`,
  );
}

/**
 * Whose keys these are. A user's keys are theirs alone (whether they come through GraphQL or REST with a token).
 * The open legacy REST API (REST_AUTH=open) has no identity: its callers share one scope, `legacy`, as they share
 * every loan in that mode; an IP would split one caller's retries across its egress addresses (and behind a
 * proxy without TRUST_PROXY every caller has the proxy's address anyway). Anonymous GraphQL callers (`signUp`)
 * are scoped by client address, so that guessing another's key takes their address too. An API key's callers
 * (REST_AUTH=api-key) share the key's scope, `api-key:<key id>`.
 */
export function idempotencyScope(viewer: Viewer, clientIp?: string): string {
  switch (viewer.kind) {
    case 'user':
      return `user:${viewer.userId}`;
    case 'legacy':
      return 'legacy';
    case 'apiKey':
      // Per key (REST_AUTH=api-key): a key's retries meet only its own keys, whatever it is bound to.
      return `api-key:${viewer.keyId}`;
    case 'anonymous':
      return clientIp ? `anonymous:${clientIp}` : 'anonymous';
    default:
      // A caller kind added later gets its own scope rather than someone else's.
      return `${(viewer as { kind: string }).kind}:${JSON.stringify(viewer)}`;
  }
}

/**
 * JSON with object keys sorted and `null`/`undefined` members left out (every creating input treats an absent
 * optional field and `null` alike), so that key order, whitespace and number spelling (`12000.50`, `12000.5`)
 * do not make two requests different. Arrays keep their order and their nulls.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === 'object') {
    const members = Object.keys(value)
      .filter((key) => {
        const member = (value as Record<string, unknown>)[key];
        return member !== null && member !== undefined && typeof member !== 'function';
      })
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${members.join(',')}}`;
  }
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value) ?? 'null';
}

/** SHA-256 (hex) of what a request asks for: its operation (method and path, or mutation) and canonical body. */
export function requestFingerprint(operation: string, request: unknown): string {
  return createHash('sha256').update(operation).update('\n').update(canonicalJson(request)).digest('hex');
}
