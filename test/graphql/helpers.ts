import type { EntityManager } from '@mikro-orm/postgresql';
import { randomBytes } from 'node:crypto';
import { Loan } from '../../src/loans/loan.entity';
import { LoanStatus } from '../../src/loans/loan-status';
import { Role } from '../../src/users/role';
import { User } from '../../src/users/user.entity';
import type { GraphQLBody } from '../support/app';

/** What `t.graphql` resolves to; annotating it breaks TypeScript's inference cycle in pagination loops. */
export interface GraphQLResult<TData> {
  status: number;
  body: GraphQLBody<TData>;
}

/** GraphQL exposes the enum keys (PENDING), the database stores the values (pending). */
export const GRAPHQL_STATUS: Record<LoanStatus, keyof typeof LoanStatus> = {
  [LoanStatus.PENDING]: 'PENDING',
  [LoanStatus.APPROVED]: 'APPROVED',
  [LoanStatus.REJECTED]: 'REJECTED',
  [LoanStatus.DISBURSED]: 'DISBURSED',
  [LoanStatus.REPAID]: 'REPAID',
  [LoanStatus.DEFAULTED]: 'DEFAULTED',
};

export interface LoanSpec {
  borrower: User;
  amount?: string;
  currency?: string;
  status?: LoanStatus;
  createdAt?: Date;
}

/** Many borrowers in one flush (MikroORM batches the INSERTs). */
export async function insertBorrowers(
  em: EntityManager,
  count: number,
  overrides: (
    index: number,
  ) => Partial<Pick<User, 'email' | 'role' | 'createdAt' | 'updatedAt' | 'firstName' | 'lastName'>> = () => ({}),
): Promise<User[]> {
  const fork = em.fork();
  const users = Array.from({ length: count }, (_, index) =>
    fork.create(User, {
      id: `usr_bulk_${randomBytes(6).toString('hex')}`,
      firstName: `Borrower ${index}`,
      lastName: 'Bulk',
      role: Role.BORROWER,
      ...overrides(index),
    }),
  );
  await fork.flush();
  return users;
}

/** Many loans in one flush; createdAt also sets updatedAt, as the shared factory does. */
export async function insertLoans(em: EntityManager, specs: LoanSpec[]): Promise<Loan[]> {
  const fork = em.fork();
  const loans = specs.map((spec) =>
    fork.create(Loan, {
      borrower: fork.getReference(User, spec.borrower.id),
      amount: spec.amount ?? '1000.00',
      currency: spec.currency ?? 'KES',
      status: spec.status ?? LoanStatus.PENDING,
      termMonths: 6,
      interestRateApr: '20.00',
      ...(spec.createdAt ? { createdAt: spec.createdAt, updatedAt: spec.createdAt } : {}),
    }),
  );
  await fork.flush();
  return loans;
}

/** The loan as the database has it now (a fresh identity map, never a cached entity). */
export function loanInDb(em: EntityManager, id: string): Promise<Loan | null> {
  return em.fork().findOne(Loan, { id });
}

export function countRows(em: EntityManager, entity: typeof Loan | typeof User): Promise<number> {
  return em.fork().count(entity, {});
}

/** Every error carries a code, and nothing that looks like a stack trace leaves the server. */
export function expectWellFormedErrors(body: GraphQLBody<unknown>): void {
  expect(body.errors?.length).toBeGreaterThan(0);
  for (const error of body.errors ?? []) {
    expect(typeof error.extensions?.code).toBe('string');
    expect(error.extensions).not.toHaveProperty('stacktrace');
    expect(error.extensions).not.toHaveProperty('exception');
  }
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/stacktrace/i);
  expect(text).not.toMatch(/\bat [\w.<>]+ \(/);
}

/** The codes of the top-level errors, in order. */
export function errorCodes(body: GraphQLBody<unknown>): unknown[] {
  return (body.errors ?? []).map((e) => e.extensions?.code);
}

/** A date `minutes` after a fixed instant: tests never depend on the wall clock for ordering. */
export function at(base: string, minutes = 0): Date {
  return new Date(Date.parse(base) + minutes * 60_000);
}

/** Default order of loans: newest first, ties broken by id (descending), as PostgreSQL compares uuids. */
export function newestFirst(a: Loan, b: Loan): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
