import { isCurrencyCode } from '../common/currency';
import { readBoundedDecimal, toFixedScale, type Decimal } from '../common/decimal';
import { UserErrorCode, ValidationError, type FieldProblem } from '../common/errors';
import { LOAN_EVENT_REASON_MAX } from './loan-event.entity';
import { LOAN_LIMITS } from './loan-limits';

/** A loan application as it arrives from either adapter: nothing is trusted yet. */
export interface CreateLoanCommand {
  borrowerId: unknown;
  amount: unknown;
  currency: unknown;
  termMonths?: unknown;
  interestRateApr?: unknown;
  /** GraphQL only: the product applied for (checked by the service against the stored product). */
  productId?: unknown;
}

export interface ValidCreateLoan {
  borrowerId: string;
  /** Fixed two-place text, exactly what numeric(12,2) stores. */
  amount: string;
  currency: string;
  termMonths: number | null;
  interestRateApr: string | null;
}

const isMissing = (value: unknown) => value === undefined || value === null;

/** Every rule of a loan application, written once for REST and GraphQL. Lists every failing field. */
export function validateCreateLoan(command: CreateLoanCommand): ValidCreateLoan {
  const problems: FieldProblem[] = [];
  const fail = (field: string, code: UserErrorCode, message: string) => problems.push({ field, code, message });

  let borrowerId = '';
  if (isMissing(command.borrowerId)) fail('borrowerId', UserErrorCode.REQUIRED, 'is required');
  else if (typeof command.borrowerId !== 'string') fail('borrowerId', UserErrorCode.INVALID, 'must be a string');
  else {
    borrowerId = command.borrowerId.trim();
    if (borrowerId === '') fail('borrowerId', UserErrorCode.BLANK, 'must not be blank');
    else if (borrowerId.length > LOAN_LIMITS.maxBorrowerIdLength) {
      fail('borrowerId', UserErrorCode.TOO_LONG, `must be at most ${LOAN_LIMITS.maxBorrowerIdLength} characters`);
    }
  }

  const amount = readMoney(
    command.amount,
    'amount',
    { required: true, min: 0, minInclusive: false, max: LOAN_LIMITS.maxAmount },
    fail,
  );

  let currency = '';
  if (isMissing(command.currency)) fail('currency', UserErrorCode.REQUIRED, 'is required');
  else if (typeof command.currency !== 'string' || !/^[A-Za-z]{3}$/.test(command.currency)) {
    fail('currency', UserErrorCode.INVALID, 'must be a 3-letter ISO 4217 currency code');
  } else {
    currency = command.currency.toUpperCase();
    if (!isCurrencyCode(currency))
      fail('currency', UserErrorCode.INVALID, `${currency} is not an ISO 4217 currency code`);
  }

  let termMonths: number | null = null;
  if (!isMissing(command.termMonths)) {
    const term = command.termMonths;
    if (typeof term !== 'number' || !Number.isInteger(term))
      fail('termMonths', UserErrorCode.INVALID, 'must be a whole number of months');
    else if (term < LOAN_LIMITS.minTermMonths || term > LOAN_LIMITS.maxTermMonths) {
      fail(
        'termMonths',
        UserErrorCode.OUT_OF_RANGE,
        `must be between ${LOAN_LIMITS.minTermMonths} and ${LOAN_LIMITS.maxTermMonths}`,
      );
    } else termMonths = term;
  }

  const apr = readMoney(
    command.interestRateApr,
    'interestRateApr',
    { required: false, min: 0, minInclusive: true, max: LOAN_LIMITS.maxAprPercent },
    fail,
  );

  if (problems.length > 0) throw new ValidationError(problems);
  return {
    borrowerId,
    amount: toFixedScale(amount!, LOAN_LIMITS.scale),
    currency,
    termMonths,
    interestRateApr: apr === null ? null : toFixedScale(apr, LOAN_LIMITS.scale),
  };
}

/** A decimal with at most two places within a range; `null` when absent (or invalid, with a problem recorded). */
function readMoney(
  value: unknown,
  field: string,
  rule: { required: boolean; min: number; minInclusive: boolean; max: number },
  fail: (field: string, code: UserErrorCode, message: string) => void,
): Decimal | null {
  return readBoundedDecimal(value, field, { ...rule, scale: LOAN_LIMITS.scale }, fail);
}

/** A reason for the audit trail: optional, trimmed, at most LOAN_EVENT_REASON_MAX characters; blank is none. */
export function validateReason(reason: unknown): string | null {
  if (reason === undefined || reason === null) return null;
  if (typeof reason !== 'string') {
    throw new ValidationError([{ field: 'reason', code: UserErrorCode.INVALID, message: 'must be a string' }]);
  }
  const trimmed = reason.trim();
  if (trimmed.length > LOAN_EVENT_REASON_MAX) {
    throw new ValidationError([
      { field: 'reason', code: UserErrorCode.TOO_LONG, message: `must be at most ${LOAN_EVENT_REASON_MAX} characters` },
    ]);
  }
  return trimmed === '' ? null : trimmed;
}
