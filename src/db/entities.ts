import { ActivityEvent } from '../activity/activity-event.entity';
import { ApiKeyEvent } from '../api-keys/api-key-event.entity';
import { ApiKey } from '../api-keys/api-key.entity';
import { AccountEvent } from '../auth/account-event.entity';
import { LoginThrottle } from '../auth/login-throttle.entity';
import { OutboxEvent } from '../events/outbox-event.entity';
import { IdempotencyKey } from '../idempotency/idempotency-key.entity';
import { LoanEvent } from '../loans/loan-event.entity';
import { Loan } from '../loans/loan.entity';
import { LoanProduct } from '../products/loan-product.entity';
import { LoanInstallment } from '../repayments/loan-installment.entity';
import { Repayment, RepaymentAllocation } from '../repayments/repayment.entity';
import { LoanDailyStats } from '../stats/loan-daily-stats.entity';
import { LoanStatsTotal } from '../stats/loan-stats-total.entity';
import { PortfolioTotal, RepaymentDailyStats } from '../stats/portfolio-stats.entity';
import { User } from '../users/user.entity';
import { ProcessedEvent } from '../worker/processed-event.entity';
import { Notification } from '../notifications/notification.entity';
import { WebhookEndpoint } from '../webhooks/webhook-endpoint.entity';
import { WebhookDelivery } from '../webhooks/webhook-delivery.entity';

/** Every entity, listed explicitly (no folder scanning, so ts-jest, tsc and bundlers agree). */
export const ENTITIES = [
  User,
  Loan,
  LoanProduct,
  LoanEvent,
  ActivityEvent,
  LoanDailyStats,
  LoanStatsTotal,
  PortfolioTotal,
  RepaymentDailyStats,
  AccountEvent,
  LoginThrottle,
  IdempotencyKey,
  ApiKey,
  ApiKeyEvent,
  LoanInstallment,
  Repayment,
  RepaymentAllocation,
  OutboxEvent,
  ProcessedEvent,
  Notification,
  WebhookEndpoint,
  WebhookDelivery,
];
