import type { MikroORM, EntityManager } from '@mikro-orm/postgresql';
import { ActivityService } from '../activity/activity.service';
import { ApiKeyEventSource } from '../api-keys/api-key-event.entity';
import { ApiKeyService } from '../api-keys/api-key.service';
import { IdempotencyService, type IdempotencySettings } from '../idempotency/idempotency.service';
import { AuthService } from '../auth/auth.service';
import type { PendingAccess } from '../auth/access';
import type { LoginThrottler } from '../auth/login-throttle';
import type { TokenService } from '../auth/tokens';
import { ANONYMOUS, type Viewer } from '../auth/viewer';
import type { Logger } from '../logging/logger';
import { LoanService } from '../loans/loan.service';
import { LoanProductService } from '../products/loan-product.service';
import { StatsService } from '../stats/stats.service';
import { DashboardService } from '../dashboard/dashboard.service';
import { UserService } from '../users/user.service';
import { NotificationService } from '../notifications/notification.service';
import { WebhookService } from '../webhooks/webhook.service';
import type { WebhookUrlPolicy } from '../webhooks/webhook.url';
import { RepaymentService } from '../repayments/repayment.service';
import { systemClock, type Clock } from '../common/clock';
import { createLoaders, type Loaders } from './loaders';
import type { RequestGuard } from '../graphql/limits/request-guard';

export type { Viewer } from '../auth/viewer';

export interface RequestContext {
  requestId: string;
  /**
   * Who is calling, from the bearer token (or the open legacy REST mode); every service receives it. For a
   * GraphQL token it is known once `authenticate` has run (before any resolver); reading it earlier throws.
   */
  readonly viewer: Viewer;
  /**
   * GraphQL: checks the caller's verified token against the database (revocation, current role: one
   * indexed read), once; the authentication plugin calls it after validation and the cost limit.
   * UnauthenticatedError for a revoked token. Nothing to do for anonymous, REST or checked callers.
   */
  authenticate(): Promise<void>;
  logger: Logger;
  /** "Now" for business rules (schedules, paidAt, arrears): the system clock, or the one a test injected. */
  clock: Clock;
  /** Forked per request: an identity map of its own, never the global one. */
  em: EntityManager;
  loaders: Loaders;
  services: {
    auth: AuthService;
    loans: LoanService;
    products: LoanProductService;
    users: UserService;
    stats: StatsService;
    activity: ActivityService;
    idempotency: IdempotencyService;
    apiKeys: ApiKeyService;
    repayments: RepaymentService;
    dashboard: DashboardService;
    notifications: NotificationService;
    webhooks: WebhookService;
  };
  /** GraphQL only: the request's deadline, response cap and database share (README "Limits"). */
  guard?: RequestGuard;
  /**
   * Fields added to the request's log line (the GraphQL operation name). A shared object on purpose:
   * Apollo shallow-copies the context per operation, so only a reference survives back to express.
   */
  logFields: { graphqlOperation?: string; userId?: string; apiKeyId?: string };
}

/**
 * The one context factory, used by both the GraphQL server and the REST shim. The EntityManager fork, the
 * loaders and the services are made on first use: `/health`, a refused token or a request answered from
 * views alone does not pay for a unit of work it never uses. (Apollo shallow-copies the context per
 * operation; the getters live on the prototype and the made parts in one shared holder, so a copy makes
 * nothing twice.)
 */
