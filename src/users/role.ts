/** Closed set of roles. Values are what the database stores; GraphQL exposes the keys. */
export enum Role {
  BORROWER = 'borrower',
  ADMIN = 'admin',
}
