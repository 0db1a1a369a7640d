import { ActivityEvent } from '../activity/activity-event.entity';
import { LoanEvent } from '../loans/loan-event.entity';
import { Loan } from '../loans/loan.entity';
import { LoanDailyStats } from '../stats/loan-daily-stats.entity';
import { LoanStatsTotal } from '../stats/loan-stats-total.entity';
import { User } from '../users/user.entity';

/** Every entity, listed explicitly (no folder scanning, so ts-jest, tsc and bundlers agree). */
export const ENTITIES = [User, Loan, LoanEvent, ActivityEvent, LoanDailyStats, LoanStatsTotal];
