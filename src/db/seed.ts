import type { EntityManager } from '@mikro-orm/postgresql';
import type { QueryResult } from '@mikro-orm/core';
import type { Logger } from '../logging/logger';
import { Loan } from '../loans/loan.entity';
import { seedProducts } from '../products/seed-products';
import { LoanStatus } from '../loans/loan-status';
import { User } from '../users/user.entity';
import { Role } from '../users/role';

const SEED_TIME = new Date('2025-01-01T00:00:00.000Z');

/** The five documented loans of the legacy API (rest-contract.md), and their borrowers. */
export const SEED_LOANS = [
  {
    id: '00000000-0000-0000-0000-000000000001',
    borrowerId: 'usr_kenya_001',
    amount: '12500.00',
    currency: 'KES',
    status: LoanStatus.PENDING,
    termMonths: 6,
    interestRateApr: '28.00',
  },
  {
    id: '00000000-0000-0000-0000-000000000002',
    borrowerId: 'usr_india_002',
    amount: '50000.00',
    currency: 'INR',
    status: LoanStatus.APPROVED,
    termMonths: 12,
    interestRateApr: '24.00',
  },
  {
    id: '00000000-0000-0000-0000-000000000003',
    borrowerId: 'usr_nigeria_003',
    amount: '32000.00',
    currency: 'NGN',
    status: LoanStatus.REJECTED,
    termMonths: 9,
    interestRateApr: '30.00',
  },
  {
    id: '00000000-0000-0000-0000-000000000004',
    borrowerId: 'usr_vietnam_004',
    amount: '8400.00',
    currency: 'VND',
    status: LoanStatus.DISBURSED,
    termMonths: 4,
    interestRateApr: '26.00',
  },
  {
    id: '00000000-0000-0000-0000-000000000005',
    borrowerId: 'usr_philippines_005',
    amount: '21000.00',
    currency: 'PHP',
    status: LoanStatus.REPAID,
    termMonths: 6,
    interestRateApr: '22.00',
  },
] as const;

/**
 * Idempotent: inserts the seed rows that are missing and never touches existing ones
 * (a seed loan that has since moved through its lifecycle keeps its real state).
 */
export async function seedDatabase(em: EntityManager, logger: Logger): Promise<{ users: number; loans: number }> {
  return em.transactional(async (tx) => {
    const users = await tx
      .createQueryBuilder(User)
      .insert(
        SEED_LOANS.map((loan) => ({
          id: loan.borrowerId,
          role: Role.BORROWER,
          createdAt: SEED_TIME,
          updatedAt: SEED_TIME,
        })),
      )
      .onConflict('id')
      .ignore()
      .execute<QueryResult>('run');
    const loans = await tx
      .createQueryBuilder(Loan)
      .insert(
        SEED_LOANS.map((loan) => ({
          id: loan.id,
          borrower: loan.borrowerId,
          amount: loan.amount,
          currency: loan.currency,
          status: loan.status,
          termMonths: loan.termMonths,
          interestRateApr: loan.interestRateApr,
          createdAt: SEED_TIME,
          updatedAt: SEED_TIME,
          version: 1,
        })),
      )
      .onConflict('id')
      .ignore()
      .execute<QueryResult>('run');
    // Each seed loan's first audit event (the system's, so no actor), once: a re-run finds them there.
    await tx.getConnection().execute(
      `insert into loan_events (loan_id, from_status, to_status, actor_id, actor_role, at, reason)
       select l.id, null, l.status, null, null, l.created_at, 'seed data'
       from loans l
       where l.id in (${SEED_LOANS.map(() => '?').join(', ')})
         and not exists (select 1 from loan_events e where e.loan_id = l.id)
       order by l.id`,
      SEED_LOANS.map((loan) => loan.id),
      'run',
      tx.getTransactionContext(),
    );
    // Two loan products per seed currency (README "Loan products and financing options"), by code.
    const products = await seedProducts(tx);
    const inserted = { users: users.affectedRows, loans: loans.affectedRows };
    logger.info({ ...inserted, products }, 'seed data ensured');
    return inserted;
  });
}
