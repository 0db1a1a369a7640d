import type { Request, Response } from 'express';
import { InvalidArgumentError, NotFoundError, ValidationError, UserErrorCode } from '../common/errors';
import { isUuid } from '../common/ids';
import { requestContext } from '../http/context-middleware';
import type { Loan } from './loan.entity';

/** A loan as the legacy REST API shows it (rest-contract.md). */
export interface LegacyLoan {
  id: string;
  borrower_id: string;
  amount: number;
  currency: string;
  status: string;
  term_months: number | null;
  interest_rate_apr: number | null;
  created_at: string;
  updated_at: string;
}

/** Money leaves the shim as JSON numbers because the legacy contract documents numbers (2 places at most). */
export function toLegacyLoan(loan: Loan): LegacyLoan {
  return {
    id: loan.id,
    borrower_id: loan.borrower.id,
    amount: Number(loan.amount),
    currency: loan.currency,
    status: loan.status,
    term_months: loan.termMonths,
    interest_rate_apr: loan.interestRateApr === null ? null : Number(loan.interestRateApr),
    created_at: isoSeconds(loan.createdAt),
    updated_at: isoSeconds(loan.updatedAt),
  };
}

/** `2025-01-01T00:00:00Z` as documented; milliseconds only when there are some. */
function isoSeconds(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
}

export async function listLoans(_req: Request, res: Response): Promise<void> {
  const loans = await requestContext(res).services.loans.listAll();
  res.json(loans.map(toLegacyLoan));
}

export async function getLoan(req: Request<{ id: string }>, res: Response): Promise<void> {
  const { id } = req.params;
  if (!isUuid(id))
    throw new InvalidArgumentError('id', 'id must be a UUID such as 00000000-0000-0000-0000-000000000001');
  const loan = await requestContext(res).services.loans.findById(id);
  if (!loan) throw new NotFoundError('Loan', id);
  res.json(toLegacyLoan(loan));
}

export async function createLoan(req: Request, res: Response): Promise<void> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError([
      {
        field: null,
        code: UserErrorCode.INVALID,
        message: 'the body must be a JSON object (Content-Type: application/json)',
      },
    ]);
  }
  const fields = body as Record<string, unknown>;
  // Unknown fields (including `status` and `id`) are ignored, as legacy callers expect.
  const loan = await requestContext(res).services.loans.create(
    {
      borrowerId: fields.borrower_id,
      amount: fields.amount,
      currency: fields.currency,
      termMonths: fields.term_months,
      interestRateApr: fields.interest_rate_apr,
    },
    { registerUnknownBorrower: true },
  );
  res.status(201).location(`/api/loans/${loan.id}`).json(toLegacyLoan(loan));
}
