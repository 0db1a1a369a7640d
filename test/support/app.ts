import type { AddressInfo } from 'node:net';
import request from 'supertest';
import pino from 'pino';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createApp, type App } from '../../src/app';
import type { Clock } from '../../src/common/clock';
import { loadConfig } from '../../src/config/config';
import { Role } from '../../src/users/role';
import { TEST_ADMIN, TEST_JWT_SECRET, tokenFor } from './auth';
import { createTestDatabase, type TestDatabase } from './database';

export interface TestApp {
  app: App;
  db: TestDatabase;
  http: ReturnType<typeof request>;
  /**
   * POST /graphql as the test admin (every test database has one); resolves to the parsed body and the
   * HTTP status. Pass `{ Authorization: '' }` for an anonymous call, or another bearer token.
   */
  graphql<TData = Record<string, unknown>, TVariables = Record<string, unknown>>(
    query: string | TypedDocumentNode<TData, TVariables>,
    variables?: TVariables,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: GraphQLBody<TData> }>;
  close(): Promise<void>;
}

export interface GraphQLBody<TData> {
  data?: TData | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [key: string]: unknown } }[];
  extensions?: Record<string, unknown>;
}

/**
 * The real application (real HTTP stack, real PostgreSQL) on a fresh database. `options.clock` replaces the
 * system clock of the business rules (schedules, repayments, arrears; see `test/support/clock.ts`).
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: { clock?: Clock } = {},
): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = loadConfig({
    APP_ENV: 'development',
    LOG_LEVEL: 'silent',
    SEED: 'false',
    DATABASE_URL: db.url,
    DB_POOL_SIZE: '5',
    JWT_SECRET: TEST_JWT_SECRET,
    // Every test's callers share one address (127.0.0.1) and fail log-ins on purpose: no growing delay
    // (timing never decides a test) and no per-address limit to couple them. test/auth/throttle.test.ts
    // sets its own values; LOGIN_MAX_FAILURES keeps its default.
    LOGIN_DELAY_SECONDS: '0',
    LOGIN_IP_MAX_ATTEMPTS: '1000000',
    ...env,
  });
  let app: App;
  try {
    app = await createApp(config, { logger: pino({ level: env.LOG_LEVEL ?? 'silent' }), clock: options.clock });
  } catch (error) {
    await db.drop();
    throw error;
  }
  const http = request(app.httpServer);
  const adminToken = await tokenFor(TEST_ADMIN.id, Role.ADMIN);
  return {
    app,
    db,
    http,
    graphql: async (query, variables, headers = {}) => {
      const text = typeof query === 'string' ? query : print(query);
      const res = await http
        .post('/graphql')
        .set({ 'Content-Type': 'application/json', Authorization: `Bearer ${adminToken}`, ...headers })
        .send({ query: text, variables });
      return { status: res.status, body: res.body };
    },
    close: async () => {
      await app.close();
      await db.drop();
    },
  };
}

/** Listens on a free port, for tests that need a real socket (concurrency, fetch). */
export async function listen(app: App): Promise<string> {
  const address: AddressInfo = await app.listen(0);
  return `http://127.0.0.1:${address.port}`;
}

/** Every GraphQL answer carries its computed cost (README "Limits"); for tests that compare whole bodies. */
export const ANY_COST_EXTENSION = {
  cost: { requestedQueryCost: expect.any(Number), maximumQueryCost: expect.any(Number) },
};
