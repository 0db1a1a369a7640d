import type { User } from './user.entity';

/**
 * A user as reads hand it to GraphQL: plain data from a row (no entity, no identity map, no change
 * tracking; see conventions "hot read paths read rows"). Entities fit this shape too, so a mutation's
 * result is answered as it is.
 */
export type UserView = Pick<User, 'id' | 'firstName' | 'lastName' | 'email' | 'role' | 'createdAt' | 'updatedAt'>;

/** The properties a read selects (MikroORM maps the columns to these names and the timestamps to Dates). */
export const USER_VIEW_PROPERTIES = [
  'id',
  'firstName',
  'lastName',
  'email',
  'role',
  'createdAt',
  'updatedAt',
] as const satisfies readonly (keyof UserView)[];
