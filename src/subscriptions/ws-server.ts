import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { MikroORM } from '@mikro-orm/postgresql';
import {
  createSourceEventStream,
  execute,
  GraphQLError,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import type { Context as WsContext } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { decodeJwt } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Authenticator, PendingAccess } from '../auth/access';
import type { LoginThrottler } from '../auth/login-throttle';
import type { TokenService } from '../auth/tokens';
import type { Viewer } from '../auth/viewer';
import type { Clock } from '../common/clock';
import { toGraphQLError } from '../common/error-mapping';
import { UnauthenticatedError } from '../common/errors';
import type { AppConfig } from '../config/config';
import { createRequestContext, type RequestContext } from '../context/request-context';
import { RequestGuard } from '../graphql/limits/request-guard';
import { formatError } from '../graphql/server';
import type { Logger } from '../logging/logger';
import type { LiveRoot } from './live-root';
import type { LoanChange } from './loan-change';
import type { LoanUpdateView } from './loan-update.types';
import { checkSubscription } from './operation-checks';

/**
 * WebSocket close codes of the live-update connections (README "Live updates (subscriptions)"). graphql-ws
 * clients give up on 4401 and 4429 and, if they retry at all, reconnect after 4403, 1001 and 1013 (calling
 * `connectionParams` again: make it a function returning the current token).
 */
export const LIVE_CLOSE_CODES = {
  /** `connection_init` without a valid bearer token: none, malformed, bad signature, expired, or revoked. */
  unauthorized: 4401,
  /** The token stopped being valid while connected: it expired, or it was revoked (log-out, revokeTokens, role or password change). */
  tokenEnded: 4403,
  /** More connections of this user to this replica than SUBSCRIPTION_CONNECTIONS_PER_USER. */
  tooManyConnections: 4429,
  /** The database could not check the token when connecting: try again later. */
  tryAgainLater: 1013,
} as const;

export interface LiveServerDeps {
  config: AppConfig;
  logger: Logger;
  orm: MikroORM;
  tokens: TokenService;
  authenticator: Authenticator;
  loginThrottle: LoginThrottler;
  clock: Clock;
  schema: GraphQLSchema;
  httpServer: http.Server;
  root: LiveRoot;
}

/** One authenticated WebSocket: whose it is, until when, and its timers. */
class LiveConnection {
  private readonly timers: NodeJS.Timeout[] = [];
  closed = false;

  constructor(
    readonly viewer: Viewer & { kind: 'user' },
    private readonly access: PendingAccess,
    private readonly socket: WebSocket,
    private readonly log: Logger,
    expiresAtMs: number,
    recheckMs: number,
  ) {
    const untilExpiry = Math.min(Math.max(expiresAtMs - Date.now(), 0), 2 ** 31 - 1);
    this.timers.push(setTimeout(() => this.close(LIVE_CLOSE_CODES.tokenEnded, 'Token expired'), untilExpiry));
    const recheck = setInterval(() => {
      this.current().catch((error: unknown) => this.log.warn({ err: error }, 'live updates: token re-check failed'));
    }, recheckMs);
    this.timers.push(recheck);
    for (const timer of this.timers) timer.unref();
  }

  /**
   * The caller now (the same one indexed read as every HTTP request: token version and current role), or
   * null once the token is revoked, which closes the connection. Throws when the database cannot tell.
   */
  async current(): Promise<Viewer | null> {
    if (this.closed) return null;
    try {
      return await this.access.check();
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      this.close(LIVE_CLOSE_CODES.tokenEnded, 'Token revoked');
      return null;
    }
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ended();
    this.log.info({ userId: this.viewer.userId, code, reason }, 'live updates: connection closed by the server');
    this.socket.close(code, reason);
  }

  /** The socket is closed (by either side): timers off. */
  ended(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
  }
}

/** Returned by `deliver` for a change that is not sent (the loan is no longer visible). */
const SKIP = Symbol('skip');
/** Returned by `deliver` once the connection is closing: the subscription ends. */
const END = Symbol('end');

const BEARER = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i;

/** `{ Authorization: "Bearer ..." }` or `{ authorization: "Bearer ..." }` in `connection_init`. */
function tokenOf(params: Readonly<Record<string, unknown>> | undefined): string | null {
  const value = params?.Authorization ?? params?.authorization;
  if (typeof value !== 'string') return null;
  return BEARER.exec(value)?.[1] ?? null;
}

function bytesOf(limit: string): number {
  const match = /^(\d+)(b|kb|mb)$/i.exec(limit);
  if (!match) return 100 * 1024;
  const unit = { b: 1, kb: 1024, mb: 1024 * 1024 }[match[2].toLowerCase() as 'b' | 'kb' | 'mb'];
  return Number(match[1]) * unit;
}

