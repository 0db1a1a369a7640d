import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import {
  ApproveLoanDocument,
  DisburseLoanDocument,
  MarkLoanDefaultedDocument,
  MarkLoanRepaidDocument,
  RejectLoanDocument,
} from '../../client/generated/graphql';
import type { LoanStateFragment, ProblemFragment } from '../../client/generated/graphql';
import { LoanStatus } from '../../src/loans/loan-status';
import type { TestApp } from '../support/app';

/** The five lifecycle mutations, shared by the lifecycle and audit tests. Not a test file. */
export type Action = 'approveLoan' | 'rejectLoan' | 'disburseLoan' | 'markLoanRepaid' | 'markLoanDefaulted';

export interface TransitionPayload {
  loan: LoanStateFragment | null;
  userErrors: ProblemFragment[];
}

export interface TransitionInput {
  loanId: string;
  expectedVersion?: number | null;
  reason?: string | null;
}

export const ACTIONS: Record<
  Action,
  { document: TypedDocumentNode<unknown, { input: TransitionInput }>; to: LoanStatus }
> = {
  approveLoan: { document: ApproveLoanDocument, to: LoanStatus.APPROVED },
  rejectLoan: { document: RejectLoanDocument, to: LoanStatus.REJECTED },
  disburseLoan: { document: DisburseLoanDocument, to: LoanStatus.DISBURSED },
  markLoanRepaid: { document: MarkLoanRepaidDocument, to: LoanStatus.REPAID },
  markLoanDefaulted: { document: MarkLoanDefaultedDocument, to: LoanStatus.DEFAULTED },
};

/** Runs one lifecycle mutation (as the test admin unless `headers` say otherwise); asserts a 200 without errors. */
export async function runTransition(
  t: TestApp,
  action: Action,
  input: TransitionInput,
  headers?: Record<string, string>,
): Promise<TransitionPayload> {
  const res = await t.graphql(ACTIONS[action].document, { input }, headers);
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  return (res.body.data as Record<Action, TransitionPayload>)[action];
}
