import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

/**
 * The whole runtime configuration, read once from the environment and validated at start.
 * Nothing else in the code base reads `process.env`: this object is passed down instead.
 */
export interface AppConfig {
  appEnv: AppEnv;
  host: string;
  port: number;
  /** Unset: an embedded PostgreSQL is started (never in production). */
  databaseUrl: string | undefined;
  /**
   * Straight to PostgreSQL, never through a transaction pooler: migrations, the seed and the outbox relay's
   * session (advisory lock, LISTEN). Unset: `databaseUrl` (docs/deployment.md "PgBouncer").
   */
  databaseDirectUrl: string | undefined;
  /** What `databaseUrl` reaches: PostgreSQL itself (`none`), or a PgBouncer in transaction pooling mode. */
  databasePooler: DatabasePooler;
  embeddedPostgres: { port: number; dataDir: string };
  dbPoolSize: number;
  /** What bounds every database call of a request, so that a hung database gives a fast 503 (README "Configuration"). */
  dbTimeouts: DatabaseTimeouts;
  logLevel: LogLevel;
  seed: boolean;
  migrateOnStart: boolean;
  graphql: GraphQLConfig;
  /** How long `/health` waits for the database before answering 503. */
  healthTimeoutMs: number;
  /** How long a graceful shutdown waits for in-flight requests before closing them. */
  shutdownTimeoutMs: number;
  /**
   * After SIGTERM/SIGINT, how long `/health/ready` answers 503 (requests still served) before draining starts,
   * so that load balancers stop sending traffic first (README "Probes and shutdown").
   */
  shutdownReadinessDelayMs: number;
  /** Upper bound on a JSON request body (express `limit` syntax). */
  bodyLimit: string;
  /** Express 'trust proxy': the proxies whose X-Forwarded-* are believed; false believes none. */
  trustProxy: string | false;
  /** Idempotent creation (README "Idempotent creation"): how long a key and its answer are kept. */
  idempotency: { keyTtlHours: number };
  auth: AuthConfig;
  /** RabbitMQ (README "Notifications worker"): unset, nothing is consumed and the worker refuses to start. */
  amqp: { url: string | undefined; exchange: string };
  /** The notifications and webhooks worker (`npm run worker`; README "Notifications worker"). */
  worker: WorkerConfig;
  /** Partner webhooks (README "Partner webhooks"). */
  webhooks: { timeoutMs: number };
  /** The relay of the transactional outbox to RabbitMQ (docs/events.md); it runs only when `amqp.url` is set. */
  outbox: OutboxConfig;
  /** Live updates over WebSocket (README "Live updates (subscriptions)"); fed from the broker (`amqp.url`). */
  subscriptions: SubscriptionsConfig;
  /** Prometheus metrics (README "Metrics"): off unless a port or a token says where they may be read. */
  metrics: MetricsConfig;
}

export interface MetricsConfig {
  /** A separate listener serving only GET /metrics (never exposed publicly); undefined: none. */
  port: number | undefined;
  /** Bind address of that listener. */
  host: string;
  /** Bearer token that opens GET /metrics on the public port; undefined: /metrics is not served there. */
  token: string | undefined;
}

/** Shorter tokens are refused: /metrics shows traffic and names of operations to whoever holds it. */
export const METRICS_TOKEN_MIN_LENGTH = 16;

export interface SubscriptionsConfig {
  /** How often an open connection's token is checked again (revocation), besides on every delivered update. */
  recheckSeconds: number;
  /** Subscriptions open at once on one connection. */
  maxPerConnection: number;
  /** Connections of one user to one replica. */
  maxConnectionsPerUser: number;
}

export interface OutboxConfig {
  /** Events read, published and marked per round. */
  batchSize: number;
  /** The fallback poll (NOTIFY wakes the relay at once), and how often a replica tries to become the relay. */
  pollIntervalMs: number;
}

export interface WorkerConfig {
  /** Unacknowledged messages per queue consumer. */
  prefetch: number;
  /** Deliveries of one message before it goes to the dead-letter queue (the first included). */
  maxAttempts: number;
  /** Waits before the 2nd, 3rd... delivery; the last one repeats when there are more attempts than delays. */
  retryDelaysMs: number[];
  /** Prefix of every queue name (`<prefix>.notifications`, `<prefix>.webhooks`...). */
  queuePrefix: string;
}

