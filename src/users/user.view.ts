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

/** A created user as an idempotent `createUser` keeps it (JSON, dates as ISO strings), to replay it as it was. */
export function userViewToJson(user: UserView): string {
  const view: Record<keyof UserView, unknown> = {
    id: user.id,
    firstName: user.firstName,
    lastName: user.lastName,
    email: user.email,
    role: user.role,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
  return JSON.stringify(view);
}

export function userViewFromJson(text: string): UserView {
  const view = JSON.parse(text) as Omit<UserView, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };
  return { ...view, createdAt: new Date(view.createdAt), updatedAt: new Date(view.updatedAt) };
}
