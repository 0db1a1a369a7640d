import { ActivityEvent } from '../activity/activity-event.entity';
import { LoanEvent } from '../loans/loan-event.entity';
import { Loan } from '../loans/loan.entity';
import { User } from '../users/user.entity';

/** Every entity, listed explicitly (no folder scanning, so ts-jest, tsc and bundlers agree). */
export const ENTITIES = [User, Loan, LoanEvent, ActivityEvent];
