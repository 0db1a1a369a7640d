import type { MigrationObject } from '@mikro-orm/core';
import { Migration20250101000000Initial } from './Migration20250101000000Initial';
import { Migration20261121120000IdentityAudit } from './Migration20261121120000IdentityAudit';
import { Migration20261203120000LoanStatsRollup } from './Migration20261203120000LoanStatsRollup';
import { Migration20261203130000IdempotencyKeys } from './Migration20261203130000IdempotencyKeys';
import { Migration20261203140000TokenVersionsAndLoginThrottle } from './Migration20261203140000TokenVersionsAndLoginThrottle';
import { Migration20261203150000ApiKeys } from './Migration20261203150000ApiKeys';
import { Migration20261203160000LoanProducts } from './Migration20261203160000LoanProducts';
import { Migration20261203170000RepaymentSchedules } from './Migration20261203170000RepaymentSchedules';
import { Migration20261203180000PortfolioRollup } from './Migration20261203180000PortfolioRollup';
import { Migration20261203190000OutboxEvents } from './Migration20261203190000OutboxEvents';
import { Migration20261203191000NotificationsAndWebhooks } from './Migration20261203191000NotificationsAndWebhooks';
import { Migration20261203200000LoanProductTerms } from './Migration20261203200000LoanProductTerms';

/**
 * Every migration, in order. Listed explicitly so that compiled and TypeScript runs see the same
 * set; `test/migrations.test.ts` fails when a file in this folder is missing from the list.
 */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20250101000000Initial', class: Migration20250101000000Initial },
  { name: 'Migration20261121120000IdentityAudit', class: Migration20261121120000IdentityAudit },
  { name: 'Migration20261203120000LoanStatsRollup', class: Migration20261203120000LoanStatsRollup },
  { name: 'Migration20261203130000IdempotencyKeys', class: Migration20261203130000IdempotencyKeys },
  {
    name: 'Migration20261203140000TokenVersionsAndLoginThrottle',
    class: Migration20261203140000TokenVersionsAndLoginThrottle,
  },
  { name: 'Migration20261203150000ApiKeys', class: Migration20261203150000ApiKeys },
  { name: 'Migration20261203160000LoanProducts', class: Migration20261203160000LoanProducts },
  { name: 'Migration20261203170000RepaymentSchedules', class: Migration20261203170000RepaymentSchedules },
  { name: 'Migration20261203180000PortfolioRollup', class: Migration20261203180000PortfolioRollup },
  { name: 'Migration20261203190000OutboxEvents', class: Migration20261203190000OutboxEvents },
  { name: 'Migration20261203191000NotificationsAndWebhooks', class: Migration20261203191000NotificationsAndWebhooks },
  { name: 'Migration20261203200000LoanProductTerms', class: Migration20261203200000LoanProductTerms },
];
