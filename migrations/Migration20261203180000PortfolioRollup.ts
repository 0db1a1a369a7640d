import { Migration } from '@mikro-orm/migrations';

/** The UTC day of a repayment, as the rollup and its readers define it (`paid_at` is a timestamptz). */
const PAID_DAY = `(paid_at at time zone 'UTC')::date`;

/**
 * Portfolio rollups kept by PostgreSQL, so that `loanStats { portfolio }` and the `collected` of its daily
 * series read a handful of rows instead of every loan, installment or repayment (README "Statistics"):
 * - `portfolio_totals`, per currency: the outstanding principal of the DISBURSED loans (the sum of
 *   `principal - paid_principal` over their installments) and the amount collected (the sum of the
 *   repayments not reversed, whatever the loan's status);
 * - `repayment_daily_stats`, per (UTC day of `paid_at`, currency): the amount collected that day (repayments
 *   not reversed).
 *
 * Kept as `loan_stats_totals` is (migrations/Migration20261203120000LoanStatsRollup.ts): per-statement
 * triggers with transition tables, in the same transaction as the write, `insert ... on conflict do update`
 * increments (concurrent writers queue on the rollup rows' locks; nothing is lost), rows written in key order,
 * keys whose change nets to zero not written at all (a repayment's bookkeeping that changes no amount locks
 * no rollup row).
 *
 * The outstanding principal depends on two tables: the installments' amounts and the loan's status (only a
 * DISBURSED loan counts). So:
 * - `loan_installments` INSERT/UPDATE/DELETE apply the change of `principal - paid_principal` for the loans
 *   that are DISBURSED. They first lock those loans' rows `for share`, in id order: a concurrent status change
 *   (which holds the row's lock) is waited for, and then seen. (`recordRepayment` and `reverseRepayment` hold
 *   the loan's row `for update` already; their lock covers this one.)
 * - `loans` UPDATE moves a loan's whole outstanding principal in or out when it becomes, or stops being,
 *   DISBURSED (or changes currency): one primary-key range of `loan_installments` per such loan. Its
 *   UPDATE holds the row's lock, so an installment writer waits for it and sees the new status.
 * - `loans` DELETE: a per-row BEFORE trigger takes a DISBURSED loan's outstanding principal out while its
 *   installments still exist (the foreign key's cascade deletes them after the loan row, when the
 *   installments' trigger no longer finds the loan). Loans are seldom deleted (never with repayments: that
 *   foreign key restricts), so a per-row trigger costs nothing in practice.
 * - INSERT into `loans` has no installments yet (the foreign key): nothing to do.
 * - TRUNCATE of `loan_installments` zeroes the outstanding principal, of `repayments` the collected amounts
 *   (truncating `loans` must cascade to both).
 *
 * `repayments` INSERT/UPDATE/DELETE apply the change of the amounts not reversed: a reversal (reversed_at set)
 * takes the amount out of both the totals and the day of its `paid_at`.
 *
 * PAR30 is not kept here: it depends on today. `StatsService` computes it when read, from the partial index
 * `loan_installments_unpaid_due_date_idx` (the unpaid installments due before a date), reading only the loans
 * that have an installment unpaid more than 30 days.
 *
 * The existing rows are back-filled by `portfolio_stats_rebuild()`, which can also repair the rollups after
 * writes that bypassed the triggers. `down()` drops all of it.
 */
export class Migration20261203180000PortfolioRollup extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "portfolio_totals" ("currency" char(3) not null, "outstanding_principal" numeric not null default 0, "collected" numeric not null default 0, constraint "portfolio_totals_pkey" primary key ("currency"));`,
    );
    this.addSql(
      `create table "repayment_daily_stats" ("day" date not null, "currency" char(3) not null, "collected" numeric not null, constraint "repayment_daily_stats_pkey" primary key ("day", "currency"));`,
    );
    this.addSql(
      `create index "repayment_daily_stats_currency_day_idx" on "repayment_daily_stats" ("currency", "day");`,
    );

    // Signed changes per currency (any order, duplicates allowed), to `portfolio_totals`.
    this.addSql(`create function portfolio_apply(currencies bpchar[], outstanding numeric[], collected numeric[])