/**
 * Subscriptions over the graphql-ws protocol on the HTTP server's `/graphql` (the path of the HTTP API;
 * Apollo Sandbox speaks the same protocol), with the schema Apollo serves. Authentication is the token
 * in `connection_init`, checked as an HTTP request's is (signature, expiry, and the database's token
 * version and current role); it is checked again on every subscribe, on every delivered update and every
 * SUBSCRIPTION_RECHECK_SECONDS, and the connection is closed when the token expires or is revoked.
 * Queries and mutations are refused on the socket: they go over HTTP, through every HTTP guard.
 */
export class LiveServer {
  private readonly wss: WebSocketServer;
  private readonly cleanup: { dispose(): void | Promise<void> };
  private readonly connections = new WeakMap<object, LiveConnection>();
  private readonly byContext = new WeakMap<object, LiveConnection>();
  private readonly perUser = new Map<string, number>();
  private readonly log: Logger;
  private disposing: Promise<void> | undefined;

  constructor(private readonly deps: LiveServerDeps) {
    this.log = deps.logger.child({ component: 'subscriptions' });
    this.wss = new WebSocketServer({
      server: deps.httpServer,
      path: '/graphql',
      maxPayload: bytesOf(deps.config.bodyLimit),
    });
    this.cleanup = useServer<Record<string, unknown>, { socket: WebSocket; request: http.IncomingMessage }>(
      {
        schema: deps.schema,
        // Never an exception's message in a close reason.
        isProd: true,
        onConnect: (ctx) => this.connect(ctx),
        onSubscribe: (ctx, _id, payload) => this.prepare(ctx, payload),
        subscribe: (args) => this.subscribe(args),
        execute: () => ({ errors: [new GraphQLError('Only subscriptions are served on this socket.')] }),
        onNext: (_ctx, _id, _payload, _args, result) => this.format(result),
        onError: (_ctx, _id, _payload, errors) => errors.map((error) => formatError(error.toJSON(), error)),
        onClose: (ctx) => this.closed(ctx),
      },
      this.wss,
    );
  }

  /** For Apollo's `drainServer`: the sockets are closed (1001 Going away) when the app stops. */
  drainPlugin(): ApolloServerPlugin<RequestContext> {
    return {
      serverWillStart: async () => ({ drainServer: () => this.dispose() }),
    };
  }

  dispose(): Promise<void> {
    this.disposing ??= Promise.resolve()
      .then(() => this.cleanup.dispose())
      .catch((error: unknown) => {
        this.log.warn({ err: error }, 'live updates: closing the WebSocket server failed');
      });
    return this.disposing;
  }

  private async connect(ctx: WsContext<Record<string, unknown>, { socket: WebSocket }>): Promise<boolean> {
    const socket = ctx.extra.socket;
    const refuse = (code: number, reason: string) => {
      socket.close(code, reason);
      return false;
    };
    const token = tokenOf(ctx.connectionParams);
    if (!token) return refuse(LIVE_CLOSE_CODES.unauthorized, 'Unauthorized');
    let access: PendingAccess;
    let viewer: Viewer;
    try {
      access = await this.deps.authenticator.pending(token);
      viewer = await access.check();
    } catch (error) {
      if (error instanceof UnauthenticatedError) return refuse(LIVE_CLOSE_CODES.unauthorized, 'Unauthorized');
      this.log.warn({ err: error }, 'live updates: cannot check a token');
      return refuse(LIVE_CLOSE_CODES.tryAgainLater, 'Try again later');
    }
    if (viewer.kind !== 'user') return refuse(LIVE_CLOSE_CODES.unauthorized, 'Unauthorized');
    // Gone while its token was checked: nothing to register (its close has been handled already).
    if (socket.readyState !== socket.OPEN) return false;
    const { maxConnectionsPerUser, recheckSeconds } = this.deps.config.subscriptions;
    const open = this.perUser.get(viewer.userId) ?? 0;
    if (open >= maxConnectionsPerUser) return refuse(LIVE_CLOSE_CODES.tooManyConnections, 'Too many connections');
    // The signature was verified above: the claim is the token's own expiry.
    const exp = decodeJwt(token).exp ?? 0;
    const connection = new LiveConnection(viewer, access, socket, this.log, exp * 1000, recheckSeconds * 1000);
    this.perUser.set(viewer.userId, open + 1);
    this.connections.set(ctx, connection);
    this.log.debug({ userId: viewer.userId }, 'live updates: connection opened');
    return true;
  }

  private closed(ctx: object): void {
    const connection = this.connections.get(ctx);
    if (!connection) return;
    this.connections.delete(ctx);
    connection.ended();
    const left = (this.perUser.get(connection.viewer.userId) ?? 1) - 1;
    if (left > 0) this.perUser.set(connection.viewer.userId, left);
    else this.perUser.delete(connection.viewer.userId);
  }

