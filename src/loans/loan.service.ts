import { OptimisticLockError, type EntityManager } from '@mikro-orm/postgresql';
import { BusinessRuleError, NotFoundError, UserErrorCode, ValidationError } from '../common/errors';
import { isUuid } from '../common/ids';
import { User } from '../users/user.entity';
import { Role } from '../users/role';
import { Loan } from './loan.entity';
import { canTransition, LoanStatus } from './loan-status';
import { findLoanPage, forEachLoanBatch, type LoanListArgs } from './loan.queries';
import { validateCreateLoan, type CreateLoanCommand } from './loan.validation';
import type { Page } from '../common/cursor';

export interface CreateLoanOptions {
  /** The legacy REST flow registers a borrower on first use; GraphQL requires an existing user. */
  registerUnknownBorrower: boolean;
}

export interface TransitionOptions {
  /** Optimistic concurrency from the client: refuse if the loan has moved on since it was read. */
  expectedVersion?: number | null;
}

/** Loan rules, reads and writes. REST and GraphQL both call this; a rule lives here once. */
export class LoanService {
  constructor(private readonly em: EntityManager) {}

  /** `null` for unknown and malformed ids alike: ids leak nothing. */
  async findById(id: string): Promise<Loan | null> {
    if (!isUuid(id)) return null;
    return this.em.findOne(Loan, { id: id.toLowerCase() });
  }

  list(args: LoanListArgs): Promise<Page<Loan>> {
    return findLoanPage(this.em, args);
  }

  /** Every loan, newest first, in keyset batches of plain rows inside one snapshot (the legacy list). */
  forEachBatch(onBatch: Parameters<typeof forEachLoanBatch>[1]): Promise<number> {
    return forEachLoanBatch(this.em, onBatch);
  }

  async create(command: CreateLoanCommand, options: CreateLoanOptions): Promise<Loan> {
    const valid = validateCreateLoan(command);
    return this.em.transactional(async (em) => {
      if (options.registerUnknownBorrower) {
        // Race-safe "find or create": concurrent first applications of one new borrower both succeed.
        const now = new Date();
        await em
          .createQueryBuilder(User)
          .insert({ id: valid.borrowerId, role: Role.BORROWER, createdAt: now, updatedAt: now })
          .onConflict('id')
          .ignore()
          .execute('run');
      } else if ((await em.count(User, { id: valid.borrowerId })) === 0) {
        throw new ValidationError([
          { field: 'borrowerId', code: UserErrorCode.NOT_FOUND, message: 'no user has this id' },
        ]);
      }
      const loan = em.create(Loan, {
        borrower: em.getReference(User, valid.borrowerId),
        amount: valid.amount,
        currency: valid.currency,
        termMonths: valid.termMonths,
        interestRateApr: valid.interestRateApr,
        status: LoanStatus.PENDING,
      });
      await em.flush();
      return loan;
    });
  }

  /**
   * Moves a loan along its lifecycle. The UPDATE checks the row's version, so of two concurrent
   * transitions of one loan exactly one succeeds; the other gets STALE_VERSION (or, if it started
   * after the first committed, INVALID_TRANSITION naming the new status).
   */
  async transition(loanId: string, to: LoanStatus, options: TransitionOptions = {}): Promise<Loan> {
    try {
      return await this.em.transactional(async (em) => {
        const loan = isUuid(loanId) ? await em.findOne(Loan, { id: loanId.toLowerCase() }) : null;
        if (!loan) throw new NotFoundError('Loan', loanId, 'loanId');
        const expected = options.expectedVersion;
        if (expected !== null && expected !== undefined && loan.version !== expected) {
          throw new BusinessRuleError({
            field: 'expectedVersion',
            code: UserErrorCode.STALE_VERSION,
            message: `the loan is at version ${loan.version}, not ${expected}: read it again`,
          });
        }
        if (!canTransition(loan.status, to)) {
          throw new BusinessRuleError({
            field: null,
            code: UserErrorCode.INVALID_TRANSITION,
            message: `cannot move a loan from ${loan.status.toUpperCase()} to ${to.toUpperCase()}; its status is ${loan.status.toUpperCase()}`,
          });
        }
        loan.status = to;
        await em.flush();
        return loan;
      });
    } catch (error) {
      if (error instanceof OptimisticLockError) {
        const current = await this.em.fork().findOne(Loan, { id: loanId.toLowerCase() });
        throw new BusinessRuleError({
          field: null,
          code: UserErrorCode.STALE_VERSION,
          message: `the loan was changed by another request; its status is now ${current?.status.toUpperCase() ?? 'unknown'}`,
        });
      }
      throw error;
    }
  }
}
