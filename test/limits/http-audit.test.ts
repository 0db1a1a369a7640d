import { auditServer } from 'graphql-http';
import { listen, startTestApp, type TestApp } from '../support/app';

/**
 * The GraphQL-over-HTTP compliance audit of the `graphql-http` package (its 61 checks), against the real
 * app in development. Errors: none. Warnings: only the three README "Limits" explains (a parse,
 * validation or variable failure sent as `application/json` answers 400, not 200); a new one fails here
 * until it is fixed or explained.
 */
let t: TestApp;
let url: string;
beforeAll(async () => {
  t = await startTestApp();
  url = await listen(t.app);
});
afterAll(() => t.close());

test('graphql-http server audit: 0 errors, only the documented warnings', async () => {
  const results = await auditServer({ url: `${url}/graphql` });
  expect(results.length).toBeGreaterThanOrEqual(61);
  const failures = results.flatMap((r) => (r.status === 'error' ? [`${r.id} ${r.name}: ${r.reason}`] : []));
  expect(failures).toEqual([]);
  const warnings = results.filter((r) => r.status === 'warn').map((r) => r.id);
  expect(warnings.sort()).toEqual(['572B', '7B9B', 'FDE2']);
});