returns void language plpgsql as $$
begin
  insert into portfolio_totals as s (currency, outstanding_principal, collected)
  select d.currency, sum(d.outstanding), sum(d.collected)
  from unnest(currencies, outstanding, collected) as d(currency, outstanding, collected)
  where d.currency is not null
  group by d.currency
  having sum(d.outstanding) <> 0 or sum(d.collected) <> 0
  order by d.currency
  on conflict (currency) do update
    set outstanding_principal = s.outstanding_principal + excluded.outstanding_principal,
        collected = s.collected + excluded.collected;
end;
$$;`);

    // Signed changes of the amounts collected per (day, currency), to both rollups (days first: key order).
    this.addSql(`create function repayment_stats_apply(days date[], currencies bpchar[], amounts numeric[])
returns void language plpgsql as $$
begin
  insert into repayment_daily_stats as s (day, currency, collected)
  select d.day, d.currency, sum(d.amount)
  from unnest(days, currencies, amounts) as d(day, currency, amount)
  where d.day is not null
  group by d.day, d.currency
  having sum(d.amount) <> 0
  order by d.day, d.currency
  on conflict (day, currency) do update set collected = s.collected + excluded.collected;

  perform portfolio_apply(array_agg(c.currency), array_agg(0::numeric), array_agg(c.amount))
  from (select d.currency, sum(d.amount) as amount from unnest(currencies, amounts) as d(currency, amount)
        group by d.currency having sum(d.amount) <> 0) as c;
end;
$$;`);

    // Installments: the change of principal - paid_principal, for the loans that are DISBURSED.
    this.addSql(`create function portfolio_installments_changed(loan_ids uuid[], amounts numeric[])
returns void language plpgsql as $$
begin
  -- Wait for (and then see) a concurrent status change of these loans; id order, so writers never deadlock.
  perform 1 from loans l where l.id = any(loan_ids) order by l.id for share;
  perform portfolio_apply(array_agg(c.currency), array_agg(c.amount), array_agg(0::numeric))
  from (select l.currency::bpchar as currency, sum(d.amount) as amount
        from unnest(loan_ids, amounts) as d(loan_id, amount)
        join loans l on l.id = d.loan_id and l.status = 'disbursed'
        group by 1 having sum(d.amount) <> 0) as c;
end;
$$;`);
    this.addSql(`create function portfolio_after_installments_insert() returns trigger language plpgsql as $$
begin
  perform portfolio_installments_changed(array_agg(c.loan_id), array_agg(c.amount))
  from (select loan_id, sum(principal - paid_principal) as amount from new_installments group by 1) as c;
  return null;
end;
$$;`);
    this.addSql(`create function portfolio_after_installments_update() returns trigger language plpgsql as $$
begin
  perform portfolio_installments_changed(array_agg(c.loan_id), array_agg(c.amount))
  from (select loan_id, sum(amount) as amount
        from (select loan_id, principal - paid_principal as amount from new_installments
              union all
              select loan_id, -(principal - paid_principal) from old_installments) as changes
        group by 1 having sum(amount) <> 0) as c;
  return null;
end;
$$;`);
    this.addSql(`create function portfolio_after_installments_delete() returns trigger language plpgsql as $$
begin
  perform portfolio_installments_changed(array_agg(c.loan_id), array_agg(c.amount))
  from (select loan_id, -sum(principal - paid_principal) as amount from old_installments group by 1) as c;
  return null;
end;
$$;`);
    this.addSql(`create function portfolio_after_installments_truncate() returns trigger language plpgsql as $$
begin
  update portfolio_totals set outstanding_principal = 0 where outstanding_principal <> 0;
  return null;
end;
$$;`);

    // Loans: a loan that becomes, or stops being, DISBURSED (or changes currency) moves its whole outstanding principal.
    this.addSql(`create function portfolio_after_loans_update() returns trigger language plpgsql as $$
