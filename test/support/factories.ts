import type { EntityManager } from '@mikro-orm/postgresql';
import { randomBytes } from 'node:crypto';
import { Loan } from '../../src/loans/loan.entity';
import { LoanStatus } from '../../src/loans/loan-status';
import { User } from '../../src/users/user.entity';
import { Role } from '../../src/users/role';

/** Small factories: each test states what matters and leaves the rest to defaults. */
export async function createBorrower(
  em: EntityManager,
  overrides: Partial<Pick<User, 'id' | 'firstName' | 'lastName' | 'email' | 'role' | 'createdAt'>> = {},
): Promise<User> {
  const fork = em.fork();
  const user = fork.create(User, {
    id: `usr_test_${randomBytes(5).toString('hex')}`,
    firstName: 'Amina',
    lastName: 'Otieno',
    role: Role.BORROWER,
    ...overrides,
  });
  await fork.flush();
  return user;
}

export async function createLoan(
  em: EntityManager,
  overrides: Partial<{
    borrower: User;
    amount: string;
    currency: string;
    status: LoanStatus;
    termMonths: number | null;
    interestRateApr: string | null;
    createdAt: Date;
  }> = {},
): Promise<Loan> {
  const fork = em.fork();
  const borrower = overrides.borrower ?? (await createBorrower(fork));
  const loan = fork.create(Loan, {
    borrower: fork.getReference(User, borrower.id),
    amount: '1000.00',
    currency: 'KES',
    status: LoanStatus.PENDING,
    termMonths: 6,
    interestRateApr: '20.00',
    ...overrides,
    ...(overrides.createdAt ? { updatedAt: overrides.createdAt } : {}),
  } as never);
  await fork.flush();
  return loan;
}

/** Counts the SQL statements the app sends while `work` runs. */
export async function countQueries<T>(
  em: EntityManager,
  work: () => Promise<T>,
): Promise<{ result: T; queries: string[] }> {
  const knex = em.getKnex();
  const queries: string[] = [];
  const listener = (data: { sql: string }) => queries.push(data.sql);
  knex.on('query', listener);
  try {
    const result = await work();
    return { result, queries };
  } finally {
    knex.removeListener('query', listener);
  }
}

let emailSequence = 0;
/** A unique email per call, for tests that share one database. */
export const uniqueEmail = (name = 'user') => `${name}.${Date.now()}.${++emailSequence}@example.com`;
