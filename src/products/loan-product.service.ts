import { OptimisticLockError, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { isAdmin, requireAdmin, type Viewer } from '../auth/viewer';
import { isCurrencyCode } from '../common/currency';
import type { Page } from '../common/cursor';
import { parseDecimal, type Decimal } from '../common/decimal';
import {
  BusinessRuleError,
  ForbiddenError,
  InvalidArgumentError,
  NotFoundError,
  UnauthenticatedError,
  UserErrorCode,
  ValidationError,
} from '../common/errors';
import { minorUnitsOf } from '../schedule/calculator';
import { financingOptionsFor, utcDate, type FinancingOption } from './financing';
import { LoanProduct } from './loan-product.entity';
import {
  findActiveProductsIn,
  findProductPage,
  findProductViews,
  isProductId,
  type LoanProductListArgs,
} from './loan-product.queries';
import type { LoanProductView } from './loan-product.view';
import { PRODUCT_LIMITS, validateProductFields, type ProductFieldsCommand } from './loan-product.validation';

export interface FinancingQuery {
  amount: unknown;
  currency: unknown;
  termMonths?: number | null;
}

/**
 * Loan products: anyone signed in reads the active ones; admins also see archived ones and create, update
 * and archive them. `financingOptions` prices a wanted amount under every fitting product.
 */
export class LoanProductService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
    /** The clock that dates financing offers (their schedules start today, UTC); tests pass a fixed one. */
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** `null` for unknown ids, and for archived products unless the caller is an admin. */
  async findById(id: string): Promise<LoanProductView | null> {
    this.requireSignedIn();
    const product = (await findProductViews(this.em, [id]))[0] ?? null;
    if (!product || (!product.active && !isAdmin(this.viewer))) return null;
    return product;
  }

  list(args: LoanProductListArgs): Promise<Page<LoanProductView>> {
    this.requireSignedIn();
    if (args.includeArchived && !isAdmin(this.viewer)) {
      throw new ForbiddenError('only administrators may list archived products', 'includeArchived');
    }
    return findProductPage(this.em, args);
  }

  async create(command: ProductFieldsCommand): Promise<LoanProduct> {
    requireAdmin(this.viewer);
    const fields = validateProductFields(command);
    return this.saving(async (em) => {
      const product = em.create(LoanProduct, fields as Required<typeof fields>);
      await em.flush();
      return product;
    });
  }

  async update(id: string, expectedVersion: number | null | undefined, command: ProductFieldsCommand) {
    requireAdmin(this.viewer);
    return this.saving(async (em) => {
      const product = isProductId(id) ? await em.findOne(LoanProduct, { id }) : null;
      if (!product) throw new NotFoundError('LoanProduct', id, 'id');
      if (expectedVersion !== null && expectedVersion !== undefined && product.version !== expectedVersion) {
        throw staleVersion(`the product is at version ${product.version}, not ${expectedVersion}: read it again`);
      }
      if (command.currency !== undefined && command.currency !== product.currency) {
        // Loans name the product: its currency is part of what they were priced in.
        throw new ValidationError([
          { field: 'currency', code: UserErrorCode.INVALID, message: 'cannot change: create a new product' },
        ]);
      }
      em.assign(product, validateProductFields({ ...command, currency: undefined }, product));
      await em.flush();
      return product;
    });
  }

  /** Idempotent: archiving an archived product changes nothing. */
  async archive(id: string): Promise<LoanProduct> {
    requireAdmin(this.viewer);
    return this.saving(async (em) => {
      const product = isProductId(id) ? await em.findOne(LoanProduct, { id }) : null;
      if (!product) throw new NotFoundError('LoanProduct', id, 'id');
      product.active = false;
      await em.flush();
      return product;
    });
  }

  /** Offers for an amount (README "Loan products and financing options"); BAD_USER_INPUT for a malformed one. */
  async financingOptions(query: FinancingQuery): Promise<FinancingOption[]> {
    this.requireSignedIn();
    const currency = typeof query.currency === 'string' ? query.currency.trim().toUpperCase() : '';
    if (!/^[A-Z]{3}$/.test(currency) || !isCurrencyCode(currency)) {
      throw new InvalidArgumentError('input.amount.currencyCode', 'must be an ISO 4217 currency code');
    }
    const amount: Decimal | null = parseDecimal(query.amount);
    const places = Math.min(minorUnitsOf(currency), PRODUCT_LIMITS.scale);
    if (amount === null || amount.lte(0) || amount.decimalPlaces() > places) {
      throw new InvalidArgumentError(
        'input.amount.amount',
        `must be greater than 0 with at most ${places} decimal places in ${currency}`,
      );
    }
    const term = query.termMonths;
    if (
      term !== null &&
      term !== undefined &&
      (term < PRODUCT_LIMITS.minTermMonths || term > PRODUCT_LIMITS.maxTermMonths)
    ) {
      throw new InvalidArgumentError(
        'input.termMonths',
        `must be between ${PRODUCT_LIMITS.minTermMonths} and ${PRODUCT_LIMITS.maxTermMonths}`,
      );
    }
    const products = await findActiveProductsIn(this.em, currency);
    return financingOptionsFor(products, amount.toFixed(places), term ?? null, utcDate(this.now()));
  }

  private requireSignedIn(): void {
    if (this.viewer.kind === 'anonymous') throw new UnauthenticatedError();
  }

  /** A taken code is a userError, decided by the unique index (race-safe); a lost race is STALE_VERSION. */
  private async saving(work: (em: EntityManager) => Promise<LoanProduct>): Promise<LoanProduct> {
    try {
      return await this.em.transactional(work);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new ValidationError([
          { field: 'code', code: UserErrorCode.TAKEN, message: 'is already used by another product' },
        ]);
      }
      if (error instanceof OptimisticLockError)
        throw staleVersion('the product was changed by another request: read it again');
      throw error;
    }
  }
}

function staleVersion(message: string): BusinessRuleError {
  return new BusinessRuleError({ field: 'expectedVersion', code: UserErrorCode.STALE_VERSION, message });
}
