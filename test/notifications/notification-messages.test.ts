import { randomUUID } from 'node:crypto';
import { buildEnvelope } from '../../src/events/envelope';
import { notificationFor } from '../../src/notifications/notification.messages';

const statusChange = (fromStatus: 'APPROVED' | 'REPAID') => {
  const loanId = randomUUID();
  return buildEnvelope('loan.status.disbursed', loanId, {
    loanId,
    borrowerId: 'usr_kenya_001',
    fromStatus,
    toStatus: 'DISBURSED',
    reason: null,
    amount: '12000.5',
    currency: 'KES',
    version: 3,
  });
};

test('a disbursement tells the borrower the loan was disbursed', () => {
  expect(notificationFor(statusChange('APPROVED'))).toMatchObject({
    kind: 'LOAN_DISBURSED',
    title: 'Loan disbursed',
    message: 'Your loan of 12,000.50 KES was disbursed',
  });
});

test('a repaid loan reopened by a reversed repayment is not announced as a second disbursement', () => {
  expect(notificationFor(statusChange('REPAID'))).toMatchObject({
    kind: 'LOAN_DISBURSED',
    title: 'Loan reopened',
    message: 'Your loan of 12,000.50 KES is open again: a repayment was reversed',
  });
});
