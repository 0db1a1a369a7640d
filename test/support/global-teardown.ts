import fs from 'node:fs';
import { adminQuery } from './pg-admin';

export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  const template = process.env.TEST_PG_TEMPLATE;
  if (adminUrl && template) await adminQuery(adminUrl, `drop database if exists ${template}`).catch(() => undefined);
  const embedded = (globalThis as { __embeddedPg?: { stop(): Promise<void> } }).__embeddedPg;
  if (embedded) await embedded.stop();
  const dataDir = process.env.TEST_EMBEDDED_PG_DATA;
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}
