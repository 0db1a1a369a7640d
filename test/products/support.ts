import { Role } from '../../src/users/role';
import type { TestApp } from '../support/app';
import { tokenFor } from '../support/auth';
import { createBorrower } from '../support/factories';

export const PRODUCT_FIELDS = `id code name description currency minPrincipal { amount currencyCode }
  maxPrincipal { amount currencyCode } minTermMonths maxTermMonths interestRateApr interestMethod
  repaymentFrequency originationFee { kind value } active version`;

export const CREATE_PRODUCT = `mutation ($input: CreateLoanProductInput!) {
  createLoanProduct(input: $input) { loanProduct { ${PRODUCT_FIELDS} } userErrors { field code message } }
}`;

let sequence = 0;
/** A valid createLoanProduct input with a unique code; `overrides` state what the test is about. */
export function productInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    code: `TEST-${Date.now().toString(36).toUpperCase()}-${++sequence}`,
    name: 'Test product',
    currency: 'KES',
    minPrincipal: '1000.00',
    maxPrincipal: '20000.00',
    minTermMonths: 3,
    maxTermMonths: 12,
    interestRateApr: '24.00',
    interestMethod: 'DECLINING_BALANCE',
    repaymentFrequency: 'MONTHLY',
    ...overrides,
  };
}

export interface CreatedProduct {
  id: string;
  code: string;
  version: number;
}

/** Creates a product as the test admin, failing the test on userErrors. */
export async function createProduct(t: TestApp, overrides: Record<string, unknown> = {}): Promise<CreatedProduct> {
  const res = await t.graphql(CREATE_PRODUCT, { input: productInput(overrides) });
  expect(res.body.errors).toBeUndefined();
  const payload = (res.body.data as any).createLoanProduct;
  expect(payload.userErrors).toEqual([]);
  return payload.loanProduct as CreatedProduct;
}

/** A new borrower and the headers of their token. */
export async function borrowerHeaders(t: TestApp): Promise<{ id: string; headers: Record<string, string> }> {
  const user = await createBorrower(t.app.orm.em);
  return { id: user.id, headers: { Authorization: `Bearer ${await tokenFor(user.id, Role.BORROWER)}` } };
}
