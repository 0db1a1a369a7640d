import { Loan } from '../../src/loans/loan.entity';
import { User } from '../../src/users/user.entity';
import type { TestApp } from '../support/app';

/** Helpers shared by the REST shim tests (rest-contract.md). Not a test file: jest only runs `*.test.ts`. */

export interface RestErrorDetail {
  field: string | null;
  code: string;
  message: string;
}

export interface RestError {
  code: string;
  message: string;
  details?: RestErrorDetail[];
  request_id?: string;
}

export interface LegacyLoanJson {
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

export const SEED_LOAN_1: LegacyLoanJson = {
  id: '00000000-0000-0000-0000-000000000001',
  borrower_id: 'usr_kenya_001',
  amount: 12500.0,
  currency: 'KES',
  status: 'pending',
  term_months: 6,
  interest_rate_apr: 28.0,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
};

export const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UTC_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;
const STATUSES = ['pending', 'approved', 'rejected', 'disbursed', 'repaid', 'defaulted'];
const LOAN_KEYS = [
  'amount',
  'borrower_id',
  'created_at',
  'currency',
  'id',
  'interest_rate_apr',
  'status',
  'term_months',
  'updated_at',
];

/** What the assertions read of a response: supertest's, or one read from a bare socket. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: unknown;
}

/** Signs that a response leaks an HTML error page or a stack trace. */
const LEAK = /<html|<!doctype|<pre>|stack|\bat \S+ \(|\.[jt]s:\d+:\d+|node_modules/i;

/**
 * Asserts a REST error: the status, the JSON content type, exactly `{ error: {...} }` with the given
 * code and a non-empty message, and nothing of an HTML page or a stack trace. Returns the error.
 */
export function expectJsonError(res: HttpAnswer, status: number, code: string): RestError {
  expect({ status: res.status, code: (res.body as { error?: RestError })?.error?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(res.body as object)).toEqual(['error']);
  const error = (res.body as { error: RestError }).error;
  expect(typeof error.message).toBe('string');
  expect(error.message.length).toBeGreaterThan(0);
  expect(res.text).not.toMatch(LEAK);
  return error;
}

/** `details` reduced to what the contract fixes: which field, which code. */
export function problems(error: RestError): { field: string | null; code: string }[] {
  expect(Array.isArray(error.details)).toBe(true);
  for (const detail of error.details!) expect(typeof detail.message).toBe('string');
  return error.details!.map(({ field, code }) => ({ field, code }));
}

/** Asserts every field of the documented loan shape, with its JSON type. */
export function expectLegacyLoanShape(value: unknown): asserts value is LegacyLoanJson {
  expect(Object.keys(value as object).sort()).toEqual(LOAN_KEYS);
  const loan = value as LegacyLoanJson;
  expect(loan.id).toMatch(LOWER_UUID);
  expect(typeof loan.borrower_id).toBe('string');
  expect(typeof loan.amount).toBe('number');
  expect(loan.currency).toMatch(/^[A-Z]{3}$/);
  expect(STATUSES).toContain(loan.status);
  expect(loan.term_months === null || Number.isInteger(loan.term_months)).toBe(true);
  expect(loan.interest_rate_apr === null || typeof loan.interest_rate_apr === 'number').toBe(true);
  expect(loan.created_at).toMatch(UTC_TIMESTAMP);
  expect(loan.updated_at).toMatch(UTC_TIMESTAMP);
}

/** Row counts straight from the database, to prove a rejected request wrote nothing. */
export async function rowCounts(t: TestApp): Promise<{ loans: number; users: number }> {
  const em = t.app.orm.em.fork();
  return { loans: await em.count(Loan, {}), users: await em.count(User, {}) };
}
