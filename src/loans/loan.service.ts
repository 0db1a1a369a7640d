import { OptimisticLockError, type EntityManager } from '@mikro-orm/postgresql';
import { recordActivity } from '../activity/activity.recorder';
import { ActivityKind } from '../activity/activity-event.entity';
import { actorId, actorRole, borrowerScope, requireAdmin, type Viewer } from '../auth/viewer';
import { BusinessRuleError, ForbiddenError, NotFoundError, UserErrorCode, ValidationError } from '../common/errors';
import { isUuid } from '../common/ids';
import { User } from '../users/user.entity';
import { applyProduct } from '../products/loan-application';
import { LoanProduct } from '../products/loan-product.entity';
import { isProductId } from '../products/loan-product.queries';
import { Role } from '../users/role';
import { Loan } from './loan.entity';
import { LoanEvent } from './loan-event.entity';
import { canTransition, LoanStatus } from './loan-status';
import { findLoanPage, findLoanView, forEachLoanBatch, type LoanListArgs } from './loan.queries';
import type { LoanView } from './loan.view';
import { validateCreateLoan, validateReason, type CreateLoanCommand } from './loan.validation';
import type { Page } from '../common/cursor';
import { systemClock, utcToday, type Clock } from '../common/clock';
import { storeSchedule } from '../repayments/schedule-store';
import { recordLoanApplied, recordLoanStatusChanged } from '../events/outbox';

export interface CreateLoanOptions {
  /** The legacy REST flow registers a borrower on first use; GraphQL requires an existing user. */
  registerUnknownBorrower: boolean;
}

export interface TransitionOptions {
  /** Optimistic concurrency from the client: refuse if the loan has moved on since it was read. */
  expectedVersion?: number | null;
  /** Why, for the audit trail (at most 500 characters). */
  reason?: unknown;
}

/**
 * Loan rules, reads and writes. REST and GraphQL both call this; a rule lives here once, and so does
 * who may do what: a borrower sees and applies for their own loans only; lifecycle actions are for admins.
 */
export class LoanService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
    /** Dates the schedule written at disbursement (it starts on the clock's UTC date). */
    private readonly clock: Clock = systemClock,
  ) {}

  /** `null` for unknown, malformed and not-yours ids alike: ids leak nothing. */
  async findById(id: string): Promise<LoanView | null> {
    if (!isUuid(id)) return null;
    return findLoanView(this.em, id.toLowerCase(), borrowerScope(this.viewer));
  }

  list(args: LoanListArgs): Promise<Page<LoanView>> {
    const scope = borrowerScope(this.viewer);
    return findLoanPage(this.em, scope === null ? args : { ...args, filter: { ...args.filter, ownedBy: scope } });
  }

  /** Every visible loan, newest first, in keyset batches of plain rows inside one snapshot (the legacy list). */
  forEachBatch(onBatch: Parameters<typeof forEachLoanBatch>[1]): Promise<number> {
    const scope = borrowerScope(this.viewer);
    return forEachLoanBatch(this.em, onBatch, scope === null ? {} : { scope: { borrowerId: scope } });
  }

  /**
   * A loan application. A borrower applies for themselves (`borrowerId` may be omitted, and naming anyone
   * else is FORBIDDEN); an admin names the borrower. Creation is the loan's first audit event and counts as
   * an application in the activity analytics, all in one transaction.
   */
  async create(command: CreateLoanCommand, options: CreateLoanOptions): Promise<Loan> {
    const scope = borrowerScope(this.viewer);
    if (scope !== null) {
      const asked = command.borrowerId;
      if (asked === undefined || asked === null) command = { ...command, borrowerId: scope };
      else if (typeof asked !== 'string' || asked.trim() !== scope) {
        throw new ForbiddenError('a borrower may only apply for a loan for themselves', 'borrowerId');
      }
    }
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
      const product = await this.productOf(em, command.productId);
      const loan = em.create(Loan, {
        borrower: em.getReference(User, valid.borrowerId),
        amount: valid.amount,
        currency: valid.currency,
        termMonths: valid.termMonths,
        interestRateApr: valid.interestRateApr,
        ...(product ? { product, ...applyProduct(product, valid) } : {}),
        status: LoanStatus.PENDING,
      });
      em.create(LoanEvent, {
        loan,
        fromStatus: null,
        toStatus: LoanStatus.PENDING,
        actor: this.actorReference(em),
        actorRole: actorRole(this.viewer),
        at: loan.createdAt,
      });
      recordActivity(em, valid.borrowerId, ActivityKind.LOAN_APPLICATION, loan.createdAt);
      // Its domain event, written by this flush (nobody else sees the loan before the commit: order is safe).
      recordLoanApplied(em, loan);
      await em.flush();
      return loan;
    });
  }

  /** The active product an application names (GraphQL `productId`), or null when it names none. */
  private async productOf(em: EntityManager, productId: unknown): Promise<LoanProduct | null> {
    if (productId === undefined || productId === null) return null;
    const product =
      typeof productId === 'string' && isProductId(productId)
        ? await em.findOne(LoanProduct, { id: productId, active: true })
        : null;
    if (!product) {
      throw new ValidationError([
        { field: 'productId', code: UserErrorCode.NOT_FOUND, message: 'no active loan product has this id' },
      ]);
    }
    return product;
  }

  private actorReference(em: EntityManager): User | null {
    const id = actorId(this.viewer);
    return id === null ? null : em.getReference(User, id);
  }

  /**
   * Moves a loan along its lifecycle. The UPDATE checks the row's version, so of two concurrent
   * transitions of one loan exactly one succeeds; the other gets STALE_VERSION (or, if it started
   * after the first committed, INVALID_TRANSITION naming the new status).
   */
  async transition(loanId: string, to: LoanStatus, options: TransitionOptions = {}): Promise<Loan> {
    requireAdmin(this.viewer);
    const reason = validateReason(options.reason);
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
        const from = loan.status;
        loan.status = to;
        em.create(LoanEvent, {
          loan,
          fromStatus: from,
          toStatus: to,
          actor: this.actorReference(em),
          actorRole: actorRole(this.viewer),
          reason,
        });
        // One transaction: if the UPDATE (checked against `version`) loses a race, the event's INSERT is
        // rolled back with it, so a refused transition leaves no event.
        await em.flush();
        // The domain event once the UPDATE holds the loan's row lock, so that its outbox `sequence` follows
        // every earlier change of this loan (src/events/outbox.ts); written by the flush below.
        recordLoanStatusChanged(em, loan, { from, to, reason, version: loan.version });
        if (to === LoanStatus.DISBURSED) {
          // The repayment schedule, in the same transaction, once the version-checked UPDATE has won: a
          // concurrent disbursement of the same loan fails above, never on the installments' primary key.
          await storeSchedule(em, loan, utcToday(this.clock));
        }
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
