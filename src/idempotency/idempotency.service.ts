import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../auth/viewer';
import { BusinessRuleError, UserErrorCode } from '../common/errors';
import { IDEMPOTENCY_KEY_FIELD, idempotencyScope, parseIdempotencyKey, requestFingerprint } from './idempotency-key';
import { IdempotencyStore, type KeyRecord, type StoredAnswer } from './idempotency.store';

export type { StoredAnswer } from './idempotency.store';

export interface IdempotencySettings {
  /** How long a key is remembered (IDEMPOTENCY_KEY_TTL_HOURS). */
  keyTtlHours: number;
}

export const DEFAULT_IDEMPOTENCY_SETTINGS: IdempotencySettings = { keyTtlHours: 24 };

/** One creating request that may carry an idempotency key. */
export interface IdempotentCall<T> {
  /** As the client sent it (header or input field); `undefined`/`null`: no key, the work simply runs. */
  key: unknown;
  /** What is done, part of the fingerprint: `POST /api/loans`, `createLoan`... */
  operation: string;
  /** What the request asks for, fingerprinted canonically (leave secrets out: the fingerprint is a fast hash). */
  request: unknown;
  /** The creation. It joins the transaction that holds the key (services' own transactions nest as savepoints). */
  work: () => Promise<T>;
  /** The answer to keep for replays, from the work's result (runs inside the transaction). */
  save: (result: T) => StoredAnswer;
  /** The answer of a replay, from what was kept (runs after the transaction, holding no lock). */
  replay: (answer: StoredAnswer) => T | Promise<T>;
}

/**
 * Idempotent creation (README "Idempotent creation"): the first request with a key runs its work and keeps its
 * answer; a repeat of the same request replays that answer and creates nothing; another request with the same
 * key is refused (IDEMPOTENCY_KEY_REUSED). The key row is inserted FIRST, in the same transaction as the
 * creation, and the answer is written before that transaction commits: a concurrent duplicate waits on the
 * key's unique index until the first commits (then replays) or rolls back (then runs as the first). A failed
 * creation (refused input, an error) rolls the key back with it: only successes are remembered, so a corrected
 * request may use the same key.
 */
export class IdempotencyService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
    private readonly settings: IdempotencySettings = DEFAULT_IDEMPOTENCY_SETTINGS,
    /** The client's address (express `req.ip`), which scopes anonymous callers' keys. */
    private readonly clientIp?: string,
  ) {}

  async run<T>(call: IdempotentCall<T>): Promise<T> {
    const key = parseIdempotencyKey(call.key);
    if (key === null) return call.work();
    const scope = idempotencyScope(this.viewer, this.clientIp);
    const requestHash = requestFingerprint(call.operation, call.request);
    const store = new IdempotencyStore(this.em);

    const outcome = await this.inTransaction(async (): Promise<{ result: T } | { record: KeyRecord }> => {
      // Twice at most: a key that expires (and is purged) between the claim and the read is claimed again.
      for (let attempt = 1; ; attempt++) {
        if (await store.claim(scope, key, call.operation, requestHash, this.settings.keyTtlHours)) {
          await store.purgeExpired();
          const result = await call.work();
          await store.complete(scope, key, call.save(result));
          return { result };
        }
        const record = await store.find(scope, key);
        if (record) return { record };
        if (attempt >= 2) throw new Error('idempotency key could be neither claimed nor read');
      }
    });
    if ('result' in outcome) return outcome.result;

    const { record } = outcome;
    if (record.requestHash !== requestHash) throw keyReused(record.operation, call.operation);
    // A committed key always has its answer (both are written in one transaction).
    if (!record.answer) throw new Error('idempotency key committed without its answer');
    return call.replay(record.answer);
  }

  /**
   * Runs `work` in a transaction bound to the request's EntityManager itself, so that the services (which share
   * it) join the transaction: their own `em.transactional` calls become savepoints on the same connection.
   */
  private async inTransaction<R>(work: () => Promise<R>): Promise<R> {
    if (this.em.isInTransaction()) return work();
    return this.em.getConnection().transactional(async (trx) => {
      this.em.setTransactionContext(trx);
      try {
        return await work();
      } finally {
        this.em.resetTransactionContext();
      }
    });
  }
}

/** What a GraphQL mutation keeps: the created object as JSON text (no HTTP status or headers). */
export function objectAnswer(body: string): StoredAnswer {
  return { status: null, headers: null, body };
}

export function keyReused(usedFor: string, askedFor: string): BusinessRuleError {
  return new BusinessRuleError({
    field: IDEMPOTENCY_KEY_FIELD,
    code: UserErrorCode.IDEMPOTENCY_KEY_REUSED,
    message:
      usedFor === askedFor
        ? `this idempotency key was already used for ${usedFor} with a different request; use a new key for a new request`
        : `this idempotency key was already used for ${usedFor}; use a new key for a new request`,
  });
}
