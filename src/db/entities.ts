import { Loan } from '../loans/loan.entity';
import { User } from '../users/user.entity';

/** Every entity, listed explicitly (no folder scanning, so ts-jest, tsc and bundlers agree). */
export const ENTITIES = [User, Loan];
