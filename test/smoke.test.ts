import { startTestApp, type TestApp } from './support/app';
import { countQueries, createLoan } from './support/factories';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ SEED: 'true' });
});
afterAll(() => t.close());

test('health and seeded loans', async () => {
  await t.http.get('/health').expect(200, { status: 'ok' });
  const res = await t.graphql('{ loans(first: 10) { totalCount } }');
  expect(res.body.data).toEqual({ loans: { totalCount: 5 } });
  await createLoan(t.app.orm.em);
  const { queries } = await countQueries(t.app.orm.em, () => t.graphql('{ loans(first: 100) { edges { node { borrower { id } } } } }'));
  expect(queries.length).toBeLessThanOrEqual(3);
});