export interface DatabaseTimeouts {
  /** PostgreSQL's `statement_timeout`, set on every pool connection: the server cancels a longer statement. */
  statementMs: number;
  /**
   * pg's client-side `query_timeout`: a statement with no answer after this long fails (and its connection is
   * retired), also when the server cannot cancel anything because it is frozen or unreachable.
   */
  queryMs: number;
  /** The longest a request waits for a pool connection (a free one, or a new one to connect). */
  acquireMs: number;
}

/**
 * Under the GraphQL deadline (5000 ms), so that a hung database answers 503 SERVICE_UNAVAILABLE, not 504,
 * and the server-side timeout below the client-side one, so that a slow statement is cancelled cleanly by
 * PostgreSQL (57014) and its connection kept, before the client gives up on the connection.
 */
export const DATABASE_TIMEOUT_DEFAULTS: DatabaseTimeouts = { statementMs: 4000, queryMs: 4500, acquireMs: 4500 };

export interface GraphQLConfig {
  introspection: boolean;
  sandbox: boolean;
  /** Operations executed by graphql-jit's compiled functions (off: graphql-js `execute`); on when absent. */
  jit?: boolean;
  /** Static limits, checked before any resolver runs, and the dynamic guards (README "Limits"). */
  limits: GraphQLLimits;
}

export interface GraphQLLimits {
  /** Parser tokens per document (graphql-js `maxTokens`). */
  maxTokens: number;
  /** Nesting of fields (fragments expanded; introspection's `__schema` not counted). */
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  /** Root fields of one operation (aliases of the same field count each). */
  maxRootFields: number;
  /** Budget of the computed cost (README "Limits": a connection multiplies its children by its page size). */
  maxCost: number;
  /** A request still resolving after this long stops, its SQL cancelled, and answers DEADLINE_EXCEEDED. */
  deadlineMs: number;
  /** Pool connections one request may hold at once (at most DB_POOL_SIZE - 1); the rest stays for other callers. */
  maxConnectionsPerRequest: number;
  /** Nodes in one response (resolver results, list items, connection edges); past it: RESPONSE_TOO_LARGE. */
  maxResponseNodes: number;
}

export interface AuthConfig {
  /** HS256 key (at least 32 bytes). */
  jwtSecret: Uint8Array;
  /** True when no JWT_SECRET was given (development only): tokens die with the process. */
  jwtSecretGenerated: boolean;
  tokenTtlSeconds: number;
  issuer: string;
  audience: string;
  /** The first admin, created at start when no admin exists. */
  admin: { email: string; password: string } | undefined;
  /**
   * `open`: /api/* as the legacy API had it (no token). `required`: a bearer token on every /api/* call.
   * `api-key`: an API key (server-to-server callers; README "API keys") or a bearer token on every /api/* call.
   */
  restAuth: RestAuthMode;
  loginThrottle: LoginThrottleConfig;
}

/** Failed log-ins, counted in PostgreSQL for every replica (README "Log-in throttling"). */
export interface LoginThrottleConfig {
  /** Consecutive failures of one account (email) that lock it for `lockSeconds`. */
  maxFailures: number;
  lockSeconds: number;
  /** The growing delay before the lock: after the k-th failure, `delaySeconds * 2^(k-1)`; 0 turns it off. */
  delaySeconds: number;
  /** Failed log-ins from one client address within `ipWindowSeconds` (any accounts) before it waits. */
  ipMaxFailures: number;
  ipWindowSeconds: number;
}

export const LOGIN_THROTTLE_DEFAULTS: LoginThrottleConfig = {
  maxFailures: 10,
  lockSeconds: 900,
  delaySeconds: 1,
  ipMaxFailures: 100,
  ipWindowSeconds: 900,
};

export const REST_AUTH_MODES = ['open', 'required', 'api-key'] as const;
export type RestAuthMode = (typeof REST_AUTH_MODES)[number];

/** Documented in the README; only ever used in development, and refused anywhere else. */
export const DEVELOPMENT_ADMIN = { email: 'admin@branchloans.com', password: 'dev-admin-password' } as const;
export const PASSWORD_LIMITS = { min: 8, max: 128 } as const;
export const JWT_SECRET_MIN_BYTES = 32;

/**
 * Chosen so that every operation in client/operations and the README passes with room to spare
 * (test/graphql/limits.test.ts prints and checks the margins), while the abuse corpus is refused.
 */
