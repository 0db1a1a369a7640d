import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { actorId, actorRole, requireAdmin, type Viewer } from '../auth/viewer';
import { systemClock, type Clock } from '../common/clock';
import { Decimal } from '../common/decimal';
import { BusinessRuleError, NotFoundError, UserErrorCode } from '../common/errors';
import { isUuid } from '../common/ids';
import { Loan } from '../loans/loan.entity';
import { LoanEvent } from '../loans/loan-event.entity';
import { LoanStatus } from '../loans/loan-status';
import { recordLoanStatusChanged, recordRepaymentEvent } from '../events/outbox';
import { User } from '../users/user.entity';
import { allocate, outstandingOf, type AllocationLine } from './allocation';
import { LoanInstallment } from './loan-installment.entity';
import { Repayment, RepaymentAllocation } from './repayment.entity';
import { validateRepayment, validateReversalReason, type RecordRepaymentCommand } from './repayment.validation';

export interface RepaymentResult {
  repayment: Repayment;
  loan: Loan;
}

const refuse = (field: string | null, code: UserErrorCode, message: string) =>
  new BusinessRuleError({ field, code, message });

/**
 * Repayments (README "Repayment schedules and repayments"), admins only. Each write locks the loan's row
 * (`select ... for update`) first, so the repayments and reversals of one loan run one after another: each is
 * allocated against the balances the previous one left, exactly once, and at most one of them moves the loan
 * to REPAID. The allocation, the installments' balances, the repayment and any status change with its
 * LoanEvent are one transaction.
 */