begin
  perform portfolio_apply(array_agg(c.currency), array_agg(c.amount), array_agg(0::numeric))
  from (select m.currency, sum(m.sign * i.amount) as amount
        from (select n.id, n.currency::bpchar as currency, 1 as sign
              from new_loans n join old_loans o on o.id = n.id
              where n.status = 'disbursed' and (o.status <> 'disbursed' or o.currency <> n.currency)
              union all
              select o.id, o.currency::bpchar, -1
              from old_loans o join new_loans n on n.id = o.id
              where o.status = 'disbursed' and (n.status <> 'disbursed' or o.currency <> n.currency)) as m
        cross join lateral (select sum(li.principal - li.paid_principal) as amount
                            from loan_installments li where li.loan_id = m.id) as i
        where i.amount is not null
        group by 1 having sum(m.sign * i.amount) <> 0) as c;
  return null;
end;
$$;`);
    this.addSql(`create function portfolio_before_loan_delete() returns trigger language plpgsql as $$
begin
  if old.status = 'disbursed' then
    perform portfolio_apply(array[old.currency::bpchar], array[-sum(li.principal - li.paid_principal)], array[0::numeric])
    from loan_installments li where li.loan_id = old.id
    having count(*) > 0;
  end if;
  return old;
end;
$$;`);

    // Repayments: the amounts not reversed, per day of paid_at and currency.
    this.addSql(`create function repayment_stats_after_insert() returns trigger language plpgsql as $$
begin
  perform repayment_stats_apply(array_agg(c.day), array_agg(c.currency), array_agg(c.amount))
  from (select ${PAID_DAY} as day, currency::bpchar as currency, sum(amount) as amount
        from new_repayments where reversed_at is null group by 1, 2) as c;
  return null;
end;
$$;`);
    this.addSql(`create function repayment_stats_after_update() returns trigger language plpgsql as $$
begin
  perform repayment_stats_apply(array_agg(c.day), array_agg(c.currency), array_agg(c.amount))
  from (select day, currency, sum(amount) as amount
        from (select ${PAID_DAY} as day, currency::bpchar as currency, amount from new_repayments where reversed_at is null
              union all
              select ${PAID_DAY}, currency::bpchar, -amount from old_repayments where reversed_at is null) as changes
        group by 1, 2 having sum(amount) <> 0) as c;
  return null;
end;
$$;`);
    this.addSql(`create function repayment_stats_after_delete() returns trigger language plpgsql as $$
begin
  perform repayment_stats_apply(array_agg(c.day), array_agg(c.currency), array_agg(c.amount))
  from (select ${PAID_DAY} as day, currency::bpchar as currency, -sum(amount) as amount
        from old_repayments where reversed_at is null group by 1, 2) as c;
  return null;
end;
$$;`);
    this.addSql(`create function repayment_stats_after_truncate() returns trigger language plpgsql as $$
begin
  truncate repayment_daily_stats;
  update portfolio_totals set collected = 0 where collected <> 0;
  return null;
end;
$$;`);

    const triggers: [string, string, string][] = [
      ['loan_installments', 'insert', 'referencing new table as new_installments'],
      ['loan_installments', 'update', 'referencing old table as old_installments new table as new_installments'],
      ['loan_installments', 'delete', 'referencing old table as old_installments'],
    ];
    for (const [table, event, transition] of triggers) {
      this.addSql(
        `create trigger portfolio_after_installments_${event} after ${event} on "${table}" ${transition} for each statement execute function portfolio_after_installments_${event}();`,
      );
    }
    this.addSql(
      `create trigger portfolio_after_installments_truncate after truncate on "loan_installments" for each statement execute function portfolio_after_installments_truncate();`,
    );
    this.addSql(
      `create trigger portfolio_after_loans_update after update on "loans" referencing old table as old_loans new table as new_loans for each statement execute function portfolio_after_loans_update();`,
    );
    this.addSql(
      `create trigger portfolio_before_loan_delete before delete on "loans" for each row execute function portfolio_before_loan_delete();`,
    );
    for (const event of ['insert', 'update', 'delete']) {
      const transition =
        event === 'insert'
          ? 'referencing new table as new_repayments'
          : event === 'update'
            ? 'referencing old table as old_repayments new table as new_repayments'
            : 'referencing old table as old_repayments';
      this.addSql(
        `create trigger repayment_stats_after_${event} after ${event} on "repayments" ${transition} for each statement execute function repayment_stats_after_${event}();`,
      );
    }
    this.addSql(
      `create trigger repayment_stats_after_truncate after truncate on "repayments" for each statement execute function repayment_stats_after_truncate();`,
    );

    // Recomputes both rollups. SHARE mode lets readers in and keeps writers out until the caller's
    // transaction ends, so no write can fall between the scans and the triggers.
    this.addSql(`create function portfolio_stats_rebuild() returns void language plpgsql as $$