export const GRAPHQL_LIMIT_DEFAULTS: GraphQLLimits = {
  maxTokens: 3000,
  maxDepth: 15,
  maxAliases: 30,
  maxDirectives: 50,
  maxRootFields: 20,
  maxCost: 25000,
  deadlineMs: 5000,
  maxConnectionsPerRequest: 2,
  maxResponseNodes: 50000,
};

/**
 * Staging and production: time for whatever routes traffic here to stop before the server stops accepting:
 * a terminating pod's endpoint removal reaches kube-proxy and the ingress controller a moment after SIGTERM,
 * and a balancer polling /health/ready needs its period (5 s in deploy/k8s) times its failure threshold.
 */
export const SHUTDOWN_READINESS_DELAY_DEFAULT_MS = 5000;

/** `pgbouncer`: DATABASE_URL is a PgBouncer in transaction mode (docs/deployment.md "PgBouncer"). */
export const DATABASE_POOLERS = ['none', 'pgbouncer'] as const;
export type DatabasePooler = (typeof DATABASE_POOLERS)[number];

export const APP_ENVS = ['development', 'staging', 'production'] as const;
export type AppEnv = (typeof APP_ENVS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(v), {
    message: 'must be one of true, false, 1, 0, yes, no, on, off',
  })
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const postgresUrl = z
  .string()
  .trim()
  .refine(
    (v) => {
      try {
        const url = new URL(v);
        return url.protocol === 'postgres:' || url.protocol === 'postgresql:';
      } catch {
        return false;
      }
    },
    { message: 'must be a postgres:// or postgresql:// URL' },
  );

/**
 * TRUST_PROXY: `false` (the default: X-Forwarded-* ignored) or a comma list of the proxies' addresses:
 * IPs, CIDRs, or express's names `loopback`, `linklocal`, `uniquelocal`.
 */