export function createRequestContext(
  orm: MikroORM,
  tokens: TokenService,
  request: {
    requestId: string;
    /**
     * The request's logger, or a function giving it when something first logs (REST: pino-http's child logger is
     * made on first use). A function, not a getter: an object literal with a getter closing over the request gets
     * a map of its own (old space), which keeps that request's whole object graph alive through every young
     * collection until the next full one (docs/profiling.md, "Seventh round").
     */
    logger: Logger | (() => Logger);
    viewer?: Viewer;
    /** GraphQL: a verified token whose database check waits for `authenticate` (instead of `viewer`). */
    pendingAccess?: PendingAccess;
    /** The client's address (express `req.ip`): scopes anonymous callers' idempotency keys. */
    clientIp?: string;
    idempotency?: IdempotencySettings;
    /** Log-in throttling (per account and per client address), shared by every request. */
    loginThrottle: LoginThrottler;
    /** Defaults to the system clock. */
    clock?: Clock;
    /** Where webhook endpoints may point (README "Partner webhooks"); default: https and public addresses only. */
    webhooks?: WebhookUrlPolicy;
  },
): RequestContext {
  const made: Made = request.pendingAccess
    ? { pending: request.pendingAccess }
    : { viewer: request.viewer ?? ANONYMOUS };
  return new LazyRequestContext(orm, tokens, request.requestId, made, request);
}

interface Made {
  /** Unset while a GraphQL token waits for its check (`pending`). */
  viewer?: Viewer;
  pending?: PendingAccess;
  em?: EntityManager;
  loaders?: Loaders;
  services?: RequestContext['services'];
}

class LazyRequestContext implements RequestContext {
  logFields: RequestContext['logFields'];
  guard?: RequestContext['guard'];
  readonly clock: Clock;

  constructor(
    private readonly orm: MikroORM,
    private readonly tokens: TokenService,
    readonly requestId: string,
    private readonly made: Made,
    private readonly extras: {
      /** Read when something logs (REST passes a function: the request's child logger is made on first use). */
      readonly logger: Logger | (() => Logger);
      clientIp?: string;
      idempotency?: IdempotencySettings;
      loginThrottle: LoginThrottler;
      clock?: Clock;
      webhooks?: WebhookUrlPolicy;
    },
  ) {
    this.clock = extras.clock ?? systemClock;
    const viewer = made.viewer;
    const userId = made.pending?.userId ?? (viewer?.kind === 'user' ? viewer.userId : undefined);
    this.logFields = userId === undefined ? {} : { userId };
    // Which key made a REST request (REST_AUTH=api-key): its id, never the key.
    if (viewer?.kind === 'apiKey') this.logFields.apiKeyId = viewer.keyId;
  }

  get logger(): Logger {
    const logger = this.extras.logger;
    return typeof logger === 'function' ? logger() : logger;
  }

  get viewer(): Viewer {
    const viewer = this.made.viewer;
    // Fails closed: nothing acts for a caller whose token has not been checked against the database.
    if (!viewer) throw new Error('the caller was read before its token was checked (RequestContext.authenticate)');
    return viewer;
  }

  async authenticate(): Promise<void> {
    const pending = this.made.pending;
    if (this.made.viewer || !pending) return;
    this.made.viewer = await pending.check();
  }

  get em(): EntityManager {
    return (this.made.em ??= this.orm.em.fork());
  }

  get loaders(): Loaders {
    return (this.made.loaders ??= createLoaders(this.em));
  }

  get services(): RequestContext['services'] {
    const em = this.em;
    const viewer = this.viewer;
    return (this.made.services ??= {
      auth: new AuthService(em, {
        tokens: this.tokens,
        throttle: this.extras.loginThrottle,
        viewer,
        clientAddress: this.extras.clientIp ?? 'unknown',
      }),
      loans: new LoanService(em, viewer, this.clock),
      products: new LoanProductService(em, viewer, () => this.clock.now()),
      users: new UserService(em, viewer),
      stats: new StatsService(em, viewer, this.clock),
      activity: new ActivityService(em, viewer),
      idempotency: new IdempotencyService(em, viewer, this.extras.idempotency, this.extras.clientIp),
      apiKeys: new ApiKeyService(em, { source: ApiKeyEventSource.GRAPHQL, viewer }),
      repayments: new RepaymentService(em, viewer, this.clock),
      dashboard: new DashboardService(em, viewer, this.clock),
      notifications: new NotificationService(em, viewer),
      webhooks: new WebhookService(em, viewer, this.extras.webhooks ?? { allowInsecure: false }),
    });
  }
}
