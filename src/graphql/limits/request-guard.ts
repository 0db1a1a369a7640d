import { GraphQLError } from 'graphql';
import { DatabaseScope } from '../../db/request-scope';

/**
 * The dynamic guards of one GraphQL request: a deadline, the client going away, and a cap on the
 * nodes of its response. Any of them aborts the request: resolvers stop (the error middleware checks
 * the guard before each resolver and races each one against the abort), and the request's SQL is
 * cancelled in PostgreSQL by its `DatabaseScope`, which also bounds the pool connections it holds.
 * (Plain data fields have no resolver of their own: the guard sees the resolvers that do work.)
 */
export type AbortKind = 'deadline' | 'client-gone' | 'too-large';

export const GUARD_CODES = {
  deadline: 'DEADLINE_EXCEEDED',
  'client-gone': 'CLIENT_CLOSED_REQUEST',
  'too-large': 'RESPONSE_TOO_LARGE',
} as const satisfies Record<AbortKind, string>;

/** HTTP status of each: 504 as Apollo Router answers its own timeouts; 400 for an answer the client must shrink. */
export const GUARD_STATUS: Record<AbortKind, number> = { deadline: 504, 'client-gone': 499, 'too-large': 400 };

export interface GuardLimits {
  deadlineMs: number;
  maxConnectionsPerRequest: number;
  maxResponseNodes: number;
}

export class RequestGuard {
  readonly database: DatabaseScope;
  private readonly startedAt = Date.now();
  private readonly timer: NodeJS.Timeout;
  private nodes = 0;
  private abortKind: AbortKind | undefined;
  private abortError: GraphQLError | undefined;
  private abortPromise: Promise<never> | undefined;
  private rejectAbortPromise: ((error: GraphQLError) => void) | undefined;
  /** Resolves once the request's statements have been asked to cancel (tests and the log wait on it). */
  cancellation: Promise<void> = Promise.resolve();

  constructor(private readonly limits: GuardLimits) {
    this.database = new DatabaseScope(limits.maxConnectionsPerRequest);
    this.timer = setTimeout(() => this.abort('deadline'), limits.deadlineMs);
    this.timer.unref();
  }

  get aborted(): AbortKind | undefined {
    return this.abortKind;
  }

  get error(): GraphQLError | undefined {
    return this.abortError;
  }

  get elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  get resolvedNodes(): number {
    return this.nodes;
  }

  /** Aborts the request (the first reason wins) and returns the error it now answers with. */
  abort(kind: AbortKind): GraphQLError {
    if (this.abortError) return this.abortError;
    this.abortKind = kind;
    clearTimeout(this.timer);
    const error = new GraphQLError(this.messageFor(kind), {
      extensions: { code: GUARD_CODES[kind], http: { status: GUARD_STATUS[kind] } },
    });
    this.abortError = error;
    this.rejectAbortPromise?.(error);
    this.cancellation = this.database.abort(error);
    return error;
  }

  /** The request is over: no deadline any more. */
  finish(): void {
    clearTimeout(this.timer);
  }

  /** Called before every resolver: throws once the request is aborted. */
  checkpoint(): void {
    if (this.abortError) throw this.abortError;
  }

  /**
   * Called with every resolver's result: counts the nodes of the response (the result, each item of a
   * list, each edge of a connection) and stops the request past the cap.
   */
  resolved(result: unknown): void {
    let nodes = 1;
    if (Array.isArray(result)) nodes += result.length;
    else if (result !== null && typeof result === 'object' && Array.isArray((result as { edges?: unknown }).edges)) {
      nodes += (result as { edges: unknown[] }).edges.length;
    }
    this.nodes += nodes;
    if (this.nodes > this.limits.maxResponseNodes) throw this.abort('too-large');
  }

  /** `work`, or the abort error as soon as the request is aborted, whichever comes first. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.abortError) {
      work.catch(() => undefined);
      return Promise.reject(this.abortError);
    }
    if (!this.abortPromise) {
      this.abortPromise = new Promise<never>((_resolve, reject) => {
        this.rejectAbortPromise = reject;
      });
      // Whichever loses the race must not become an unhandled rejection.
      this.abortPromise.catch(() => undefined);
    }
    work.catch(() => undefined);
    return Promise.race([work, this.abortPromise]);
  }

  private messageFor(kind: AbortKind): string {
    switch (kind) {
      case 'deadline':
        return `The request did not finish within its deadline of ${this.limits.deadlineMs} ms and was stopped (GRAPHQL_DEADLINE_MS). Ask for less, or retry later.`;
      case 'too-large':
        return `The response would have more than ${this.limits.maxResponseNodes} nodes and was stopped (GRAPHQL_MAX_RESPONSE_NODES). Ask for smaller pages or fewer nested lists.`;
      case 'client-gone':
        return 'The client closed the connection before the answer was ready.';
    }
  }
}
