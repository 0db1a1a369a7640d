import { randomBytes } from 'node:crypto';
import { Check, Entity, Enum, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { FeeKind, InterestMethod, RepaymentFrequency } from './loan-product.enums';

/** Product ids look like user ids (`prd_` + 80 random bits in hex): opaque, and told apart by `node(id:)`. */
export const PRODUCT_ID_PREFIX = 'prd_';
export function newProductId(): string {
  return `${PRODUCT_ID_PREFIX}${randomBytes(10).toString('hex')}`;
}

/**
 * A loan product (README "Loan products and financing options"): the terms a lender offers in one currency.
 * Archived products (`active` false) stay, since loans name them; borrowers no longer see them.
 */
@Entity({ tableName: 'loan_products' })
@Index({ name: 'loan_products_created_at_id_idx', properties: ['createdAt', 'id'] })
@Index({ name: 'loan_products_currency_active_idx', properties: ['currency', 'active'] })
@Check({ name: 'loan_products_principal_range', expression: 'min_principal > 0 and min_principal <= max_principal' })
@Check({
  name: 'loan_products_term_range',
  expression: 'min_term_months >= 1 and min_term_months <= max_term_months and max_term_months <= 360',
})
@Check({ name: 'loan_products_fee', expression: '(fee_kind is null) = (fee_value is null)' })
export class LoanProduct {
  [OptionalProps]?: 'description' | 'feeKind' | 'feeValue' | 'active' | 'createdAt' | 'updatedAt' | 'version';

  @PrimaryKey({ type: 'string', length: 32 })
  id: string = newProductId();

  /** Upper-case letters, digits and dashes (`KES-STARTER`); unique. */
  @Property({ type: 'string', length: 40, unique: 'loan_products_code_unique' })
  code!: string;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'string', length: 1000, nullable: true })
  description: string | null = null;

  @Property({ type: 'string', length: 3, columnType: 'char(3)' })
  currency!: string;

  @Property({ type: 'decimal', precision: 12, scale: 2 })
  minPrincipal!: string;

  @Property({ type: 'decimal', precision: 12, scale: 2 })
  maxPrincipal!: string;

  @Property({ type: 'smallint' })
  minTermMonths!: number;

  @Property({ type: 'smallint' })
  maxTermMonths!: number;

  /** Nominal annual rate in percent ("24.00" is 24%). */
  @Property({ type: 'decimal', precision: 6, scale: 2 })
  interestRateApr!: string;

  @Enum({ items: () => InterestMethod })
  interestMethod!: InterestMethod;

  @Enum({ items: () => RepaymentFrequency })
  repaymentFrequency!: RepaymentFrequency;

  @Enum({ items: () => FeeKind, nullable: true })
  feeKind: FeeKind | null = null;

  @Property({ type: 'decimal', precision: 12, scale: 2, nullable: true })
  feeValue: string | null = null;

  @Property({ type: 'boolean', default: true })
  active: boolean = true;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  @Property({ type: 'integer', version: true })
  version!: number;
}
