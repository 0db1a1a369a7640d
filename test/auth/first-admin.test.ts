import pino from 'pino';
import request from 'supertest';
import { print } from 'graphql';
import { LogInDocument, MeDocument, type LogInMutation, type MeQuery } from '../../client/generated/graphql';
import { createApp, type App } from '../../src/app';
import { StartupError } from '../../src/auth/first-admin';
import { hashPassword } from '../../src/auth/password';
import { ConfigError, DEVELOPMENT_ADMIN, loadConfig } from '../../src/config/config';
import { TEST_ADMIN, TEST_JWT_SECRET } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { adminQuery } from '../support/pg-admin';

/**
 * The first admin, made at start (ensureFirstAdmin): the documented development admin in development,
 * the ADMIN_EMAIL/ADMIN_PASSWORD one elsewhere, exactly one even when replicas start together; and the
 * starts that must be refused (no admin in production, the development password in production).
 */

const silent = pino({ level: 'silent' });

let databases: TestDatabase[] = [];
let apps: App[] = [];

afterEach(async () => {
  const started = apps;
  const created = databases;
  apps = [];
  databases = [];
  await Promise.allSettled(started.map((app) => app.close()));
  await Promise.allSettled(created.map((db) => db.drop()));
});

interface UserRow {
  id: string;
  email: string | null;
  role: string;
  password_hash: string | null;
}

/** A fresh migrated database; `adminless` removes the test admin every template database has. */
async function database(options: { adminless: boolean }): Promise<TestDatabase> {
  const db = await createTestDatabase();
  databases.push(db);
  if (options.adminless) await adminQuery(db.url, 'delete from users where id = $1', [TEST_ADMIN.id]);
  return db;
}

async function users(db: TestDatabase, where = 'true', params: unknown[] = []): Promise<UserRow[]> {
  return (await adminQuery(
    db.url,
    `select id, email, role, password_hash from users where ${where} order by created_at, id`,
    params,
  )) as UserRow[];
}

const admins = (db: TestDatabase) => users(db, `role = 'admin'`);

function env(db: TestDatabase, extra: Record<string, string> = {}): Record<string, string> {
  return {
    APP_ENV: 'development',
    LOG_LEVEL: 'silent',
    DATABASE_URL: db.url,
    DB_POOL_SIZE: '2',
    JWT_SECRET: TEST_JWT_SECRET,
    ...extra,
  };
}

/** createApp as main.ts calls it; every app that starts is closed after the test. */
async function start(vars: Record<string, string>): Promise<App> {
  const app = await createApp(loadConfig(vars), { logger: silent });
  apps.push(app);
  return app;
}

/** The error a start fails with (a start that succeeds fails the test, and its app is still closed). */
async function startError(vars: Record<string, string>): Promise<Error> {
  let app: App | undefined;
  try {
    app = await start(vars);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`the app started (APP_ENV=${app.config.appEnv}) but should not have`);
}

