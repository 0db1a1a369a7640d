import { isCurrencyCode } from '../common/currency';
import { parseDecimal, readBoundedDecimal, toFixedScale, type Decimal } from '../common/decimal';
import { UserErrorCode, ValidationError, type FieldProblem } from '../common/errors';
import { LOAN_LIMITS } from '../loans/loan-limits';
import { FeeKind, InterestMethod, RepaymentFrequency } from './loan-product.enums';

export const PRODUCT_LIMITS = {
  codePattern: /^[A-Z0-9]+(-[A-Z0-9]+)*$/,
  maxCodeLength: 40,
  maxNameLength: 100,
  maxDescriptionLength: 1000,
  minTermMonths: 1,
  maxTermMonths: 360,
  /** Nominal annual rate, percent: no higher than a loan may carry, so every product's offer can be taken. */
  maxRatePercent: LOAN_LIMITS.maxAprPercent,
  /** A percentage fee is a share of the principal. */
  maxFeePercent: 100,
  scale: 2,
} as const;

/** Product fields as they arrive (create: all required but description and fee; update: all optional). */
export interface ProductFieldsCommand {
  code?: unknown;
  name?: unknown;
  description?: unknown;
  currency?: unknown;
  minPrincipal?: unknown;
  maxPrincipal?: unknown;
  minTermMonths?: unknown;
  maxTermMonths?: unknown;
  interestRateApr?: unknown;
  interestMethod?: unknown;
  repaymentFrequency?: unknown;
  /** `null` removes the fee. */
  fee?: { kind?: unknown; value?: unknown } | null;
}

export interface ValidProductFields {
  code?: string;
  name?: string;
  description?: string | null;
  currency?: string;
  minPrincipal?: string;
  maxPrincipal?: string;
  minTermMonths?: number;
  maxTermMonths?: number;
  interestRateApr?: string;
  interestMethod?: InterestMethod;
  repaymentFrequency?: RepaymentFrequency;
  feeKind?: FeeKind | null;
  feeValue?: string | null;
}

type CurrentProduct = Pick<
  Required<ValidProductFields>,
  'currency' | 'minPrincipal' | 'maxPrincipal' | 'minTermMonths' | 'maxTermMonths' | 'feeKind' | 'feeValue'
>;

/**
 * Every rule of a product, written once. `current` is the stored product for an update (ranges are checked
 * against what the product will be), absent for a creation (then the required fields must be given).
 */
