import type { EntityManager } from '@mikro-orm/postgresql';
import type { LoginThrottleConfig } from '../config/config';
import { TooManyAttemptsError } from '../common/errors';

/** SQL text with `?` placeholders and its values, in order (`sql\`... ${value} ...\``). */
interface Statement {
  text: string;
  values: unknown[];
}

function sql(strings: TemplateStringsArray, ...values: unknown[]): Statement {
  return { text: strings.join('?'), values };
}

/** An attempt that passed the throttle; its failure is already counted, a success takes it back. */
export interface LoginAttempt {
  /** The password was right: the account's streak ends, and the address's reservation is returned. */
  succeeded(): Promise<void>;
}

interface Decision {
  allowed: boolean;
  wait: number;
}

/** Attempts between two prunings of stale counters (per process). */
const PRUNE_EVERY = 100;
/** Counters untouched for this long (and at least the lock and the window) are deleted. */
const KEEP_SECONDS = 24 * 3600;

/**
 * Log-in throttling shared by every replica, stored in PostgreSQL (`login_throttles`, PostgreSQL's clock):
 * - per account (the email, whether or not it exists, so the throttle tells nothing about who has an
 *   account): after the k-th consecutive failure the next attempt waits `delaySeconds * 2^(k-1)`; the
 *   LOGIN_MAX_FAILURES-th failure locks it for LOGIN_LOCK_SECONDS (and each failure after a lock locks
 *   it again). A success resets the streak.
 * - per client address: LOGIN_IP_MAX_ATTEMPTS failures (any accounts) within a fixed window of
 *   LOGIN_IP_WINDOW_SECONDS, then it waits for the window to end. Successes do not count.
 * An attempt is COUNTED AS A FAILURE BEFORE the password is checked, in one upsert per counter, and given
 * back on success: concurrent guesses each take a slot, so parallel requests cannot slip past the limit
 * while the first ones are still hashing. A throttled attempt checks no password and counts nothing.
 */
export class LoginThrottler {
  private attempts = 0;

  constructor(
    private readonly config: LoginThrottleConfig,
    /** Told of every refused attempt (the metrics' `login_attempts_throttled_total`). */
    private readonly onThrottled: (scope: 'account' | 'address') => void = () => undefined,
  ) {}

  /**
   * Takes one attempt for `email` (when it can be an account: null otherwise) from `address`, or throws
   * TooManyAttemptsError with the wait. Call `succeeded()` on the result when the password was right.
   */
  async begin(em: EntityManager, request: { email: string | null; address: string }): Promise<LoginAttempt> {
    if (++this.attempts % PRUNE_EVERY === 0) await this.prune(em);
    const ipKey = `ip:${request.address}`;
    const accountKey = request.email === null ? null : `account:${request.email}`;

    const byAddress = await this.takeForAddress(em, ipKey);
    if (!byAddress.allowed) {
      this.onThrottled('address');
      throw new TooManyAttemptsError(byAddress.wait, 'address');
    }
    if (accountKey !== null) {
      const byAccount = await this.takeForAccount(em, accountKey);
      if (!byAccount.allowed) {
        await this.release(em, null, ipKey);
        this.onThrottled('account');
        throw new TooManyAttemptsError(byAccount.wait, 'account');
      }
    }
    return { succeeded: () => this.release(em, accountKey, ipKey) };
  }

  private takeForAccount(em: EntityManager, key: string): Promise<Decision> {
    const { maxFailures: max, lockSeconds: lock, delaySeconds: base } = this.config;
    const firstDelay = max <= 1 ? lock : Math.min(base, lock);
    // Open when no delay or lock runs; then the k-th failure (k = t.failures + 1) sets the next one:
    // `base * 2^(k-1)` seconds, or the lock from LOGIN_MAX_FAILURES on.
    return this.decide(
      em,
      sql`insert into login_throttles as t (key, failures, window_started_at, blocked_until, last_allowed, updated_at)
        values (${key}, 1, now(), now() + cast(${firstDelay} as float8) * interval '1 second', true, now())
        on conflict (key) do update set
          last_allowed = (t.blocked_until is null or t.blocked_until <= now()),
          failures = case when t.blocked_until is null or t.blocked_until <= now()
            then t.failures + 1 else t.failures end,
          blocked_until = case when t.blocked_until is null or t.blocked_until <= now()
            then now() + (case when t.failures + 1 >= cast(${max} as int) then cast(${lock} as float8)
              else least(cast(${base} as float8) * power(2, least(t.failures, 30)), cast(${lock} as float8))
              end) * interval '1 second'
            else t.blocked_until end,
          updated_at = now()
        returning last_allowed as allowed, ceil(extract(epoch from blocked_until - now()))::int as wait`,
    );
  }

  private takeForAddress(em: EntityManager, key: string): Promise<Decision> {
    const { ipMaxFailures: max, ipWindowSeconds: window } = this.config;
    // A window that started LOGIN_IP_WINDOW_SECONDS ago or more starts again with this attempt.
    return this.decide(
      em,
      sql`insert into login_throttles as t (key, failures, window_started_at, blocked_until, last_allowed, updated_at)
        values (${key}, 1, now(), null, true, now())
        on conflict (key) do update set
          last_allowed = (t.window_started_at <= now() - cast(${window} as float8) * interval '1 second'
            or t.failures < cast(${max} as int)),
          failures = case when t.window_started_at <= now() - cast(${window} as float8) * interval '1 second' then 1
            when t.failures < cast(${max} as int) then t.failures + 1 else t.failures end,
          window_started_at = case when t.window_started_at <= now() - cast(${window} as float8) * interval '1 second'
            then now() else t.window_started_at end,
          updated_at = now()
        returning last_allowed as allowed,
          ceil(extract(epoch from window_started_at + cast(${window} as float8) * interval '1 second' - now()))::int
            as wait`,
    );
  }

  /** Ends the account's streak (on success) and gives the address's reservation back. */
  private async release(em: EntityManager, accountKey: string | null, ipKey: string): Promise<void> {
    const statement =
      accountKey === null
        ? sql`update login_throttles set failures = greatest(failures - 1, 0), updated_at = now() where key = ${ipKey}`
        : sql`with reset as (delete from login_throttles where key = ${accountKey})
            update login_throttles set failures = greatest(failures - 1, 0), updated_at = now() where key = ${ipKey}`;
    await this.run(em, statement);
  }

  /** Deletes a batch of counters nobody has touched for a day and that hold no lock. */
  private async prune(em: EntityManager): Promise<void> {
    const keep = Math.max(KEEP_SECONDS, this.config.lockSeconds, this.config.ipWindowSeconds);
    await this.run(
      em,
      sql`delete from login_throttles where key in (select key from login_throttles
        where updated_at < now() - cast(${keep} as float8) * interval '1 second'
          and (blocked_until is null or blocked_until < now()) limit 500)`,
    );
  }

  private async decide(em: EntityManager, statement: Statement): Promise<Decision> {
    const [row] = await this.run<{ allowed: boolean; wait: number }>(em, statement);
    return { allowed: row.allowed, wait: Math.max(1, row.wait) };
  }

  private run<T>(em: EntityManager, statement: Statement): Promise<T[]> {
    return em.getConnection().execute<T[]>(statement.text, statement.values, 'all', em.getTransactionContext());
  }
}
