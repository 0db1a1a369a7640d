import { buildCases, checkFloor, CheckError, type Answer, type CaseContext } from '../../scripts/bench-cases';
import { benchResult, docsText, reportSections, type RunRecord } from '../../scripts/bench-output';
import { casesTable, floorTable, summarise, targetRows, type CaseRounds } from '../../scripts/bench-report';
import type { LoadResult } from '../../scripts/bench-load';

// bench-output formats docs/performance.md with prettier, whose CommonJS entry makes a dynamic import jest's VM
// refuses; writeDocs is not under test here.
jest.mock('prettier', () => ({}));

/** The bench's report with and without the stack floor (scripts/stack-floor.ts): context beside gateway ÷ raw. */
const result = (rps: number, p50 = 10, p99 = 20): LoadResult => ({
  rps,
  p50,
  p99,
  ok: rps * 8,
  failed: 0,
  failures: {},
  seconds: 8,
});

const rounds = (key: string, gateway: number[], raw: number[], floor?: number[]): CaseRounds => ({
  key,
  name: `case ${key}`,
  loans: 10_000,
  gateway: gateway.map((rps) => result(rps)),
  raw: raw.map((rps) => result(rps)),
  ...(floor && { floor: floor.map((rps) => result(rps, 5, 9)) }),
});

const run = (cases: CaseRounds[]): RunRecord => ({
  date: new Date('2026-12-03T12:00:00Z'),
  minutes: 3,
  commit: 'abc1234',
  machine: {
    cpu: 'test CPU',
    cpus: 2,
    node: 'v20.0.0',
    serverNode: { version: '22.0.0', source: 'image' },
    nodeFlags: ['--max-old-space-size=384'],
    postgres: '16.0',
    database: 'test',
    pinned: true,
  },
  settings: {
    seconds: 8,
    warmupSeconds: 2,
    rounds: 3,
    connections: 32,
    loans: [100, 10_000, 1_000_000],
    only: null,
    secondary: false,
    docs: false,
    budgetMinutes: 30,
    floor: true,
  },
  sizes: { small: 100, medium: 10_000, large: 1_000_000 },
  statsSources: {},
  checkFailures: [],
  cases,
  stream: undefined,
  keyset: undefined,
  rssTargetMb: 50,
});

type CaseJson = Record<string, unknown> & { rounds: Record<string, unknown>[] };
const casesOf = (r: RunRecord) => (benchResult(r) as { cases: Record<string, CaseJson> }).cases;
/** A Markdown table's lines as their cells. */
const cellsOf = (table: string) =>
  table.split('\n').map((line) =>
    line
      .split('|')
      .map((cell) => cell.trim())
      .filter(Boolean),
  );