export function validateProductFields(command: ProductFieldsCommand, current?: CurrentProduct): ValidProductFields {
  const creating = current === undefined;
  const problems: FieldProblem[] = [];
  const fail = (field: string, code: UserErrorCode, message: string) => problems.push({ field, code, message });
  const out: ValidProductFields = {};
  const given = (field: keyof ProductFieldsCommand): boolean => {
    const value = command[field];
    if (value === undefined || (value === null && field !== 'description' && field !== 'fee')) {
      if (creating && field !== 'description' && field !== 'fee') fail(field, UserErrorCode.REQUIRED, 'is required');
      else if (value === null) fail(field, UserErrorCode.REQUIRED, 'cannot be cleared');
      return false;
    }
    return true;
  };
  const text = (field: 'name' | 'description', max: number): string | null | undefined => {
    const value = command[field];
    if (value === null) return null;
    if (typeof value !== 'string') return void fail(field, UserErrorCode.INVALID, 'must be a string');
    const trimmed = value.trim();
    if (trimmed === '') return void fail(field, UserErrorCode.BLANK, 'must not be blank');
    if (trimmed.length > max) return void fail(field, UserErrorCode.TOO_LONG, `must be at most ${max} characters`);
    return trimmed;
  };

  if (given('code')) {
    const code = typeof command.code === 'string' ? command.code.trim().toUpperCase() : null;
    if (code === null) fail('code', UserErrorCode.INVALID, 'must be a string');
    else if (code === '') fail('code', UserErrorCode.BLANK, 'must not be blank');
    else if (code.length > PRODUCT_LIMITS.maxCodeLength) {
      fail('code', UserErrorCode.TOO_LONG, `must be at most ${PRODUCT_LIMITS.maxCodeLength} characters`);
    } else if (!PRODUCT_LIMITS.codePattern.test(code)) {
      fail('code', UserErrorCode.INVALID, 'must be letters and digits in groups joined by dashes, e.g. KES-STARTER');
    } else out.code = code;
  }
  if (given('name')) {
    const name = text('name', PRODUCT_LIMITS.maxNameLength);
    if (typeof name === 'string') out.name = name;
  }
  if (command.description !== undefined) {
    const description = text('description', PRODUCT_LIMITS.maxDescriptionLength);
    if (description !== undefined) out.description = description;
  }
  if (given('currency')) {
    const currency = typeof command.currency === 'string' ? command.currency.trim().toUpperCase() : '';
    if (!/^[A-Z]{3}$/.test(currency) || !isCurrencyCode(currency)) {
      fail('currency', UserErrorCode.INVALID, 'must be an ISO 4217 currency code');
    } else out.currency = currency;
  }
  for (const field of ['minPrincipal', 'maxPrincipal'] as const) {
    if (!given(field)) continue;
    const amount = readDecimal(
      command[field],
      field,
      { min: 0, minInclusive: false, max: LOAN_LIMITS.maxAmount },
      fail,
    );
    if (amount) out[field] = toFixedScale(amount, PRODUCT_LIMITS.scale);
  }
  for (const field of ['minTermMonths', 'maxTermMonths'] as const) {
    if (!given(field)) continue;
    const term = command[field];
    if (typeof term !== 'number' || !Number.isInteger(term))
      fail(field, UserErrorCode.INVALID, 'must be a whole number');
    else if (term < PRODUCT_LIMITS.minTermMonths || term > PRODUCT_LIMITS.maxTermMonths) {
      fail(
        field,
        UserErrorCode.OUT_OF_RANGE,
        `must be between ${PRODUCT_LIMITS.minTermMonths} and ${PRODUCT_LIMITS.maxTermMonths}`,
      );
    } else out[field] = term;
  }
  if (given('interestRateApr')) {
    const rate = readDecimal(
      command.interestRateApr,
      'interestRateApr',
      { min: 0, minInclusive: true, max: PRODUCT_LIMITS.maxRatePercent },
      fail,
    );
    if (rate) out.interestRateApr = toFixedScale(rate, PRODUCT_LIMITS.scale);
  }
  if (given('interestMethod')) {
    if (!Object.values(InterestMethod).includes(command.interestMethod as InterestMethod)) {
      fail('interestMethod', UserErrorCode.INVALID, 'is not an interest method');
    } else out.interestMethod = command.interestMethod as InterestMethod;
  }
  if (given('repaymentFrequency')) {
    if (!Object.values(RepaymentFrequency).includes(command.repaymentFrequency as RepaymentFrequency)) {
      fail('repaymentFrequency', UserErrorCode.INVALID, 'is not a repayment frequency');
    } else out.repaymentFrequency = command.repaymentFrequency as RepaymentFrequency;
  }
  if (command.fee === null) {
    out.feeKind = null;
    out.feeValue = null;
  } else if (command.fee !== undefined) {
    const kind = command.fee.kind as FeeKind;
    if (!Object.values(FeeKind).includes(kind)) fail('fee.kind', UserErrorCode.INVALID, 'is not a fee kind');
    else {
      const max = kind === FeeKind.PERCENT ? PRODUCT_LIMITS.maxFeePercent : LOAN_LIMITS.maxAmount;
      const value = readDecimal(command.fee.value, 'fee.value', { min: 0, minInclusive: true, max }, fail);
      if (value) {
        out.feeKind = kind;
        out.feeValue = toFixedScale(value, PRODUCT_LIMITS.scale);
      }
    }
  }

  // Ranges, against what the product will be once changed.
  if (problems.length === 0) {
    const min = out.minPrincipal ?? current?.minPrincipal;
    const max = out.maxPrincipal ?? current?.maxPrincipal;
    if (min !== undefined && max !== undefined && parseDecimal(min)!.gt(parseDecimal(max)!)) {
      fail('minPrincipal', UserErrorCode.OUT_OF_RANGE, `must be at most maxPrincipal (${max})`);
    }
    const minTerm = out.minTermMonths ?? current?.minTermMonths;
    const maxTerm = out.maxTermMonths ?? current?.maxTermMonths;
    if (minTerm !== undefined && maxTerm !== undefined && minTerm > maxTerm) {
      fail('minTermMonths', UserErrorCode.OUT_OF_RANGE, `must be at most maxTermMonths (${maxTerm})`);
    }
    // A fixed fee above the smallest principal could not be priced (financingOptions) nor scheduled (disbursement).
    const feeKind = out.feeKind !== undefined ? out.feeKind : current?.feeKind;
    const feeValue = out.feeValue !== undefined ? out.feeValue : current?.feeValue;
    if (feeKind === FeeKind.FIXED && feeValue && min !== undefined && parseDecimal(feeValue)!.gt(parseDecimal(min)!)) {
      fail('fee.value', UserErrorCode.OUT_OF_RANGE, `a fixed fee must be at most minPrincipal (${min})`);
    }
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return out;
}

function readDecimal(
  value: unknown,
  field: string,
  rule: { min: number; minInclusive: boolean; max: number },
  fail: (field: string, code: UserErrorCode, message: string) => void,
): Decimal | null {
  return readBoundedDecimal(value, field, { ...rule, required: true, scale: PRODUCT_LIMITS.scale }, fail);
}
