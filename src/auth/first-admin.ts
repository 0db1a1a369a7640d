import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/config';
import { DEVELOPMENT_ADMIN } from '../config/config';
import { newUserId } from '../common/ids';
import type { Logger } from '../logging/logger';
import { User } from '../users/user.entity';
import { Role } from '../users/role';
import { hashPassword, verifyPassword } from './password';

/** Serialises first-admin creation across instances starting at once (as the migration lock does). */
const FIRST_ADMIN_LOCK_KEY = 727_002;

/** A problem that must stop the start, with a message naming it (main.ts prints it and exits). */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/**
 * Makes sure the API can be administered:
 * - when no admin exists and ADMIN_EMAIL/ADMIN_PASSWORD are set (development: the documented
 *   development admin, when seeding), creates that admin;
 * - outside development, refuses to start with no admin at all, or with an admin whose password is still
 *   the documented development password.
 * Runs under an advisory lock, so replicas starting together create one admin.
 */
export async function ensureFirstAdmin(em: EntityManager, config: AppConfig, logger: Logger): Promise<void> {
  const wanted = config.auth.admin;
  await em.transactional(async (tx) => {
    await tx
      .getConnection()
      .execute('select pg_advisory_xact_lock(?)', [FIRST_ADMIN_LOCK_KEY], 'all', tx.getTransactionContext());
    const admins = await tx.find(
      User,
      { role: Role.ADMIN },
      { populate: ['passwordHash'], orderBy: { createdAt: 'asc' } },
    );
    if (admins.length === 0) {
      if (!wanted) {
        throw new StartupError(
          `no admin account exists: set ADMIN_EMAIL and ADMIN_PASSWORD to create the first one (APP_ENV=${config.appEnv})`,
        );
      }
      const holder = await tx.findOne(User, { email: wanted.email });
      if (holder) {
        throw new StartupError(
          `ADMIN_EMAIL ${wanted.email} belongs to an existing ${holder.role} account (${holder.id}); choose another email for the first admin`,
        );
      }
      tx.create(User, {
        id: newUserId(),
        email: wanted.email,
        firstName: 'Admin',
        role: Role.ADMIN,
        passwordHash: await hashPassword(wanted.password),
      });
      await tx.flush();
      logger.info({ email: wanted.email }, 'first admin created');
      return;
    }
    if (config.appEnv === 'development') return;
    for (const admin of admins) {
      if (admin.passwordHash && (await verifyPassword(admin.passwordHash, DEVELOPMENT_ADMIN.password))) {
        throw new StartupError(
          `admin ${admin.email ?? admin.id} still uses the documented development password; change it before starting with APP_ENV=${config.appEnv}`,
        );
      }
    }
  });
}
