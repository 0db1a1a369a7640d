import type { QueryResult } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { FeeKind, InterestMethod, RepaymentFrequency } from './loan-product.enums';
import { LoanProduct } from './loan-product.entity';
import type { LoanProductView } from './loan-product.view';

const SEED_TIME = new Date('2025-01-01T00:00:00.000Z');

/** What the seed writes: a product view's business fields (timestamps, version and `active` are set below). */
type SeedProduct = Omit<LoanProductView, 'active' | 'createdAt' | 'updatedAt' | 'version'>;

const { DECLINING_BALANCE, FLAT } = InterestMethod;
const { MONTHLY, BIWEEKLY, WEEKLY } = RepaymentFrequency;

/** Two products per seed currency (KES, INR, NGN, VND, PHP), with documented ids (README). */
export const SEED_PRODUCTS: SeedProduct[] = [
  product(
    'prd_seed_kes_starter',
    'KES-STARTER',
    'Starter loan',
    'KES',
    ['5000.00', '50000.00'],
    [1, 12],
    '24.00',
    DECLINING_BALANCE,
    MONTHLY,
    [FeeKind.PERCENT, '2.50'],
  ),
  product(
    'prd_seed_kes_biashara',
    'KES-BIASHARA-WEEKLY',
    'Biashara weekly',
    'KES',
    ['1000.00', '20000.00'],
    [1, 6],
    '30.00',
    FLAT,
    WEEKLY,
    [FeeKind.FIXED, '200.00'],
  ),
  product(
    'prd_seed_inr_samriddhi',
    'INR-SAMRIDDHI',
    'Samriddhi business loan',
    'INR',
    ['10000.00', '50000.00'],
    [6, 24],
    '24.00',
    DECLINING_BALANCE,
    MONTHLY,
    [FeeKind.PERCENT, '1.00'],
  ),
  product(
    'prd_seed_inr_flat',
    'INR-FLAT-12',
    'Flat-rate twelve months',
    'INR',
    ['5000.00', '50000.00'],
    [12, 12],
    '24.00',
    FLAT,
    MONTHLY,
    null,
  ),
  product(
    'prd_seed_ngn_trader',
    'NGN-TRADER',
    'Market trader loan',
    'NGN',
    ['10000.00', '50000.00'],
    [3, 12],
    '30.00',
    DECLINING_BALANCE,
    MONTHLY,
    [FeeKind.FIXED, '1000.00'],
  ),
  product(
    'prd_seed_ngn_biweekly',
    'NGN-BIWEEKLY',
    'Fortnightly working capital',
    'NGN',
    ['5000.00', '40000.00'],
    [1, 9],
    '32.00',
    DECLINING_BALANCE,
    BIWEEKLY,
    null,
  ),
  product(
    'prd_seed_vnd_micro',
    'VND-MICRO',
    'Micro loan',
    'VND',
    ['1000.00', '50000.00'],
    [1, 12],
    '26.00',
    DECLINING_BALANCE,
    MONTHLY,
    null,
  ),
  product(
    'prd_seed_vnd_flat',
    'VND-FLAT',
    'Flat-rate household loan',
    'VND',
    ['2000.00', '50000.00'],
    [3, 6],
    '28.00',
    FLAT,
    MONTHLY,
    [FeeKind.PERCENT, '1.00'],
  ),
  product(
    'prd_seed_php_sari',
    'PHP-SARI-SARI',
    'Sari-sari store loan',
    'PHP',
    ['5000.00', '50000.00'],
    [3, 12],
    '22.00',
    DECLINING_BALANCE,
    MONTHLY,
    [FeeKind.PERCENT, '2.00'],
  ),
  product(
    'prd_seed_php_weekly',
    'PHP-WEEKLY',
    'Weekly vendor loan',
    'PHP',
    ['2000.00', '20000.00'],
    [1, 6],
    '26.00',
    FLAT,
    WEEKLY,
    null,
  ),
];

function product(
  id: string,
  code: string,
  name: string,
  currency: string,
  [minPrincipal, maxPrincipal]: [string, string],
  [minTermMonths, maxTermMonths]: [number, number],
  interestRateApr: string,
  interestMethod: InterestMethod,
  repaymentFrequency: RepaymentFrequency,
  fee: [FeeKind, string] | null,
): SeedProduct {
  return {
    id,
    code,
    name,
    description: `${name} in ${currency}, ${minTermMonths}-${maxTermMonths} months.`,
    currency,
    minPrincipal,
    maxPrincipal,
    minTermMonths,
    maxTermMonths,
    interestRateApr,
    interestMethod,
    repaymentFrequency,
    feeKind: fee?.[0] ?? null,
    feeValue: fee?.[1] ?? null,
  };
}

/** Idempotent: inserts the seed products that are missing (by code), never touching existing ones. */
export async function seedProducts(em: EntityManager): Promise<number> {
  const result = await em
    .createQueryBuilder(LoanProduct)
    .insert(SEED_PRODUCTS.map((p) => ({ ...p, active: true, createdAt: SEED_TIME, updatedAt: SEED_TIME, version: 1 })))
    .onConflict('code')
    .ignore()
    .execute<QueryResult>('run');
  return result.affectedRows;
}