describe('bench report: the stack floor', () => {
  // gql_loans with the floor (floor ÷ raw 0.5, gateway ÷ floor 0.5); health without. The raw rounds differ, so a
  // floor round paired with another round's raw run shows in the per-round range (50/100, 52/80, 48/125).
  const withFloor = [rounds('gql_loans', [25, 26, 24], [100, 80, 125], [50, 52, 48]), rounds('health', [60], [100])];

  it('summarises floor ÷ raw, its per-round range and gateway ÷ floor for the cases measured with it', () => {
    const [gql, health] = withFloor.map(summarise);
    expect(gql.floor).toEqual({
      side: { rps: 50, p50: 5, p99: 9, failed: 0, failures: {} },
      ratio: 0.5,
      ratioRange: [0.384, 0.65],
      gatewayShare: 0.5,
    });
    expect(gql.ratio).toBe(0.25);
    expect(health.floor).toBeUndefined();
  });

  it('adds a floor ÷ raw column to the main table ("-" where there is no floor) and a floor table', () => {
    const summaries = withFloor.map(summarise);
    const main = cellsOf(casesTable(summaries));
    expect(main[0].slice(4, 8)).toEqual(['gateway ÷ raw', 'per-round range', 'floor ÷ raw', 'gateway p50 / p99 ms']);
    expect(main[2].slice(0, 7)).toEqual(['case gql_loans', '10,000', '25.0', '100', '0.25', '0.19–0.33', '0.50']);
    expect(main[3].slice(0, 7)).toEqual(['case health', '10,000', '60.0', '100', '0.60', '0.60–0.60', '-']);
    const floor = cellsOf(floorTable(summaries));
    expect(floor[0]).toEqual([
      'case',
      'loans',
      'floor req/s',
      'raw req/s',
      'floor ÷ raw',
      'per-round range',
      'gateway ÷ floor',
      'floor p50 / p99 ms',
      'failed (floor)',
    ]);
    // gql_loans only: health has no floor rounds.
    expect(floor.slice(2)).toEqual([
      ['case gql_loans', '10,000', '50.0', '100', '0.50', '0.38–0.65', '0.50', '5.00 / 9.00', '0'],
    ]);
    const sections = reportSections(run(withFloor));
    expect(sections.some((s) => s.startsWith('## Stack floor ÷ raw reference (context, not a target)'))).toBe(true);
  });

  it('puts the floor in BENCH_RESULT for those cases only, and adds no target', () => {
    const cases = casesOf(run(withFloor));
    expect(cases.gql_loans).toMatchObject({
      ratio: 0.25,
      floor: { rps: 50, p50_ms: 5, p99_ms: 9, failed: 0 },
      floor_ratio: 0.5,
      floor_ratio_range: [0.384, 0.65],
      gateway_vs_floor: 0.5,
    });
    expect(cases.gql_loans.rounds[0]).toEqual({
      gateway_rps: 25,
      raw_rps: 100,
      gateway_p50_ms: 10,
      raw_p50_ms: 10,
      floor_rps: 50,
      floor_p50_ms: 5,
    });
    expect(Object.keys(cases.health)).not.toContain('floor');
    expect(Object.keys(cases.health.rounds[0])).not.toContain('floor_rps');
    const targets = targetRows(withFloor.map(summarise), [], undefined, 50);
    expect(targets.some((t) => /floor/i.test(t.what))).toBe(false);
    expect(docsText(run(withFloor), reportSections(run(withFloor)))).toContain('**Stack floor:**');
  });

  it('reports as before when no case has floor rounds (BENCH_FLOOR=0)', () => {
    const without = [rounds('gql_loans', [25, 26, 24], [100, 100, 100]), rounds('health', [60], [100])];
    const summaries = without.map(summarise);
    expect(summaries.every((s) => s.floor === undefined)).toBe(true);
    expect(cellsOf(casesTable(summaries))[0]).toEqual([
      'case',
      'loans',
      'gateway req/s',
      'raw req/s',
      'gateway ÷ raw',
      'per-round range',
      'gateway p50 / p99 ms',
      'raw p50 / p99 ms',
      'failed (gateway / raw)',
    ]);
    expect(floorTable(summaries)).toBe('');
    const r = { ...run(without), settings: { ...run(without).settings, floor: false } };
    expect(reportSections(r).some((s) => s.includes('Stack floor'))).toBe(false);
    const cases = casesOf(r);
    expect(Object.keys(cases.gql_loans)).toEqual(['loans', 'ratio', 'ratio_range', 'gateway', 'raw', 'rounds']);
    expect(Object.keys(cases.gql_loans.rounds[0])).toEqual(['gateway_rps', 'raw_rps', 'gateway_p50_ms', 'raw_p50_ms']);
    const docs = docsText(r, reportSections(r));
    expect(docs).not.toContain('Stack floor');
    expect(docs).toContain('gateway and raw reference interleaved (round 1 gateway, round 1 raw, round 2 gateway...)');
  });
});

describe('bench: the stack floor check', () => {
  const gqlLoans = buildCases({ small: 100, medium: 10_000, large: 1_000_000 }).find((c) => c.key === 'gql_loans')!;
  const ctx = { sql: undefined, token: 't', loanId: 'l' } as unknown as CaseContext;
  const answer =
    (json: unknown, status = 200) =>
    async (): Promise<Answer> => ({ status, headers: new Headers(), json });
  const data = { loans: { edges: [{ cursor: 'c', node: { id: '1', amount: { amount: '10.00' } } }] } };

  it('serves only the three GraphQL reads', () => {
    const cases = buildCases({ small: 100, medium: 10_000, large: 1_000_000 });
    expect(cases.filter((c) => c.floor).map((c) => c.key)).toEqual(['gql_loans', 'gql_loan', 'gql_users']);
  });

  it('compares data only (the raw reference also has extensions.cost), and names the first difference', async () => {
    const raw = answer({ data, extensions: { cost: { requestedQueryCost: 321 } } });
    await expect(checkFloor(gqlLoans, ctx, raw, answer({ data }))).resolves.toBeUndefined();
    const other = { loans: { edges: [{ cursor: 'c', node: { id: '1', amount: { amount: '10' } } }] } };
    const failed = checkFloor(gqlLoans, ctx, raw, answer({ data: other }));
    await expect(failed).rejects.toBeInstanceOf(CheckError);
    await expect(failed).rejects.toThrow(
      'gql_loans (stack floor): data differs at $.data.loans.edges[0].node.amount.amount: floor "10", raw reference "10.00"',
    );
    await expect(checkFloor(gqlLoans, ctx, raw, answer({ errors: [{ message: 'x' }] }, 401))).rejects.toThrow(
      /HTTP 401 from the floor, 200 from the raw reference/,
    );
  });
});
