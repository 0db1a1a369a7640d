import { LoanStatsDailyDocument, LoanStatsSummaryDocument } from '../../client/generated/graphql';
import { compareDays, DAY_MS, dayStart, splitRange, utcDay } from '../../src/stats/stats.range';
import { startTestApp, type TestApp } from '../support/app';
import { countQueries, createBorrower } from '../support/factories';
import { scanDaily, scanSummary } from './full-scan';

/**
 * What the statistics read: the rollups for whole days (never `loans`), and `loans` only within the partial
 * days at a date filter's edges. Statements are counted and their SQL checked; the rows a statement reads
 * from `loans` are taken from PostgreSQL's own account of running it (EXPLAIN ANALYZE).
 */

const day = (iso: string) => new Date(`${iso}T00:00:00.000Z`);
const LOANS_TABLE = /\bloans\b/;
const ROLLUPS = /\bloan_stats_totals\b|\bloan_daily_stats\b/;

describe('splitRange: whole UTC days from the rollup, partial days from loans', () => {
  const iso = (d: Date) => d.toISOString();
  const split = (after?: string, before?: string) => {
    const s = splitRange(after ? new Date(after) : null, before ? new Date(before) : null);
    return { days: s.days, edges: s.edges.map((e) => [iso(e.from), iso(e.to)]) };
  };

  test.each([
    ['open on both sides', undefined, undefined, { days: { from: null, to: null }, edges: [] }],
    [
      'midnight to midnight: whole days only',
      '2024-03-01T00:00:00.000Z',
      '2024-03-04T00:00:00.000Z',
      { days: { from: '2024-03-01', to: '2024-03-04' }, edges: [] },
    ],
    [
      'one millisecond after midnight: that day is partial',
      '2024-03-01T00:00:00.001Z',
      '2024-03-04T00:00:00.000Z',
      {
        days: { from: '2024-03-02', to: '2024-03-04' },
        edges: [['2024-03-01T00:00:00.001Z', '2024-03-02T00:00:00.000Z']],
      },
    ],
    [
      'one millisecond before midnight: that day is partial',
      '2024-03-01T00:00:00.000Z',
      '2024-03-03T23:59:59.999Z',
      {
        days: { from: '2024-03-01', to: '2024-03-03' },
        edges: [['2024-03-03T00:00:00.000Z', '2024-03-03T23:59:59.999Z']],
      },
    ],
    [
      'open after the last midnight of year 9999: the rest of that day, no whole day of year 10000',
      '9999-12-31T12:00:00.000Z',
      undefined,
      { days: null, edges: [['9999-12-31T12:00:00.000Z', '+010000-01-01T00:00:00.000Z']] },
    ],
    [
      'mid-day on both sides',
      '2024-03-01T10:30:00.000Z',
      '2024-03-04T13:00:00.000Z',
      {
        days: { from: '2024-03-02', to: '2024-03-04' },
        edges: [
          ['2024-03-01T10:30:00.000Z', '2024-03-02T00:00:00.000Z'],
          ['2024-03-04T00:00:00.000Z', '2024-03-04T13:00:00.000Z'],
        ],
      },
    ],
    [
      'within one day',
      '2024-03-01T10:00:00.000Z',
      '2024-03-01T11:00:00.000Z',
      { days: null, edges: [['2024-03-01T10:00:00.000Z', '2024-03-01T11:00:00.000Z']] },
    ],
    [
      'across one midnight, no whole day',
      '2024-03-01T20:00:00.000Z',
      '2024-03-02T04:00:00.000Z',
      { days: null, edges: [['2024-03-01T20:00:00.000Z', '2024-03-02T04:00:00.000Z']] },
    ],
    [
      'exactly one whole day',
      '2024-03-01T00:00:00.000Z',
      '2024-03-02T00:00:00.000Z',
      { days: { from: '2024-03-01', to: '2024-03-02' }, edges: [] },
    ],
    [
      'open end, mid-day start',
      '2024-03-01T12:00:00.000Z',
      undefined,
      { days: { from: '2024-03-02', to: null }, edges: [['2024-03-01T12:00:00.000Z', '2024-03-02T00:00:00.000Z']] },
    ],
    [
      'open start, mid-day end',
      undefined,
      '2024-03-01T12:00:00.000Z',
      { days: { from: null, to: '2024-03-01' }, edges: [['2024-03-01T00:00:00.000Z', '2024-03-01T12:00:00.000Z']] },
    ],
    ['empty', '2024-03-01T12:00:00.000Z', '2024-03-01T12:00:00.000Z', { days: null, edges: [] }],
    ['reversed', '2024-03-02T00:00:00.000Z', '2024-03-01T00:00:00.000Z', { days: null, edges: [] }],
  ])('%s', (_label, after, before, expected) => {
    expect(split(after, before)).toEqual(expected);
  });
});