const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];
const trustProxy = z
  .string()
  .trim()
  .transform((v, ctx) => {
    if (['false', 'off', 'no', '0'].includes(v.toLowerCase())) return false as const;
    const items = v.split(',').map((item) => item.trim());
    for (const item of items) {
      const [address, bits, extra] = item.split('/');
      const version = isIP(address);
      const validBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (version === 6 ? 128 : 32));
      if (!(TRUST_PROXY_NAMES.includes(item) || (version !== 0 && validBits && extra === undefined))) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not an IP, a CIDR, loopback, linklocal or uniquelocal` });
        return z.NEVER;
      }
    }
    return items.join(',');
  });

const envSchema = z.object({
  APP_ENV: z.enum(APP_ENVS).default('development'),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  PORT: int(1, 65535).default(8000),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_DIRECT_URL: postgresUrl.optional(),
  DATABASE_POOLER: z.enum(DATABASE_POOLERS).default('none'),
  EMBEDDED_PG_PORT: int(1024, 32767).default(54329),
  EMBEDDED_PG_DIR: z.string().trim().min(1).default('.data/postgres'),
  // Migrating at start holds one connection for its lock while the migrator may use another.
  DB_POOL_SIZE: int(2, 100).default(10),
  DB_STATEMENT_TIMEOUT_MS: int(100, 600000).default(DATABASE_TIMEOUT_DEFAULTS.statementMs),
  DB_QUERY_TIMEOUT_MS: int(100, 600000).default(DATABASE_TIMEOUT_DEFAULTS.queryMs),
  DB_ACQUIRE_TIMEOUT_MS: int(100, 600000).default(DATABASE_TIMEOUT_DEFAULTS.acquireMs),
  LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
  SEED: bool.optional(),
  MIGRATE_ON_START: bool.default(true),
  GRAPHQL_INTROSPECTION: bool.optional(),
  GRAPHQL_SANDBOX: bool.optional(),
  GRAPHQL_JIT: bool.default(true),
  HEALTH_TIMEOUT_MS: int(100, 60000).default(2000),
  SHUTDOWN_TIMEOUT_MS: int(0, 600000).default(10000),
  // Default by APP_ENV (below): 0 in development, where nothing routes by readiness and Ctrl-C should be quick.
  SHUTDOWN_READINESS_DELAY_MS: int(0, 600000).optional(),
  TRUST_PROXY: trustProxy.optional(),
  // At most a year: a key is a retry handle, not an archive.
  IDEMPOTENCY_KEY_TTL_HOURS: int(1, 24 * 366).default(24),
  JWT_SECRET: z
    .string()
    .refine((v) => Buffer.byteLength(v, 'utf8') >= JWT_SECRET_MIN_BYTES, {
      message: `must be at least ${JWT_SECRET_MIN_BYTES} bytes (for example: openssl rand -base64 48)`,
    })
    .optional(),
  JWT_TTL_SECONDS: int(60, 7 * 24 * 3600).default(3600),
  JWT_ISSUER: z.string().trim().min(1).default('branchloans-gateway'),
  JWT_AUDIENCE: z.string().trim().min(1).default('branchloans-api'),
  ADMIN_EMAIL: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { message: 'is not an email address' })
    .optional(),
  ADMIN_PASSWORD: z
    .string()
    .min(PASSWORD_LIMITS.min, { message: `must be at least ${PASSWORD_LIMITS.min} characters` })
    .max(PASSWORD_LIMITS.max, { message: `must be at most ${PASSWORD_LIMITS.max} characters` })
    .optional(),
  REST_AUTH: z.enum(REST_AUTH_MODES).default('open'),
  LOGIN_MAX_FAILURES: int(1, 1000).default(LOGIN_THROTTLE_DEFAULTS.maxFailures),
  LOGIN_LOCK_SECONDS: int(1, 7 * 24 * 3600).default(LOGIN_THROTTLE_DEFAULTS.lockSeconds),
  LOGIN_DELAY_SECONDS: int(0, 3600).default(LOGIN_THROTTLE_DEFAULTS.delaySeconds),
  LOGIN_IP_MAX_ATTEMPTS: int(1, 1_000_000).default(LOGIN_THROTTLE_DEFAULTS.ipMaxFailures),
  LOGIN_IP_WINDOW_SECONDS: int(1, 7 * 24 * 3600).default(LOGIN_THROTTLE_DEFAULTS.ipWindowSeconds),
  GRAPHQL_MAX_TOKENS: int(100, 100000).default(GRAPHQL_LIMIT_DEFAULTS.maxTokens),
  GRAPHQL_MAX_DEPTH: int(2, 100).default(GRAPHQL_LIMIT_DEFAULTS.maxDepth),
  GRAPHQL_MAX_ALIASES: int(0, 1000).default(GRAPHQL_LIMIT_DEFAULTS.maxAliases),
  GRAPHQL_MAX_DIRECTIVES: int(0, 1000).default(GRAPHQL_LIMIT_DEFAULTS.maxDirectives),
  GRAPHQL_MAX_ROOT_FIELDS: int(1, 1000).default(GRAPHQL_LIMIT_DEFAULTS.maxRootFields),
  GRAPHQL_MAX_COST: int(1, 10_000_000).default(GRAPHQL_LIMIT_DEFAULTS.maxCost),
  GRAPHQL_DEADLINE_MS: int(10, 600000).default(GRAPHQL_LIMIT_DEFAULTS.deadlineMs),
  GRAPHQL_MAX_CONNECTIONS_PER_REQUEST: int(1, 100).default(GRAPHQL_LIMIT_DEFAULTS.maxConnectionsPerRequest),
  GRAPHQL_MAX_RESPONSE_NODES: int(10, 10_000_000).default(GRAPHQL_LIMIT_DEFAULTS.maxResponseNodes),
  AMQP_URL: z
    .string()
    .trim()
    .regex(/^amqps?:\/\//, { message: 'must be an amqp:// or amqps:// URL' })
    .optional(),
  AMQP_EXCHANGE: z.string().trim().min(1).max(255).default('branchloans.events'),
  SUBSCRIPTION_RECHECK_SECONDS: int(1, 3600).default(30),
  SUBSCRIPTIONS_PER_CONNECTION: int(1, 1000).default(20),
  SUBSCRIPTION_CONNECTIONS_PER_USER: int(1, 10000).default(10),
  WORKER_PREFETCH: int(1, 1000).default(16),
  WORKER_MAX_ATTEMPTS: int(1, 100).default(5),
  WORKER_RETRY_DELAYS_MS: z
    .string()
    .trim()
    .regex(/^\d+(,\d+)*$/, { message: 'must be a comma list of milliseconds, e.g. 1000,5000,30000' })
    .transform((v) => v.split(',').map(Number))
    .refine((v) => v.every((ms) => ms >= 1 && ms <= 86_400_000), { message: 'each delay must be 1..86400000 ms' })
    .default([1000, 5000, 30000, 120000, 600000]),
  WORKER_QUEUE_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/, { message: 'must be 1..100 of A-Z a-z 0-9 _ . -' })
    .default('branchloans'),
  WEBHOOK_TIMEOUT_MS: int(100, 120000).default(10000),
  OUTBOX_BATCH_SIZE: int(1, 10000).default(100),
  OUTBOX_POLL_INTERVAL_MS: int(10, 600000).default(1000),
  METRICS_PORT: int(1, 65535).optional(),
  METRICS_HOST: z.string().trim().min(1).default('0.0.0.0'),
  METRICS_TOKEN: z
    .string()
    .trim()
    .min(METRICS_TOKEN_MIN_LENGTH, {
      message: `must be at least ${METRICS_TOKEN_MIN_LENGTH} characters (for example: openssl rand -hex 32)`,
    })
    .regex(/^[\x21-\x7e]+$/, { message: 'must be printable ASCII without spaces (it is sent in an HTTP header)' })
    .optional(),
  BODY_LIMIT: z
    .string()
    .trim()
    .regex(/^\d+(b|kb|mb)$/i, { message: 'must look like 100kb or 1mb' })
    .default('100kb'),
});

/** Environment variables whose empty value means "not set" (a common docker-compose idiom). */
function withoutEmptyValues(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AppConfig {
  const parsed = envSchema.safeParse(withoutEmptyValues(env));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`));
  }
  const e = parsed.data;
  const isProduction = e.APP_ENV === 'production';
  const problems: string[] = [];
  if (isProduction && !e.DATABASE_URL) {
    problems.push('DATABASE_URL: is required when APP_ENV=production (no embedded database in production)');
  }
  if (e.DATABASE_DIRECT_URL && !e.DATABASE_URL) {
    problems.push('DATABASE_DIRECT_URL: is set without DATABASE_URL (the embedded database needs neither)');
  }
  if (e.DATABASE_POOLER === 'pgbouncer' && !e.DATABASE_DIRECT_URL) {
    problems.push(
      'DATABASE_DIRECT_URL: is required when DATABASE_POOLER=pgbouncer (migrations and the outbox relay need a PostgreSQL session, which transaction pooling does not keep)',
    );
  }
  const isDevelopment = e.APP_ENV === 'development';
  if (!isDevelopment && !e.JWT_SECRET) {
    problems.push(
      `JWT_SECRET: is required when APP_ENV=${e.APP_ENV} (at least ${JWT_SECRET_MIN_BYTES} bytes; only development generates one)`,
    );
  }
  if (e.DB_QUERY_TIMEOUT_MS < e.DB_STATEMENT_TIMEOUT_MS) {
    problems.push(
      'DB_QUERY_TIMEOUT_MS: must be at least DB_STATEMENT_TIMEOUT_MS (PostgreSQL cancels a slow statement first; the client-side timeout is for a server that cannot answer)',
    );
  }
  if (e.DB_ACQUIRE_TIMEOUT_MS > e.DB_QUERY_TIMEOUT_MS) {
    problems.push(
      'DB_ACQUIRE_TIMEOUT_MS: must be at most DB_QUERY_TIMEOUT_MS (a request waiting for a connection must not outlast one waiting for an answer)',
    );
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT === e.PORT) {
    problems.push('METRICS_PORT: must differ from PORT (the metrics listener is a separate, non-public port)');
  }
  if ((e.ADMIN_EMAIL === undefined) !== (e.ADMIN_PASSWORD === undefined)) {
    problems.push('ADMIN_EMAIL, ADMIN_PASSWORD: set both or neither');
  }
  if (!isDevelopment && e.ADMIN_PASSWORD === DEVELOPMENT_ADMIN.password) {
    problems.push(
      `ADMIN_PASSWORD: is the documented development password; choose another one for APP_ENV=${e.APP_ENV}`,
    );
  }
  if (!isDevelopment) {
    // The example env files ship placeholders; starting with one would publish a known secret.
    for (const name of ['JWT_SECRET', 'ADMIN_PASSWORD'] as const) {
      if (e[name] !== undefined && /change-?me/i.test(e[name])) {
        problems.push(`${name}: is the placeholder from the example env file; set a secret of your own`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const admin =
    e.ADMIN_EMAIL !== undefined && e.ADMIN_PASSWORD !== undefined
      ? { email: e.ADMIN_EMAIL, password: e.ADMIN_PASSWORD }
      : isDevelopment && (e.SEED ?? true)
        ? { ...DEVELOPMENT_ADMIN }
        : undefined;

  return {
    appEnv: e.APP_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databaseDirectUrl: e.DATABASE_DIRECT_URL,
    databasePooler: e.DATABASE_POOLER,
    embeddedPostgres: { port: e.EMBEDDED_PG_PORT, dataDir: path.resolve(cwd, e.EMBEDDED_PG_DIR) },
    dbPoolSize: e.DB_POOL_SIZE,
    dbTimeouts: {
      statementMs: e.DB_STATEMENT_TIMEOUT_MS,
      queryMs: e.DB_QUERY_TIMEOUT_MS,
      acquireMs: e.DB_ACQUIRE_TIMEOUT_MS,
    },
    logLevel: e.LOG_LEVEL ?? (isProduction ? 'info' : 'debug'),
    seed: e.SEED ?? !isProduction,
    migrateOnStart: e.MIGRATE_ON_START,
    graphql: {
      introspection: e.GRAPHQL_INTROSPECTION ?? !isProduction,
      sandbox: e.GRAPHQL_SANDBOX ?? !isProduction,
      jit: e.GRAPHQL_JIT,
      limits: {
        maxTokens: e.GRAPHQL_MAX_TOKENS,
        maxDepth: e.GRAPHQL_MAX_DEPTH,
        maxAliases: e.GRAPHQL_MAX_ALIASES,
        maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
        maxRootFields: e.GRAPHQL_MAX_ROOT_FIELDS,
        maxCost: e.GRAPHQL_MAX_COST,
        deadlineMs: e.GRAPHQL_DEADLINE_MS,
        // Never the whole pool: at least one connection stays for /health and the other callers.
        maxConnectionsPerRequest: Math.min(e.GRAPHQL_MAX_CONNECTIONS_PER_REQUEST, e.DB_POOL_SIZE - 1),
        maxResponseNodes: e.GRAPHQL_MAX_RESPONSE_NODES,
      },
    },
    healthTimeoutMs: e.HEALTH_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownReadinessDelayMs:
      e.SHUTDOWN_READINESS_DELAY_MS ?? (isDevelopment ? 0 : SHUTDOWN_READINESS_DELAY_DEFAULT_MS),
    bodyLimit: e.BODY_LIMIT,
    trustProxy: e.TRUST_PROXY ?? false,
    idempotency: { keyTtlHours: e.IDEMPOTENCY_KEY_TTL_HOURS },
    amqp: { url: e.AMQP_URL, exchange: e.AMQP_EXCHANGE },
    subscriptions: {
      recheckSeconds: e.SUBSCRIPTION_RECHECK_SECONDS,
      maxPerConnection: e.SUBSCRIPTIONS_PER_CONNECTION,
      maxConnectionsPerUser: e.SUBSCRIPTION_CONNECTIONS_PER_USER,
    },
    worker: {
      prefetch: e.WORKER_PREFETCH,
      maxAttempts: e.WORKER_MAX_ATTEMPTS,
      retryDelaysMs: e.WORKER_RETRY_DELAYS_MS,
      queuePrefix: e.WORKER_QUEUE_PREFIX,
    },
    webhooks: { timeoutMs: e.WEBHOOK_TIMEOUT_MS },
    outbox: { batchSize: e.OUTBOX_BATCH_SIZE, pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS },
    metrics: { port: e.METRICS_PORT, host: e.METRICS_HOST, token: e.METRICS_TOKEN },
    auth: {
      jwtSecret: e.JWT_SECRET ? new TextEncoder().encode(e.JWT_SECRET) : new Uint8Array(randomBytes(48)),
      jwtSecretGenerated: !e.JWT_SECRET,
      tokenTtlSeconds: e.JWT_TTL_SECONDS,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      admin,
      restAuth: e.REST_AUTH,
      loginThrottle: {
        maxFailures: e.LOGIN_MAX_FAILURES,
        lockSeconds: e.LOGIN_LOCK_SECONDS,
        delaySeconds: e.LOGIN_DELAY_SECONDS,
        ipMaxFailures: e.LOGIN_IP_MAX_ATTEMPTS,
        ipWindowSeconds: e.LOGIN_IP_WINDOW_SECONDS,
      },
    },
  };
}

/** For process entry points: the configuration, or its error on stderr and exit code 78 (EX_CONFIG). */
export function loadConfigOrExit(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
