import { toUserErrors, type UserErrorData } from '../common/error-mapping';

const inInput = (field: string) => ['input', field];

/**
 * Runs a mutation's work and shapes its payload: `{ [key]: result, userErrors: [] }` on success,
 * `{ [key]: null, userErrors }` for problems the caller can fix. Anything else propagates as a
 * top-level error (mapped by the error middleware).
 */
export async function mutationPayload<K extends string, T>(
  key: K,
  work: () => Promise<T>,
  fieldPath: (field: string) => string[] = inInput,
): Promise<{ [P in K]: T | null } & { userErrors: UserErrorData[] }> {
  try {
    const value = await work();
    return { [key]: value, userErrors: [] } as { [P in K]: T | null } & { userErrors: UserErrorData[] };
  } catch (error) {
    const userErrors = toUserErrors(error, fieldPath);
    if (!userErrors) throw error;
    return { [key]: null, userErrors } as { [P in K]: T | null } & { userErrors: UserErrorData[] };
  }
}