describe('days as PostgreSQL writes them, past year 9999 too', () => {
  test.each([
    ['2024-03-01T10:30:00.000Z', '2024-03-01'],
    ['0001-01-01T00:00:00.000Z', '0001-01-01'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31'],
    ['+010000-01-01T00:00:00.000Z', '10000-01-01'],
  ])('%s is on %s, which starts at its midnight', (instant, day) => {
    const ms = Date.parse(instant);
    expect(utcDay(ms)).toBe(day);
    expect(dayStart(day)).toBe(ms - (ms % DAY_MS));
  });

  test('days compare in time order', () => {
    const days = ['10000-01-01', '9999-12-31', '2024-03-02', '2024-03-01', '0001-01-01'];
    expect([...days].sort(compareDays)).toEqual([
      '0001-01-01',
      '2024-03-01',
      '2024-03-02',
      '9999-12-31',
      '10000-01-01',
    ]);
  });
});

describe('statistics read days, not loans', () => {
  let t: TestApp;
  /** 9,000 loans, 300 a day from 2024-03-01 to 2024-03-30. */
  const DAYS = 30;
  const LOANS_PER_DAY = 300;

  let borrowerId: string;

  beforeAll(async () => {
    t = await startTestApp();
    const borrower = await createBorrower(t.app.orm.em);
    borrowerId = borrower.id;
    await t.app.orm.em.getConnection().execute(
      `insert into loans (id, borrower_id, amount, currency, status, created_at, updated_at, version)
       select gen_random_uuid(), ?, (i % 4999) + 1.25, (array['KES', 'USD', 'UGX'])[i % 3 + 1],
              (array['pending', 'approved', 'repaid'])[i % 3 + 1],
              '2024-03-01T00:00:00Z'::timestamptz + i * (interval '1 day' / ${LOANS_PER_DAY}), now(), 1
       from generate_series(0, ${DAYS * LOANS_PER_DAY - 1}) as i`,
      [borrower.id],
    );
    // As autovacuum would: the planner knows the table's size and spread.
    await t.app.orm.em.getConnection().execute('analyze loans');
  });
  afterAll(() => t.close());

  /** The SQL statements a request sends to PostgreSQL. */
  async function statementsOf(request: () => Promise<unknown>): Promise<string[]> {
    return (await countQueries(t.app.orm.em, request)).queries;
  }

  /** How many rows of `loans` a statement reads, as PostgreSQL counts them while running it. */
  async function loanRowsRead(statement: string): Promise<number> {
    const [row] = await t.app.orm.em
      .getConnection()
      .execute<{ 'QUERY PLAN': { Plan: PlanNode }[] }[]>(`explain (analyze, format json) ${statement}`);
    let rows = 0;
    const walk = (node: PlanNode) => {
      if (node['Relation Name'] === 'loans') {
        const examined =
          node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0);
        rows += examined * node['Actual Loops'];
      }
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(row['QUERY PLAN'][0].Plan);
    return rows;
  }

  test('GET /api/stats and an unfiltered loanStats are one statement each, on the totals rollup', async () => {
    const rest = await statementsOf(() => t.http.get('/api/stats').expect(200));
    const graphql = await statementsOf(() => t.graphql(LoanStatsSummaryDocument, {}));
    const currency = await statementsOf(() => t.graphql(LoanStatsSummaryDocument, { filter: { currency: 'usd' } }));
    for (const statements of [rest, graphql, currency]) {
      expect(statements.filter((sql) => ROLLUPS.test(sql))).toEqual([expect.stringContaining('loan_stats_totals')]);
      expect(statements.filter((sql) => LOANS_TABLE.test(sql))).toEqual([]);
    }
  });

  test('ranges within the last day of year 9999 answer as a full scan does, never an internal error (found by the fuzzer)', async () => {
    // A loan on the API's last day (as a bulk import in SQL could write it), removed again after the test.
    const connection = t.app.orm.em.getConnection();
    const [{ id }] = await connection.execute<{ id: string }[]>(
      `insert into loans (id, borrower_id, amount, currency, status, created_at, updated_at, version)
       values (gen_random_uuid(), ?, 77.5, 'KES', 'approved', '9999-12-31T18:00:00Z', now(), 1) returning id`,
      [borrowerId],
    );
    try {
      const filters = [
        // Open after the last midnight: it was whole days from 10000-01-01 on, a date the driver cannot write.
        { createdAfter: '9999-12-31T12:00:00.000Z' },
        { createdAfter: '9999-12-31T23:59:59.999Z' },
        { createdAfter: '9999-12-31T00:00:00.001Z', currency: 'kes' },
        // The last midnight itself, and closed ranges within the last day.
        { createdAfter: '9999-12-31T00:00:00.000Z' },
        { createdAfter: '9999-12-31T12:00:00.000Z', createdBefore: '9999-12-31T23:59:59.999Z' },
        { createdAfter: '9999-12-31T12:00:00.000Z', createdBefore: '9999-12-31T06:00:00.000Z' },
      ];
      for (const filter of filters) {
        const summary = await t.graphql(LoanStatsSummaryDocument, { filter });
        expect({ filter, status: summary.status, errors: summary.body.errors }).toEqual({
          filter,
          status: 200,
          errors: undefined,
        });
        expect(summary.body.data!.loanStats).toEqual(await scanSummary(t.app.orm.em, filter));
        const daily = await t.graphql(LoanStatsDailyDocument, { filter });
        expect(daily.body.errors).toBeUndefined();
        expect(daily.body.data!.loanStats.daily).toEqual(await scanDaily(t.app.orm.em, filter));
      }
      // The loan is counted where the range holds it (not a range that reads nothing).
      const open = await t.graphql(LoanStatsSummaryDocument, { filter: { createdAfter: '9999-12-31T12:00:00.000Z' } });
      expect(open.body.data!.loanStats.totalLoans).toBe(1);
    } finally {
      await connection.execute('delete from loans where id = ?', [id]);
    }
  });

  test('a summary over whole UTC days is one statement on the day rollup', async () => {
    const filter = { createdAfter: '2024-03-03T00:00:00.000Z', createdBefore: '2024-03-08T00:00:00.000Z' };
    for (const f of [filter, { ...filter, currency: 'kes' }, { createdAfter: filter.createdAfter }]) {
      const { result, queries } = await countQueries(t.app.orm.em, () =>
        t.graphql(LoanStatsSummaryDocument, { filter: f }),
      );
      expect(queries.filter((sql) => ROLLUPS.test(sql))).toEqual([expect.stringContaining('loan_daily_stats')]);
      expect(queries.filter((sql) => LOANS_TABLE.test(sql))).toEqual([]);
      expect(result.body.data!.loanStats).toEqual(await scanSummary(t.app.orm.em, f));
    }
  });

  test('mid-day edges: one statement, which reads from loans only the loans of the two partial days', async () => {
    const filter = { createdAfter: '2024-03-02T10:00:00.000Z', createdBefore: '2024-03-29T15:00:00.000Z' };
    const { result, queries } = await countQueries(t.app.orm.em, () => t.graphql(LoanStatsSummaryDocument, { filter }));
    const [statement, ...others] = queries.filter((sql) => ROLLUPS.test(sql) || LOANS_TABLE.test(sql));
    expect(others).toEqual([]);
    // 2024-03-02 from 10:00 and 2024-03-29 until 15:00: 14 + 15 hours of a day's loans, about 363 rows.
    const edgeLoans = Math.ceil((LOANS_PER_DAY * 29) / 24);
    const read = await loanRowsRead(statement);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(edgeLoans + 2);
    // A scan of the range would read 27 days' loans (about 8,100 rows).
    expect(result.body.data!.loanStats).toEqual(await scanSummary(t.app.orm.em, filter));
  });

  test('a filter whose range is empty sends no statement at all', async () => {
    const filter = { createdAfter: '2024-03-05T00:00:00.000Z', createdBefore: '2024-03-05T00:00:00.000Z' };
    const { result, queries } = await countQueries(t.app.orm.em, () => t.graphql(LoanStatsSummaryDocument, { filter }));
    expect(queries.filter((sql) => ROLLUPS.test(sql) || LOANS_TABLE.test(sql))).toEqual([]);
    expect(result.body.data!.loanStats).toEqual({ totalLoans: 0, byStatus: [], byCurrency: [] });
  });

  test('daily: one statement for a closed range, two for an open one, whose bounds come from the day rollup', async () => {
    const closed = { createdAfter: '2024-03-02T00:00:00.000Z', createdBefore: '2024-03-26T00:00:00.000Z' };
    const cases: [Record<string, string>, number][] = [
      [closed, 1],
      [{}, 2],
      [{ currency: 'ugx' }, 2],
      [{ createdAfter: '2024-03-04T00:00:00.000Z' }, 2],
    ];
    for (const [filter, count] of cases) {
      const { result, queries } = await countQueries(t.app.orm.em, () => t.graphql(LoanStatsDailyDocument, { filter }));
      const statements = queries.filter((sql) => ROLLUPS.test(sql) || LOANS_TABLE.test(sql));
      // The summary (totalLoans) and the series' statements.
      expect(statements).toHaveLength(1 + count);
      expect(statements.filter((sql) => LOANS_TABLE.test(sql))).toEqual([]);
      expect(result.body.data!.loanStats.daily).toEqual(await scanDaily(t.app.orm.em, filter));
    }
  });

  test('daily with mid-day edges reads from loans only the loans of the partial days', async () => {
    const filter = { createdAfter: '2024-03-03T18:00:00.000Z' };
    const { result, queries } = await countQueries(t.app.orm.em, () => t.graphql(LoanStatsDailyDocument, { filter }));
    const statements = queries.filter((sql) => ROLLUPS.test(sql) || LOANS_TABLE.test(sql));
    expect(statements).toHaveLength(3);
    for (const statement of statements) {
      expect(await loanRowsRead(statement)).toBeLessThanOrEqual(LOANS_PER_DAY / 4 + 1);
    }
    const daily = result.body.data!.loanStats.daily;
    expect(daily).toEqual(await scanDaily(t.app.orm.em, filter));
    expect(daily.map((d) => d.date)).toEqual(
      Array.from({ length: DAYS - 2 }, (_, i) =>
        new Date(day('2024-03-03').getTime() + i * DAY_MS).toISOString().slice(0, 10),
      ),
    );
  });
});

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}