async function logIn(app: App, email: string, password: string): Promise<LogInMutation['logIn']> {
  const res = await request(app.httpServer)
    .post('/graphql')
    .send({ query: print(LogInDocument), variables: { input: { email, password } } });
  expect(res.status).toBe(200);
  const body = res.body as { data: LogInMutation; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data.logIn;
}

/** Logs in and uses the token: the account is an admin that the API recognises. */
async function expectAdminCanLogIn(app: App, email: string, password: string): Promise<void> {
  const session = await logIn(app, email, password);
  expect(session).toMatchObject({ token: expect.any(String), userErrors: [], user: { email, role: 'ADMIN' } });
  const me = await request(app.httpServer)
    .post('/graphql')
    .set('Authorization', `Bearer ${session.token}`)
    .send({ query: print(MeDocument) });
  expect((me.body as { data: MeQuery }).data.me).toMatchObject({ email, role: 'ADMIN' });
}

const ARGON2ID = /^\$argon2id\$/;

describe('creating the first admin', () => {
  test('development, seeding (the default), no admin: the documented development admin, once', async () => {
    const db = await database({ adminless: true });
    expect(await admins(db)).toEqual([]);

    const first = await start(env(db));
    expect(first.config.seed).toBe(true);
    const created = await admins(db);
    expect(created).toEqual([
      {
        id: expect.any(String),
        email: DEVELOPMENT_ADMIN.email,
        role: 'admin',
        password_hash: expect.stringMatching(ARGON2ID),
      },
    ]);
    expect(created[0].password_hash).not.toContain(DEVELOPMENT_ADMIN.password);
    await expectAdminCanLogIn(first, DEVELOPMENT_ADMIN.email, DEVELOPMENT_ADMIN.password);

    // A second start (a restart, or a second instance) finds the admin and adds none.
    const second = await start(env(db));
    expect(await admins(db)).toEqual(created);
    await expectAdminCanLogIn(second, DEVELOPMENT_ADMIN.email, DEVELOPMENT_ADMIN.password);
  });

  test('ADMIN_EMAIL/ADMIN_PASSWORD and no admin: that admin is created (Argon2id) and can log in', async () => {
    const db = await database({ adminless: true });
    const password = 'a long production passphrase';
    const app = await start(
      env(db, { APP_ENV: 'production', ADMIN_EMAIL: ' Ops@BranchLoans.test ', ADMIN_PASSWORD: password }),
    );
    expect(app.config.seed).toBe(false);
    const created = await admins(db);
    expect(created).toEqual([
      {
        id: expect.any(String),
        email: 'ops@branchloans.test',
        role: 'admin',
        password_hash: expect.stringMatching(ARGON2ID),
      },
    ]);
    expect(created[0].password_hash).not.toContain(password);
    await expectAdminCanLogIn(app, 'ops@branchloans.test', password);
    expect((await logIn(app, 'ops@branchloans.test', 'not the passphrase')).token).toBeNull();
  });

  test('ADMIN_EMAIL/ADMIN_PASSWORD with an admin already there: nothing is created', async () => {
    const db = await database({ adminless: false });
    const before = await users(db);
    expect(before.map((u) => [u.id, u.role])).toEqual([[TEST_ADMIN.id, 'admin']]);

    await start(
      env(db, { APP_ENV: 'production', ADMIN_EMAIL: 'ops@branchloans.test', ADMIN_PASSWORD: 'another passphrase' }),
    );
    expect(await users(db)).toEqual(before);
    expect(await users(db, 'email = $1', ['ops@branchloans.test'])).toEqual([]);
  });

  test('development with an admin already there: the development admin is not added', async () => {
    const db = await database({ adminless: false });
    await start(env(db));
    expect((await admins(db)).map((u) => u.id)).toEqual([TEST_ADMIN.id]);
  });

  test('three instances starting at once on a database with no admin: exactly one admin', async () => {
    const db = await database({ adminless: true });
    const vars = env(db, { SEED: 'false', ADMIN_EMAIL: 'ops@branchloans.test', ADMIN_PASSWORD: 'a long passphrase' });
    const results = await Promise.allSettled([start(vars), start(vars), start(vars)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(await admins(db)).toEqual([
      {
        id: expect.any(String),
        email: 'ops@branchloans.test',
        role: 'admin',
        password_hash: expect.stringMatching(ARGON2ID),
      },
    ]);
  });
});

describe('starts that are refused', () => {
  const production = (db: TestDatabase, extra: Record<string, string> = {}) =>
    env(db, { APP_ENV: 'production', ...extra });

  test('production with no admin and no ADMIN_*: StartupError naming ADMIN_EMAIL and ADMIN_PASSWORD', async () => {
    const db = await database({ adminless: true });
    const error = await startError(production(db));
    expect(error).toBeInstanceOf(StartupError);
    expect(error.message).toMatch(/ADMIN_EMAIL/);
    expect(error.message).toMatch(/ADMIN_PASSWORD/);
    expect(await users(db)).toEqual([]);
  });

  test('production with an admin on the documented development password: StartupError naming the problem', async () => {
    const db = await database({ adminless: false });
    await adminQuery(
      db.url,
      `insert into users (id, email, role, password_hash, created_at, updated_at) values ('usr_dev_pw_admin', $1, 'admin', $2, now(), now())`,
      [DEVELOPMENT_ADMIN.email, await hashPassword(DEVELOPMENT_ADMIN.password)],
    );
    const error = await startError(production(db));
    expect(error).toBeInstanceOf(StartupError);
    expect(error.message).toMatch(/documented development password/);
    expect(error.message).toContain(DEVELOPMENT_ADMIN.email);

    // Staging is held to the same rule; development is not.
    expect(await startError(env(db, { APP_ENV: 'staging' }))).toBeInstanceOf(StartupError);
    await start(env(db, { SEED: 'false' }));

    // Once the password is changed, production starts.
    await adminQuery(db.url, `update users set password_hash = $1 where id = 'usr_dev_pw_admin'`, [
      await hashPassword('a password nobody documented'),
    ]);
    const app = await start(production(db));
    expect(app.config.appEnv).toBe('production');
  });

  test('ADMIN_EMAIL of an existing borrower and no admin: StartupError naming the email, nothing changed', async () => {
    const db = await database({ adminless: true });
    await adminQuery(
      db.url,
      `insert into users (id, email, role, created_at, updated_at) values ('usr_owner_of_email', 'taken@branchloans.test', 'borrower', now(), now())`,
    );
    const before = await users(db);
    const error = await startError(
      env(db, { SEED: 'false', ADMIN_EMAIL: 'taken@branchloans.test', ADMIN_PASSWORD: 'a long passphrase' }),
    );
    expect(error).toBeInstanceOf(StartupError);
    expect(error.message).toContain('taken@branchloans.test');
    expect(await users(db)).toEqual(before);
    expect(await admins(db)).toEqual([]);
  });

  test('configuration: production with ADMIN_PASSWORD=dev-admin-password is a ConfigError naming ADMIN_PASSWORD', () => {
    let error: unknown;
    try {
      loadConfig({
        APP_ENV: 'production',
        DATABASE_URL: 'postgres://localhost/branchloans',
        JWT_SECRET: TEST_JWT_SECRET,
        ADMIN_EMAIL: 'ops@branchloans.test',
        ADMIN_PASSWORD: DEVELOPMENT_ADMIN.password,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^ADMIN_PASSWORD: /)]);
    expect((error as ConfigError).message).toMatch(/documented development password/);
  });

  test('configuration: production without JWT_SECRET is a ConfigError naming JWT_SECRET', () => {
    let error: unknown;
    try {
      loadConfig({
        APP_ENV: 'production',
        DATABASE_URL: 'postgres://localhost/branchloans',
        ADMIN_EMAIL: 'ops@branchloans.test',
        ADMIN_PASSWORD: 'a long passphrase',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^JWT_SECRET: /)]);
  });
});
