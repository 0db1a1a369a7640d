import path from 'node:path';
import { ConfigError, DEVELOPMENT_ADMIN, loadConfig } from '../src/config/config';

/** What production needs besides defaults: a database and a signing key. */
const PRODUCTION = {
  APP_ENV: 'production',
  DATABASE_URL: 'postgres://u:p@db:5432/app',
  JWT_SECRET: 'x'.repeat(32),
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  test('defaults for development', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config).toMatchObject({
      appEnv: 'development',
      port: 8000,
      databaseUrl: undefined,
      dbPoolSize: 10,
      seed: true,
      migrateOnStart: true,
      logLevel: 'debug',
      graphql: { introspection: true, sandbox: true },
      embeddedPostgres: { port: 54329, dataDir: path.resolve('/srv/app', '.data/postgres') },
    });
  });

  test('production defaults: no seed, no introspection, no Sandbox, info logs', () => {
    const config = loadConfig(PRODUCTION);
    expect(config).toMatchObject({ seed: false, logLevel: 'info', graphql: { introspection: false, sandbox: false } });
  });

  test('introspection and Sandbox are switchable', () => {
    const config = loadConfig({
      ...PRODUCTION,
      GRAPHQL_INTROSPECTION: 'true',
      GRAPHQL_SANDBOX: 'on',
    });
    expect(config.graphql).toMatchObject({ introspection: true, sandbox: true });
    expect(loadConfig({ GRAPHQL_SANDBOX: 'false', SEED: '0' })).toMatchObject({
      graphql: { sandbox: false },
      seed: false,
    });
  });

  test('production requires DATABASE_URL', () => {
    expect(problemsOf({ ...PRODUCTION, DATABASE_URL: '' })).toEqual([
      expect.stringMatching(/^DATABASE_URL: is required/),
    ]);
  });

  describe('identity settings', () => {
    test.each(['production', 'staging'])('APP_ENV=%s without JWT_SECRET stops the start, naming it', (appEnv) => {
      expect(problemsOf({ ...PRODUCTION, APP_ENV: appEnv, JWT_SECRET: '' })).toEqual([
        expect.stringMatching(new RegExp(`^JWT_SECRET: is required when APP_ENV=${appEnv}`)),
      ]);
    });

    test('a JWT_SECRET shorter than 32 bytes is refused in every environment', () => {
      expect(problemsOf({ JWT_SECRET: 'x'.repeat(31) })).toEqual([
        expect.stringMatching(/^JWT_SECRET: must be at least 32 bytes/),
      ]);
      // Bytes, not characters: 16 two-byte characters are 32 bytes.
      expect(loadConfig({ JWT_SECRET: 'é'.repeat(16) }).auth.jwtSecret).toHaveLength(32);
    });

    test('development without JWT_SECRET generates a random key, and says so', () => {
      const a = loadConfig({}).auth;
      const b = loadConfig({}).auth;
      expect(a.jwtSecretGenerated).toBe(true);
      expect(a.jwtSecret.length).toBeGreaterThanOrEqual(32);
      expect(Buffer.from(a.jwtSecret).equals(Buffer.from(b.jwtSecret))).toBe(false);
      expect(loadConfig({ JWT_SECRET: 'y'.repeat(40) }).auth).toMatchObject({ jwtSecretGenerated: false });
    });

    test('token defaults: one hour, fixed issuer and audience; TTL bounded', () => {
      expect(loadConfig({}).auth).toMatchObject({
        tokenTtlSeconds: 3600,
        issuer: 'branchloans-gateway',
        audience: 'branchloans-api',
        restAuth: 'open',
      });
      expect(loadConfig({ JWT_TTL_SECONDS: '900' }).auth.tokenTtlSeconds).toBe(900);
      expect(problemsOf({ JWT_TTL_SECONDS: '10' })).toEqual([expect.stringMatching(/^JWT_TTL_SECONDS: /)]);
      expect(problemsOf({ REST_AUTH: 'sometimes' })).toEqual([expect.stringMatching(/^REST_AUTH: /)]);
    });

    test('the first admin: documented in development (when seeding), from ADMIN_* elsewhere, never the default password', () => {
      expect(loadConfig({}).auth.admin).toEqual(DEVELOPMENT_ADMIN);
      expect(loadConfig({ SEED: 'false' }).auth.admin).toBeUndefined();
      expect(loadConfig(PRODUCTION).auth.admin).toBeUndefined();
      expect(
        loadConfig({ ...PRODUCTION, ADMIN_EMAIL: ' Ops@BranchLoans.com ', ADMIN_PASSWORD: 'a long passphrase' }).auth
          .admin,
      ).toEqual({ email: 'ops@branchloans.com', password: 'a long passphrase' });
      expect(
        problemsOf({ ...PRODUCTION, ADMIN_EMAIL: 'ops@branchloans.com', ADMIN_PASSWORD: DEVELOPMENT_ADMIN.password }),
      ).toEqual([expect.stringMatching(/^ADMIN_PASSWORD: is the documented development password/)]);
      expect(
        problemsOf({
          ...PRODUCTION,
          JWT_SECRET: 'CHANGE-ME-prod-jwt-secret-openssl-rand-base64-48',
          ADMIN_EMAIL: 'ops@branchloans.com',
          ADMIN_PASSWORD: 'CHANGE-ME-prod-admin-password',
        }),
      ).toEqual([
        expect.stringMatching(/^JWT_SECRET: is the placeholder from the example env file/),
        expect.stringMatching(/^ADMIN_PASSWORD: is the placeholder from the example env file/),
      ]);
      expect(problemsOf({ ADMIN_EMAIL: 'ops@branchloans.com' })).toEqual([
        expect.stringMatching(/^ADMIN_EMAIL, ADMIN_PASSWORD: set both/),
      ]);
      expect(problemsOf({ ADMIN_EMAIL: 'ops@branchloans.com', ADMIN_PASSWORD: 'short' })).toEqual([
        expect.stringMatching(/^ADMIN_PASSWORD: must be at least 8 characters/),
      ]);
      expect(problemsOf({ ADMIN_EMAIL: 'not-an-email', ADMIN_PASSWORD: 'long enough' })).toEqual([
        expect.stringMatching(/^ADMIN_EMAIL: is not an email address/),
      ]);
    });
  });

  test.each([
    ['PORT', 'abc', /^PORT: /],
    ['PORT', '0', /^PORT: /],
    ['PORT', '65536', /^PORT: /],
    ['APP_ENV', 'prod', /^APP_ENV: /],
    ['LOG_LEVEL', 'loud', /^LOG_LEVEL: /],
    ['DB_POOL_SIZE', '1', /^DB_POOL_SIZE: /],
    ['DB_POOL_SIZE', '101', /^DB_POOL_SIZE: /],
    ['SEED', 'maybe', /^SEED: /],
    ['DATABASE_URL', 'mysql://localhost/db', /^DATABASE_URL: /],
    ['DATABASE_URL', 'not a url', /^DATABASE_URL: /],
    ['EMBEDDED_PG_PORT', '40000', /^EMBEDDED_PG_PORT: /],
    ['BODY_LIMIT', 'lots', /^BODY_LIMIT: /],
    ['GRAPHQL_MAX_TOKENS', '99', /^GRAPHQL_MAX_TOKENS: /],
    ['GRAPHQL_MAX_DEPTH', '1', /^GRAPHQL_MAX_DEPTH: /],
    ['GRAPHQL_MAX_ALIASES', '-1', /^GRAPHQL_MAX_ALIASES: /],
    ['GRAPHQL_MAX_DIRECTIVES', '1001', /^GRAPHQL_MAX_DIRECTIVES: /],
    ['GRAPHQL_MAX_ROOT_FIELDS', '0', /^GRAPHQL_MAX_ROOT_FIELDS: /],
    ['GRAPHQL_MAX_COST', '0', /^GRAPHQL_MAX_COST: /],
    ['GRAPHQL_DEADLINE_MS', '9', /^GRAPHQL_DEADLINE_MS: /],
    ['GRAPHQL_DEADLINE_MS', '5s', /^GRAPHQL_DEADLINE_MS: /],
    ['GRAPHQL_MAX_CONNECTIONS_PER_REQUEST', '0', /^GRAPHQL_MAX_CONNECTIONS_PER_REQUEST: /],
    ['GRAPHQL_MAX_RESPONSE_NODES', '9', /^GRAPHQL_MAX_RESPONSE_NODES: /],
  ])('%s=%s stops the start with a message naming the variable', (name, value, pattern) => {
    expect(problemsOf({ [name]: value })).toEqual([expect.stringMatching(pattern)]);
  });

  test('edges that are allowed', () => {
    expect(loadConfig({ PORT: '1', DB_POOL_SIZE: '2' })).toMatchObject({ port: 1, dbPoolSize: 2 });
    expect(loadConfig({ PORT: '65535', DB_POOL_SIZE: '100' })).toMatchObject({ port: 65535, dbPoolSize: 100 });
  });

  test('GraphQL limits: documented defaults, each set by its variable', () => {
    expect(loadConfig({}).graphql.limits).toEqual({
      maxTokens: 3000,
      maxDepth: 15,
      maxAliases: 30,
      maxDirectives: 50,
      maxRootFields: 20,
      maxCost: 25000,
      deadlineMs: 5000,
      maxConnectionsPerRequest: 2,
      maxResponseNodes: 50000,
    });
    expect(
      loadConfig({
        GRAPHQL_MAX_TOKENS: '100',
        GRAPHQL_MAX_DEPTH: '2',
        GRAPHQL_MAX_ALIASES: '0',
        GRAPHQL_MAX_DIRECTIVES: '0',
        GRAPHQL_MAX_ROOT_FIELDS: '1',
        GRAPHQL_MAX_COST: '1',
        GRAPHQL_DEADLINE_MS: '10',
        GRAPHQL_MAX_CONNECTIONS_PER_REQUEST: '1',
        GRAPHQL_MAX_RESPONSE_NODES: '10',
      }).graphql.limits,
    ).toEqual({
      maxTokens: 100,
      maxDepth: 2,
      maxAliases: 0,
      maxDirectives: 0,
      maxRootFields: 1,
      maxCost: 1,
      deadlineMs: 10,
      maxConnectionsPerRequest: 1,
      maxResponseNodes: 10,
    });
  });

  test('one request never holds the whole pool: its share is at most DB_POOL_SIZE - 1', () => {
    expect(loadConfig({ DB_POOL_SIZE: '2' }).graphql.limits.maxConnectionsPerRequest).toBe(1);
    expect(
      loadConfig({ DB_POOL_SIZE: '4', GRAPHQL_MAX_CONNECTIONS_PER_REQUEST: '4' }).graphql.limits
        .maxConnectionsPerRequest,
    ).toBe(3);
    expect(
      loadConfig({ DB_POOL_SIZE: '20', GRAPHQL_MAX_CONNECTIONS_PER_REQUEST: '4' }).graphql.limits
        .maxConnectionsPerRequest,
    ).toBe(4);
  });

  test('every problem is reported at once, and the message lists them', () => {
    const error = (() => {
      try {
        loadConfig({ PORT: 'x', SEED: 'maybe' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error?.problems).toHaveLength(2);
    expect(error?.message).toMatch(/PORT: .*\n.*SEED: /s);
  });

  test('an empty value means unset (docker-compose passes empty variables)', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' })).toMatchObject({ databaseUrl: undefined, port: 8000 });
  });

  test('TRUST_PROXY: off by default; a list of addresses, CIDRs or express names; a bad item is named', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'off' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: ' 10.0.0.1, 172.30.0.0/24 ,loopback' }).trustProxy).toBe(
      '10.0.0.1,172.30.0.0/24,loopback',
    );
    expect(loadConfig({ TRUST_PROXY: '::1,fd00::/8' }).trustProxy).toBe('::1,fd00::/8');
    expect(problemsOf({ TRUST_PROXY: '10.0.0.1,nginx' })).toEqual([
      expect.stringMatching(/^TRUST_PROXY: "nginx" is not an IP/),
    ]);
    expect(problemsOf({ TRUST_PROXY: '10.0.0.0/33' })).toEqual([expect.stringMatching(/^TRUST_PROXY: "10.0.0.0\/33"/)]);
  });
});
