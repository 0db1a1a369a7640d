import fs from 'node:fs';
import path from 'node:path';
import { Kind, parse, print, type OperationDefinitionNode } from 'graphql';
import { startTestApp, type TestApp } from './support/app';

/**
 * The README's GraphQL examples, read from README.md itself and run in order against a seeded app:
 * an API change that breaks them fails here, and each is also a typed document for clients.
 */
const root = path.resolve(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

interface Example {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
}

function examples(): Example[] {
  const found: Example[] = [];
  // ```graphql blocks: named operations, variables in a `# variables: {...}` comment after each.
  for (const [, block] of readme.matchAll(/```graphql\n([\s\S]*?)```/g)) {
    const document = parse(block);
    const variableComments = [...block.matchAll(/^# variables: (.*)$/gm)].map(
      (m) => JSON.parse(m[1]) as Record<string, unknown>,
    );
    document.definitions
      .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
      .forEach((operation) => {
        const text = print(operation);
        const variables = operation.variableDefinitions?.length ? variableComments.shift() : undefined;
        found.push({ name: operation.name?.value ?? '(anonymous)', query: text, variables });
      });
  }
  // curl bodies sent to /graphql.
  for (const [, body] of readme.matchAll(/curl -s http:\/\/localhost:8000\/graphql[^\n]*?-d '(\{[\s\S]*?\})'/g)) {
    const json = JSON.parse(body) as { query: string; variables?: Record<string, unknown> };
    const operation = parse(json.query).definitions[0] as OperationDefinitionNode;
    found.push({ name: operation.name?.value ?? '(anonymous)', query: json.query, variables: json.variables });
  }
  return found;
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ SEED: 'true' });
});
afterAll(() => t.close());

describe('README examples', () => {
  const all = examples();

  test('are found, and every one is a named operation of client/operations (typed documents)', () => {
    expect(all.map((e) => e.name)).toEqual([
      'LoanHistoryExample',
      'ActivityExample',
      'CreateApiKeyExample',
      'ApiKeysExample',
      'Loans',
      'Stats',
      'Borrowers',
      'LoanProductsExample',
      'FinancingOptionsExample',
      'CreateLoanProductExample',
      'UpdateLoanProductExample',
      'CreateLoanUnderProductExample',
      'ArchiveLoanProductExample',
      'DisburseSeedLoanExample',
      'RecordRepaymentExample',
      'LoanRepaymentsExample',
      'ReverseRepaymentExample',
      'PortfolioExample',
      'DashboardExample',
      'NotificationsExample',
      'MarkNotificationsReadExample',
      'CreateWebhookEndpointExample',
      'WebhookDeliveriesExample',
      'SignUpExample',
      'LogInExample',
      'MeExample',
      'CreateLoanExample',
      'ApproveSeedLoan',
    ]);
    const operations = fs
      .readdirSync(path.join(root, 'client/operations'))
      .map((file) => fs.readFileSync(path.join(root, 'client/operations', file), 'utf8'))
      .join('\n');
    const documented = new Set(
      parse(operations).definitions.flatMap((d) =>
        d.kind === Kind.OPERATION_DEFINITION && d.name ? [d.name.value] : [],
      ),
    );
    for (const example of all) expect(documented).toContain(example.name);
  });

  /**
   * Answers by example name: a variable written `"$Example.path.to.value"` is that value of its answer;
   * `"$NOW-30d"` / `"$NOW+1d"` is the instant that many days from now (windows that must cover today).
   */
  const answers = new Map<string, unknown>();
  const fillIn = (value: unknown): unknown => {
    const relative = typeof value === 'string' ? /^\$NOW([+-]\d+)d$/.exec(value) : null;
    if (relative) return new Date(Date.now() + Number(relative[1]) * 86_400_000).toISOString();
    if (typeof value === 'string' && value.startsWith('$')) {
      const [name, ...path] = value.slice(1).split('.');
      const found = path.reduce<unknown>(
        (node, key) => (node as Record<string, unknown> | null | undefined)?.[key],
        answers.get(name),
      );
      if (found === undefined) throw new Error(`README variable ${value}: no such value in an earlier answer`);
      return found;
    }
    if (Array.isArray(value)) return value.map(fillIn);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, fillIn(v)]));
    }
    return value;
  };

  test.each(all.map((e) => [e.name, e] as const))(
    '%s answers data without errors or userErrors',
    async (_name, example) => {
      // As the README's curl does: with the token of a logged-in admin (the test admin's); signUp and
      // logIn need none, and send none.
      const anonymous = /^\s*mutation (SignUpExample|LogInExample)/.test(example.query);
      const variables = fillIn(example.variables) as Record<string, unknown> | undefined;
      const res = await t.graphql(example.query, variables, anonymous ? { Authorization: '' } : {});
      answers.set(example.name, res.body.data);
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      const text = JSON.stringify(res.body.data);
      expect(text).not.toMatch(/"userErrors":\[\{/);
      expect(res.body.data).not.toBeNull();
    },
  );

  test("ActivityExample's window covers today: run again, it counts the examples' log-in and applications", async () => {
    const example = all.find((e) => e.name === 'ActivityExample')!;
    const res = await t.graphql(example.query, fillIn(example.variables) as Record<string, unknown>);
    expect(res.body.errors).toBeUndefined();
    const summary = (res.body.data as { activitySummary: { totalLogIns: number; totalApplications: number } })
      .activitySummary;
    // LogInExample logged in once; CreateLoanExample and CreateLoanUnderProductExample applied for loans.
    expect(summary.totalLogIns).toBeGreaterThanOrEqual(1);
    expect(summary.totalApplications).toBeGreaterThanOrEqual(2);
  });
});