  /** Checks the document and the caller (a subscribe is a request: its token is checked again). */
  private async prepare(
    ctx: WsContext<Record<string, unknown>, { socket: WebSocket }>,
    payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  ): Promise<ExecutionArgs | GraphQLError[]> {
    const connection = this.connections.get(ctx);
    if (!connection) return [new GraphQLError('Unauthorized', { extensions: { code: 'UNAUTHENTICATED' } })];
    // The new subscription's id is already in `ctx.subscriptions` (graphql-ws adds it before this hook).
    const max = this.deps.config.subscriptions.maxPerConnection;
    if (Object.keys(ctx.subscriptions).length > max) {
      return [
        new GraphQLError(
          `At most ${max} subscriptions per connection (SUBSCRIPTIONS_PER_CONNECTION): complete one first.`,
          { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } },
        ),
      ];
    }
    const checked = checkSubscription(this.deps.schema, this.deps.config.graphql.limits, payload);
    if (Array.isArray(checked)) return checked;
    let viewer: Viewer | null;
    try {
      viewer = await connection.current();
    } catch (error) {
      return [toGraphQLError(error)];
    }
    if (!viewer) {
      return [new GraphQLError('The token has been revoked.', { extensions: { code: 'UNAUTHENTICATED' } })];
    }
    const contextValue = this.contextFor(viewer);
    this.byContext.set(contextValue, connection);
    return {
      schema: this.deps.schema,
      document: checked.document,
      operationName: payload.operationName ?? undefined,
      variableValues: payload.variables ?? undefined,
      rootValue: this.deps.root,
      contextValue,
    };
  }

  private contextFor(viewer: Viewer): RequestContext {
    const requestId = randomUUID();
    return createRequestContext(this.deps.orm, this.deps.tokens, {
      requestId,
      logger: this.log.child({ requestId }),
      viewer,
      idempotency: this.deps.config.idempotency,
      loginThrottle: this.deps.loginThrottle,
      clock: this.deps.clock,
    });
  }

  /**
   * graphql-js's `subscribe`, except that each change runs with a context of its own: a fresh
   * EntityManager and loaders (nothing cached from an earlier update), the caller as the database says now,
   * and a request guard (deadline, response nodes, database share) as an HTTP request has.
   */
  private async subscribe(args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
    const connection = this.byContext.get(args.contextValue as object);
    if (!connection) return { errors: [new GraphQLError('Unauthorized', { extensions: { code: 'UNAUTHENTICATED' } })] };
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream;
    return mapChanges(stream as AsyncIterable<LoanChange>, (change) => this.deliver(connection, args, change));
  }

  private async deliver(
    connection: LiveConnection,
    args: ExecutionArgs,
    change: LoanChange,
  ): Promise<ExecutionResult | typeof SKIP | typeof END> {
    let viewer: Viewer | null;
    try {
      viewer = await connection.current();
    } catch (error) {
      return { errors: [toGraphQLError(error)] };
    }
    if (!viewer) return END;
    const context = this.contextFor(viewer);
    const guard = new RequestGuard(this.deps.config.graphql.limits);
    context.guard = guard;
    try {
      return await guard.database.run(async () => {
        // The same scoped read as `loan(id:)`: what this caller may see of the loan, now.
        const loan = await guard.race(context.services.loans.findById(change.loanId));
        if (!loan) return SKIP;
        const update: LoanUpdateView = {
          eventId: change.eventId,
          eventType: change.type,
          occurredAt: change.time,
          loan,
        };
        return await execute({ ...args, rootValue: update, contextValue: context });
      });
    } catch (error) {
      return { errors: [guard.error ?? toGraphQLError(error)] };
    } finally {
      guard.finish();
    }
  }

  /** Errors as HTTP answers show them (masked unless public); unexpected ones logged. */
  private format(result: ExecutionResult): ExecutionResult | void {
    if (!result.errors) return;
    const errors = result.errors.map((error) => {
      const formatted = formatError(error.toJSON(), error);
      if (formatted.extensions?.code === 'INTERNAL_SERVER_ERROR') {
        this.log.error({ err: error.originalError ?? error, path: error.path }, 'GraphQL subscription failed');
      }
      return formatted;
    });
    return { ...result, errors } as unknown as ExecutionResult;
  }
}

/**
 * The source stream mapped through `deliver`, one change at a time. `return()` goes straight to the source
 * (an async generator would wait for the next change first, holding the subscription until one came).
 */
function mapChanges(
  source: AsyncIterable<LoanChange>,
  deliver: (change: LoanChange) => Promise<ExecutionResult | typeof SKIP | typeof END>,
): AsyncGenerator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  const finish = async (): Promise<IteratorResult<ExecutionResult>> => {
    await iterator.return?.();
    return { done: true, value: undefined };
  };
  const mapped: AsyncGenerator<ExecutionResult> = {
    async next() {
      for (;;) {
        const step = await iterator.next();
        if (step.done) return { done: true, value: undefined };
        const result = await deliver(step.value);
        if (result === END) return finish();
        if (result !== SKIP) return { done: false, value: result };
      }
    },
    return: finish,
    async throw(error: unknown) {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
  } as unknown as AsyncGenerator<ExecutionResult>;
  return mapped;
}
