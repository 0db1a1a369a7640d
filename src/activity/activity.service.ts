import type { EntityManager } from '@mikro-orm/postgresql';
import { requireAdmin, type Viewer } from '../auth/viewer';
import { InvalidArgumentError } from '../common/errors';
import { ActivityKind } from './activity-event.entity';

export interface ActivityRange {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
}

export interface UserActivityData {
  userId: string;
  logIns: number;
  applications: number;
}

export interface ActivitySummaryData {
  totalLogIns: number;
  totalApplications: number;
  /** Users with at least one event in the range, most active first. */
  perUser: UserActivityData[];
  /** How many users had activity in the range (perUser may be cut at `top`). */
  activeUsers: number;
}

export const ACTIVITY_LIMITS = { maxSpanDays: 366, defaultTop: 100, maxTop: 1000 } as const;

/** The analytics of FinApp's analytics service: log-ins and loan applications over a time range. Admins only. */
export class ActivityService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
  ) {}

  async summary(range: ActivityRange, top: number = ACTIVITY_LIMITS.defaultTop): Promise<ActivitySummaryData> {
    requireAdmin(this.viewer);
    validateRange(range);
    if (!Number.isInteger(top) || top < 0 || top > ACTIVITY_LIMITS.maxTop) {
      throw new InvalidArgumentError('top', `"top" must be between 0 and ${ACTIVITY_LIMITS.maxTop}`);
    }
    const connection = this.em.getConnection();
    const params = [ActivityKind.LOG_IN, ActivityKind.LOAN_APPLICATION, range.from, range.to];
    // One pass over the (at) index range: per-user counts, plus window totals over every user in the range.
    const rows = await connection.execute<
      {
        user_id: string;
        log_ins: number;
        applications: number;
        total_log_ins: number;
        total_applications: number;
        active_users: number;
      }[]
    >(
      `select user_id, log_ins, applications,
              sum(log_ins) over ()::int as total_log_ins,
              sum(applications) over ()::int as total_applications,
              count(*) over ()::int as active_users
       from (select user_id,
                    count(*) filter (where kind = ?)::int as log_ins,
                    count(*) filter (where kind = ?)::int as applications
             from activity_events
             where at >= ? and at < ?
             group by user_id) per_user
       order by log_ins + applications desc, user_id
       limit ${top === 0 ? 1 : top}`,
      params,
      'all',
      this.em.getTransactionContext(),
    );
    const first = rows[0];
    return {
      totalLogIns: first ? Number(first.total_log_ins) : 0,
      totalApplications: first ? Number(first.total_applications) : 0,
      activeUsers: first ? Number(first.active_users) : 0,
      perUser: (top === 0 ? [] : rows).map((r) => ({
        userId: r.user_id,
        logIns: Number(r.log_ins),
        applications: Number(r.applications),
      })),
    };
  }
}

function validateRange(range: ActivityRange): void {
  for (const field of ['from', 'to'] as const) {
    if (!(range[field] instanceof Date) || Number.isNaN(range[field].getTime())) {
      throw new InvalidArgumentError(field, `"${field}" must be a date-time`);
    }
  }
  if (range.from.getTime() >= range.to.getTime()) {
    throw new InvalidArgumentError('to', '"to" must be after "from"');
  }
  if (range.to.getTime() - range.from.getTime() > ACTIVITY_LIMITS.maxSpanDays * 86_400_000) {
    throw new InvalidArgumentError('to', `the range may span at most ${ACTIVITY_LIMITS.maxSpanDays} days`);
  }
}