export class RepaymentService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
    private readonly clock: Clock = systemClock,
  ) {}

  async record(command: RecordRepaymentCommand): Promise<RepaymentResult> {
    requireAdmin(this.viewer);
    const valid = validateRepayment(command, this.clock.now());
    return this.em.transactional(async (em) => {
      const loan = await this.lockLoan(em, valid.loanId);
      if (!loan) throw new NotFoundError('Loan', valid.loanId, 'loanId');

      // The reference is the call's idempotency key: a retry answers the first repayment and records nothing.
      const first = await em.findOne(Repayment, { loan, reference: valid.reference });
      if (first) {
        if (first.currency !== valid.currency || !new Decimal(first.amount).eq(valid.amount)) {
          throw refuse(
            'reference',
            UserErrorCode.REFERENCE_REUSED,
            `this loan already has a repayment with this reference, of ${first.amount} ${first.currency}`,
          );
        }
        return { repayment: first, loan };
      }

      if (valid.currency !== loan.currency) {
        throw refuse('currency', UserErrorCode.CURRENCY_MISMATCH, `must be ${loan.currency}, the loan's currency`);
      }
      if (loan.status !== LoanStatus.DISBURSED) {
        throw refuse(
          'loanId',
          UserErrorCode.LOAN_NOT_REPAYABLE,
          `only a DISBURSED loan takes repayments; this one is ${loan.status.toUpperCase()}`,
        );
      }
      const installments = await em.find(LoanInstallment, { loan }, { orderBy: { number: 'asc' } });
      if (installments.length === 0) {
        throw refuse('loanId', UserErrorCode.NO_SCHEDULE, 'the loan has no repayment schedule to allocate to');
      }
      const outstanding = outstandingOf(installments);
      if (valid.amount.gt(outstanding.total)) {
        throw refuse(
          'amount',
          UserErrorCode.OVERPAYMENT,
          `is more than the ${outstanding.total.toFixed()} ${loan.currency} outstanding`,
        );
      }

      const lines = allocate(installments, valid.amount);
      applyLines(installments, lines, +1);
      const total = (pick: (line: AllocationLine) => Decimal) =>
        lines.reduce((sum, line) => sum.plus(pick(line)), new Decimal(0)).toFixed();
      const repayment = em.create(Repayment, {
        loan,
        amount: valid.amount.toFixed(),
        currency: valid.currency,
        paidAt: valid.paidAt,
        reference: valid.reference,
        allocatedPrincipal: total((l) => l.principal),
        allocatedInterest: total((l) => l.interest),
        allocatedFee: total((l) => l.fee),
        recordedBy: this.actor(em),
      });
      for (const line of lines) {
        em.create(RepaymentAllocation, {
          repayment,
          installmentNumber: line.number,
          principal: line.principal.toFixed(),
          interest: line.interest.toFixed(),
          fee: line.fee.toFixed(),
        });
      }
      recordRepaymentEvent(em, 'repayment.recorded', repayment, loan); // the loan's row is locked: ordered per loan
      if (valid.amount.eq(outstanding.total)) {
        this.moveLoan(em, loan, LoanStatus.REPAID, `repaid in full by repayment ${valid.reference}`);
      }
      await em.flush();
      return { repayment, loan };
    });
  }

  /**
   * Takes back exactly what one repayment allocated, installment by installment, and marks it reversed (who,
   * when, why); the row stays. A REPAID loan goes back to DISBURSED (it owes that amount again), with its
   * LoanEvent carrying the reason. A repayment is reversed at most once (ALREADY_REVERSED).
   */
  async reverse(repaymentId: string, reason: unknown): Promise<RepaymentResult> {
    requireAdmin(this.viewer);
    const why = validateReversalReason(reason);
    return this.em.transactional(async (em) => {
      const notFound = new NotFoundError('Repayment', repaymentId, 'repaymentId');
      if (!isUuid(repaymentId)) throw notFound;
      const id = repaymentId.toLowerCase();
      const found = await em.findOne(Repayment, { id });
      if (!found) throw notFound;
      // Lock the loan, then read the repayment again: a reversal that waited for the lock sees the first one.
      const loan = await this.lockLoan(em, found.loan.id);
      if (!loan) throw notFound; // the foreign key makes this impossible
      const repayment = await em.findOneOrFail(Repayment, { id }, { refresh: true });
      if (repayment.reversedAt !== null) {
        throw refuse('repaymentId', UserErrorCode.ALREADY_REVERSED, 'this repayment was already reversed');
      }
      const lines = await em.find(RepaymentAllocation, { repayment });
      const installments = await em.find(LoanInstallment, { loan }, { orderBy: { number: 'asc' } });
      applyLines(
        installments,
        lines.map((l) => ({
          number: l.installmentNumber,
          principal: new Decimal(l.principal),
          interest: new Decimal(l.interest),
          fee: new Decimal(l.fee),
        })),
        -1,
      );
      repayment.reversedAt = this.clock.now();
      repayment.reversedBy = this.actor(em);
      repayment.reversalReason = why;
      recordRepaymentEvent(em, 'repayment.reversed', repayment, loan, why);
      if (loan.status === LoanStatus.REPAID) {
        this.moveLoan(em, loan, LoanStatus.DISBURSED, `repayment ${repayment.reference} reversed: ${why}`);
      }
      await em.flush();
      return { repayment, loan };
    });
  }

  private async lockLoan(em: EntityManager, loanId: string): Promise<Loan | null> {
    if (!isUuid(loanId)) return null;
    return em.findOne(Loan, { id: loanId.toLowerCase() }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  private actor(em: EntityManager): User | null {
    const id = actorId(this.viewer);
    return id === null ? null : em.getReference(User, id);
  }

  /** A status change made by a repayment or a reversal, audited like the lifecycle mutations' (reason cut to 500). */
  private moveLoan(em: EntityManager, loan: Loan, to: LoanStatus, reason: string): void {
    const from = loan.status;
    loan.status = to;
    em.create(LoanEvent, {
      loan,
      fromStatus: from,
      toStatus: to,
      actor: this.actor(em),
      actorRole: actorRole(this.viewer),
      reason: [...reason].slice(0, 500).join(''),
    });
    // The caller's flush writes the status change: one UPDATE, so the version it leaves is this one + 1.
    recordLoanStatusChanged(em, loan, {
      from,
      to,
      reason: [...reason].slice(0, 500).join(''),
      version: loan.version + 1,
    });
  }
}

/** Adds (`sign` +1) or takes back (-1) allocation lines on the installments' paid amounts. */
function applyLines(installments: LoanInstallment[], lines: AllocationLine[], sign: 1 | -1): void {
  const byNumber = new Map(installments.map((i) => [i.number, i]));
  for (const line of lines) {
    const installment = byNumber.get(line.number);
    if (!installment) throw new Error(`allocation to installment ${line.number}, which the loan does not have`);
    installment.paidFee = new Decimal(installment.paidFee).plus(line.fee.mul(sign)).toFixed();
    installment.paidInterest = new Decimal(installment.paidInterest).plus(line.interest.mul(sign)).toFixed();
    installment.paidPrincipal = new Decimal(installment.paidPrincipal).plus(line.principal.mul(sign)).toFixed();
  }
}