begin
  lock table loans, loan_installments, repayments in share mode;
  delete from repayment_daily_stats;
  delete from portfolio_totals;
  insert into repayment_daily_stats (day, currency, collected)
  select ${PAID_DAY}, currency, sum(amount) from repayments where reversed_at is null group by 1, 2;
  insert into portfolio_totals (currency, outstanding_principal, collected)
  select currency, sum(outstanding), sum(collected)
  from (select l.currency::bpchar as currency, sum(i.principal - i.paid_principal) as outstanding, 0::numeric as collected
        from loans l join loan_installments i on i.loan_id = l.id
        where l.status = 'disbursed' group by 1
        union all
        select currency, 0, sum(collected) from repayment_daily_stats group by 1) as t
  group by currency;
end;
$$;`);
    // The back-fill: creating the triggers above already keeps writers out until this migration commits.
    this.addSql(`select portfolio_stats_rebuild();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists repayment_stats_after_truncate on "repayments";`);
    this.addSql(`drop trigger if exists repayment_stats_after_delete on "repayments";`);
    this.addSql(`drop trigger if exists repayment_stats_after_update on "repayments";`);
    this.addSql(`drop trigger if exists repayment_stats_after_insert on "repayments";`);
    this.addSql(`drop trigger if exists portfolio_before_loan_delete on "loans";`);
    this.addSql(`drop trigger if exists portfolio_after_loans_update on "loans";`);
    this.addSql(`drop trigger if exists portfolio_after_installments_truncate on "loan_installments";`);
    this.addSql(`drop trigger if exists portfolio_after_installments_delete on "loan_installments";`);
    this.addSql(`drop trigger if exists portfolio_after_installments_update on "loan_installments";`);
    this.addSql(`drop trigger if exists portfolio_after_installments_insert on "loan_installments";`);
    this.addSql(`drop function if exists portfolio_stats_rebuild();`);
    this.addSql(`drop function if exists repayment_stats_after_truncate();`);
    this.addSql(`drop function if exists repayment_stats_after_delete();`);
    this.addSql(`drop function if exists repayment_stats_after_update();`);
    this.addSql(`drop function if exists repayment_stats_after_insert();`);
    this.addSql(`drop function if exists portfolio_before_loan_delete();`);
    this.addSql(`drop function if exists portfolio_after_loans_update();`);
    this.addSql(`drop function if exists portfolio_after_installments_truncate();`);
    this.addSql(`drop function if exists portfolio_after_installments_delete();`);
    this.addSql(`drop function if exists portfolio_after_installments_update();`);
    this.addSql(`drop function if exists portfolio_after_installments_insert();`);
    this.addSql(`drop function if exists portfolio_installments_changed(uuid[], numeric[]);`);
    this.addSql(`drop function if exists repayment_stats_apply(date[], bpchar[], numeric[]);`);
    this.addSql(`drop function if exists portfolio_apply(bpchar[], numeric[], numeric[]);`);
    this.addSql(`drop table if exists "repayment_daily_stats";`);
    this.addSql(`drop table if exists "portfolio_totals";`);
  }
}
