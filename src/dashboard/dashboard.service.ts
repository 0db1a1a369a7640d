import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../auth/viewer';
import { systemClock, utcToday, type Clock } from '../common/clock';
import { moneyText } from '../repayments/allocation';

/** An amount in one currency, with the currency's minor units. */
export interface CurrencyAmount {
  currency: string;
  amount: string;
}

/** A borrower's own figures (README "Borrower dashboard"). */
export interface DashboardData {
  /** Their DISBURSED loans, with or without a schedule. */
  activeLoans: number;
  /** What their DISBURSED loans still owe (principal, interest and fees), per currency owed. */
  totalOutstanding: CurrencyAmount[];
  /** The oldest unpaid installment over those loans: its due date and what is left of it. */
  nextPayment: { dueDate: string; amount: CurrencyAmount } | null;
  /** What is left of their installments due before today, per currency (none: empty). */
  overdueAmount: CurrencyAmount[];
}

interface DashboardRow {
  active_loans: number;
  by_currency: { currency: string; outstanding: string; overdue: string }[];
  next_payment: { dueDate: string; amount: string; currency: string } | null;
}

/**
 * ONE statement: the borrower's DISBURSED loans (`loans_borrower_created_at_id_idx`), their installments not
 * fully paid (primary key ranges), summed per currency, and
 * the first of them by due date (ties: currency, then the loan applied for first, then installment number).
 */
const DASHBOARD_SQL = `with mine as (
  select l.id, l.currency::bpchar as currency, l.created_at from loans as l where l.borrower_id = ? and l.status = 'disbursed'
), owed as (
  select m.currency, m.created_at, i.loan_id, i.number, i.due_date,
         i.total - i.paid_principal - i.paid_interest - i.paid_fee as remaining
  from mine as m join loan_installments as i on i.loan_id = m.id
  where i.paid_principal + i.paid_interest + i.paid_fee < i.total
)
select
  (select count(*)::int from mine) as active_loans,
  (select coalesce(json_agg(json_build_object('currency', c.currency, 'outstanding', c.outstanding::text, 'overdue', c.overdue::text)
                            order by c.currency), '[]'::json)
   from (select currency, sum(remaining) as outstanding, coalesce(sum(remaining) filter (where due_date < ?::date), 0) as overdue
         from owed group by currency) as c) as by_currency,
  (select json_build_object('dueDate', to_char(o.due_date, 'YYYY-MM-DD'), 'amount', o.remaining::text, 'currency', o.currency)
   from owed as o order by o.due_date, o.currency, o.created_at, o.loan_id, o.number limit 1) as next_payment`;

/**
 * The borrower dashboard (FinApp's): only ever the viewer's own loans. Money is per currency, never added
 * across currencies: a borrower may owe in several.
 */
export class DashboardService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The dashboard of `userId` when that is the viewer (a signed-in user); `null` for anyone else. */
  async forUser(userId: string): Promise<DashboardData | null> {
    if (this.viewer.kind !== 'user' || this.viewer.userId !== userId) return null;
    const [row] = await this.em
      .getConnection()
      .execute<DashboardRow[]>(DASHBOARD_SQL, [userId, utcToday(this.clock)], 'all', this.em.getTransactionContext());
    const money = (currency: string, value: string): CurrencyAmount => {
      const code = currency.trim();
      return { currency: code, amount: moneyText(value, code) };
    };
    return {
      activeLoans: row.active_loans,
      totalOutstanding: row.by_currency.map((c) => money(c.currency, c.outstanding)),
      overdueAmount: row.by_currency
        .filter((c) => !/^0(\.0*)?$/.test(c.overdue))
        .map((c) => money(c.currency, c.overdue)),
      nextPayment: row.next_payment && {
        dueDate: row.next_payment.dueDate,
        amount: money(row.next_payment.currency, row.next_payment.amount),
      },
    };
  }
}
