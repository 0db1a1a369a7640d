import { isCurrencyCode } from '../common/currency';
import { parseDecimal, type Decimal } from '../common/decimal';
import { UserErrorCode, ValidationError, type FieldProblem } from '../common/errors';
import { minorUnitsOf } from '../schedule/minor-units';
import { REPAYMENT_REFERENCE_MAX, REVERSAL_REASON_MAX } from './repayment.entity';

/** A repayment as the adapter hands it over: nothing trusted yet. */
export interface RecordRepaymentCommand {
  loanId: unknown;
  amount: unknown;
  currency: unknown;
  /** Omitted: the clock's now. */
  paidAt?: unknown;
  reference: unknown;
}

export interface ValidRepayment {
  loanId: string;
  amount: Decimal;
  currency: string;
  paidAt: Date;
  reference: string;
}

const isMissing = (value: unknown) => value === undefined || value === null;
/** Characters as PostgreSQL counts them (code points), not UTF-16 units. */
const characters = (text: string) => [...text].length;

/**
 * Every rule of a repayment that needs no database, all failing fields at once: `amount` positive with at most
 * the currency's minor units (never rounded), `currency` an ISO 4217 code (any case), `paidAt` not after
 * `now`, `reference` 1..64 characters once trimmed.
 */
export function validateRepayment(command: RecordRepaymentCommand, now: Date): ValidRepayment {
  const problems: FieldProblem[] = [];
  const fail = (field: string, code: UserErrorCode, message: string) => problems.push({ field, code, message });

  let currency = '';
  if (isMissing(command.currency)) fail('currency', UserErrorCode.REQUIRED, 'is required');
  else if (typeof command.currency !== 'string' || !/^[A-Za-z]{3}$/.test(command.currency.trim())) {
    fail('currency', UserErrorCode.INVALID, 'must be a 3-letter ISO 4217 currency code');
  } else {
    currency = command.currency.trim().toUpperCase();
    if (!isCurrencyCode(currency))
      fail('currency', UserErrorCode.INVALID, `${currency} is not an ISO 4217 currency code`);
  }

  let amount: Decimal | null = null;
  if (isMissing(command.amount)) fail('amount', UserErrorCode.REQUIRED, 'is required');
  else {
    amount = parseDecimal(command.amount);
    if (amount === null) fail('amount', UserErrorCode.INVALID, 'must be a decimal such as "1500.00"');
    else if (!amount.gt(0)) {
      fail('amount', UserErrorCode.OUT_OF_RANGE, 'must be greater than 0');
      amount = null;
    } else if (currency !== '' && problems.every((p) => p.field !== 'currency')) {
      const places = minorUnitsOf(currency);
      if (amount.decimalPlaces() > places) {
        fail(
          'amount',
          UserErrorCode.TOO_PRECISE,
          `must have at most ${places} decimal places in ${currency} (never rounded)`,
        );
      }
    }
  }

  let paidAt = now;
  if (!isMissing(command.paidAt)) {
    if (!(command.paidAt instanceof Date) || Number.isNaN(command.paidAt.getTime())) {
      fail('paidAt', UserErrorCode.INVALID, 'must be an instant');
    } else if (command.paidAt.getTime() > now.getTime()) {
      fail('paidAt', UserErrorCode.OUT_OF_RANGE, 'must not be in the future');
    } else paidAt = command.paidAt;
  }

  let reference = '';
  if (isMissing(command.reference)) fail('reference', UserErrorCode.REQUIRED, 'is required');
  else if (typeof command.reference !== 'string') fail('reference', UserErrorCode.INVALID, 'must be a string');
  else {
    reference = command.reference.trim();
    if (reference === '') fail('reference', UserErrorCode.BLANK, 'must not be blank');
    else if (characters(reference) > REPAYMENT_REFERENCE_MAX) {
      fail('reference', UserErrorCode.TOO_LONG, `must be at most ${REPAYMENT_REFERENCE_MAX} characters`);
    }
  }

  if (problems.length > 0) throw new ValidationError(problems);
  return {
    loanId: typeof command.loanId === 'string' ? command.loanId : '',
    amount: amount!,
    currency,
    paidAt,
    reference,
  };
}

/** A reversal's reason: required, trimmed, 1..500 characters. */
export function validateReversalReason(reason: unknown): string {
  const problem = (code: UserErrorCode, message: string) => new ValidationError([{ field: 'reason', code, message }]);
  if (isMissing(reason)) throw problem(UserErrorCode.REQUIRED, 'is required');
  if (typeof reason !== 'string') throw problem(UserErrorCode.INVALID, 'must be a string');
  const trimmed = reason.trim();
  if (trimmed === '') throw problem(UserErrorCode.BLANK, 'must not be blank');
  if (characters(trimmed) > REVERSAL_REASON_MAX) {
    throw problem(UserErrorCode.TOO_LONG, `must be at most ${REVERSAL_REASON_MAX} characters`);
  }
  return trimmed;
}
