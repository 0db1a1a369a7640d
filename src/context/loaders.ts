import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Page } from '../common/cursor';
import {
  countLoansByBorrower,
  findLoanPagesByBorrower,
  type LoanFilterData,
  type LoanListArgs,
} from '../loans/loan.queries';
import { findUserViews } from '../users/user.queries';
import type { UserView } from '../users/user.view';
import type { LoanView } from '../loans/loan.view';
import { LoanEvent } from '../loans/loan-event.entity';
import { findProductViews } from '../products/loan-product.queries';
import type { LoanProductView } from '../products/loan-product.view';
import {
  countRepaymentsByLoans,
  findInstallmentsByLoans,
  findRepaymentPagesByLoans,
  type InstallmentView,
  type RepaymentListArgs,
  type RepaymentView,
} from '../repayments/repayment.queries';

/**
 * Per-request batching: one SQL statement per relation per level of a query, whatever the page size.
 * Built by `createLoaders` for each request and never shared between requests (their caches hold
 * request-scoped entities and must not leak one caller's data to another).
 */
export interface Loaders {
  /** Users as plain rows (no entities): borrowers of a page of loans, actors, `activitySummary` users. */
  userById: DataLoader<string, UserView | null>;
  /** A page of a borrower's loans; one loader (and so one batch) per distinct argument set. */
  loanPageByBorrower(args: LoanListArgs): DataLoader<string, Page<LoanView>>;
  loanCountByBorrower(filter: LoanFilterData | null | undefined): DataLoader<string, number>;
  /** Products as plain rows: `Loan.product` of a page of loans in one statement. */
  productById: DataLoader<string, LoanProductView | null>;
  /** Audit trails of many loans in one statement, oldest event first. */
  loanEventsByLoan: DataLoader<string, LoanEvent[]>;
  /** Repayment schedules of many loans in one statement (schedule, outstanding, nextInstallment, daysPastDue). */
  installmentsByLoan: DataLoader<string, InstallmentView[]>;
  /** A page of a loan's repayments; one loader (one batch) per distinct argument set, as `loanPageByBorrower`. */
  repaymentPageByLoan(args: RepaymentListArgs): DataLoader<string, Page<RepaymentView>>;
  repaymentCountByLoan: DataLoader<string, number>;
}

export function createLoaders(em: EntityManager): Loaders {
  const memo = <T>(cache: Map<string, T>, key: unknown, make: () => T): T => {
    const k = JSON.stringify(key ?? null);
    let value = cache.get(k);
    if (!value) {
      value = make();
      cache.set(k, value);
    }
    return value;
  };
  const pageLoaders = new Map<string, DataLoader<string, Page<LoanView>>>();
  const countLoaders = new Map<string, DataLoader<string, number>>();
  const repaymentPageLoaders = new Map<string, DataLoader<string, Page<RepaymentView>>>();

  const loaders: Loaders = {
    userById: new DataLoader(async (ids) => {
      const users = await findUserViews(em, ids);
      const byId = new Map(users.map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    productById: new DataLoader(async (ids) => {
      const products = await findProductViews(em, ids);
      const byId = new Map(products.map((p) => [p.id, p]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    loanEventsByLoan: new DataLoader(async (loanIds) => {
      const events = await em.find(LoanEvent, { loan: { $in: [...loanIds] } }, { orderBy: { id: 'asc' } });
      const byLoan = new Map<string, LoanEvent[]>(loanIds.map((id) => [id, []]));
      for (const event of events) byLoan.get(event.loan.id)?.push(event);
      return loanIds.map((id) => byLoan.get(id) ?? []);
    }),
    installmentsByLoan: new DataLoader((loanIds) => findInstallmentsByLoans(em, loanIds)),
    repaymentCountByLoan: new DataLoader((loanIds) => countRepaymentsByLoans(em, loanIds)),
    repaymentPageByLoan: (args) =>
      memo(
        repaymentPageLoaders,
        { first: args.first ?? null, after: args.after ?? null },
        () =>
          new DataLoader((loanIds) =>
            findRepaymentPagesByLoans(em, loanIds, args, (id) => loaders.repaymentCountByLoan.load(id)),
          ),
      ),
    loanCountByBorrower: (filter) =>
      memo(countLoaders, filter, () => new DataLoader((ids) => countLoansByBorrower(em, ids, filter))),
    loanPageByBorrower: (args) =>
      memo(
        pageLoaders,
        args,
        () =>
          new DataLoader((ids) =>
            findLoanPagesByBorrower(em, ids, args, (id) => loaders.loanCountByBorrower(args.filter).load(id)),
          ),
      ),
  };
  return loaders;
}
