import { randomBytes } from 'node:crypto';
import { adminQuery, withDatabase } from './pg-admin';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function admin(): { url: string; template: string } {
  const url = process.env.TEST_PG_ADMIN_URL;
  const template = process.env.TEST_PG_TEMPLATE;
  if (!url || !template) throw new Error('test database not prepared: run the tests through jest (globalSetup)');
  return { url, template };
}

/** A fresh, migrated database cloned from the template: each test file gets its own clean state. */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const { url, template } = admin();
  const name = `branchloans_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(url, options.empty ? `create database ${name}` : `create database ${name} template ${template}`);
  return {
    name,
    url: withDatabase(url, name),
    drop: () => adminQuery(url, `drop database if exists ${name} with (force)`).then(() => undefined),
  };
}

export function adminUrl(): string {
  return admin().url;
}
