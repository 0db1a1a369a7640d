import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config/config';

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
    const config = loadConfig({ APP_ENV: 'production', DATABASE_URL: 'postgres://u:p@db:5432/app' });
    expect(config).toMatchObject({ seed: false, logLevel: 'info', graphql: { introspection: false, sandbox: false } });
  });

  test('introspection and Sandbox are switchable', () => {
    const config = loadConfig({
      APP_ENV: 'production',
      DATABASE_URL: 'postgres://db/app',
      GRAPHQL_INTROSPECTION: 'true',
      GRAPHQL_SANDBOX: 'on',
    });
    expect(config.graphql).toEqual({ introspection: true, sandbox: true });
    expect(loadConfig({ GRAPHQL_SANDBOX: 'false', SEED: '0' })).toMatchObject({
      graphql: { sandbox: false },
      seed: false,
    });
  });

  test('production requires DATABASE_URL', () => {
    expect(problemsOf({ APP_ENV: 'production' })).toEqual([expect.stringMatching(/^DATABASE_URL: is required/)]);
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
  ])('%s=%s stops the start with a message naming the variable', (name, value, pattern) => {
    expect(problemsOf({ [name]: value })).toEqual([expect.stringMatching(pattern)]);
  });

  test('edges that are allowed', () => {
    expect(loadConfig({ PORT: '1', DB_POOL_SIZE: '2' })).toMatchObject({ port: 1, dbPoolSize: 2 });
    expect(loadConfig({ PORT: '65535', DB_POOL_SIZE: '100' })).toMatchObject({ port: 65535, dbPoolSize: 100 });
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
