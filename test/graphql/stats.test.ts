import { LoanStatsDailyDocument, LoanStatsSummaryDocument } from '../../client/generated/graphql';
import type { LoanStatsFilter } from '../../client/generated/graphql';
import { LoanStatus } from '../../src/loans/loan-status';
import { MAX_DAILY_SPAN_DAYS } from '../../src/stats/stats.service';
import { startTestApp, type TestApp } from '../support/app';
import { createBorrower } from '../support/factories';
import { errorCodes, expectWellFormedErrors, insertLoans } from './helpers';

/** The only loans of this file's database. */
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
  const borrower = await createBorrower(t.app.orm.em);
  const rows: [string, string, LoanStatus, string][] = [
    ['1000.00', 'KES', LoanStatus.PENDING, '2024-03-01T10:00:00.000Z'],
    ['500.50', 'KES', LoanStatus.APPROVED, '2024-03-01T23:59:59.999Z'],
    ['10.00', 'USD', LoanStatus.APPROVED, '2024-03-01T12:00:00.000Z'],
    ['10.01', 'USD', LoanStatus.REPAID, '2024-03-03T00:00:00.000Z'],
    ['10.00', 'USD', LoanStatus.REJECTED, '2024-03-03T05:00:00.000Z'],
    ['0.02', 'UGX', LoanStatus.DEFAULTED, '2024-03-05T00:00:00.000Z'],
    ['0.03', 'UGX', LoanStatus.DISBURSED, '2024-03-05T00:00:00.000Z'],
  ];
  await insertLoans(
    t.app.orm.em,
    rows.map(([amount, currency, status, createdAt]) => ({
      borrower,
      amount,
      currency,
      status,
      createdAt: new Date(createdAt),
    })),
  );
});
afterAll(() => t.close());

const money = (amount: string, currencyCode: string) => ({ amount, currencyCode });
const figures = (currencyCode: string, count: number, total: string, average: string) => ({
  currencyCode,
  count,
  totalAmount: money(total, currencyCode),
  averageAmount: money(average, currencyCode),
});
const byStatusName = (a: { status: string }, b: { status: string }) => a.status.localeCompare(b.status);

async function summary(filter?: LoanStatsFilter) {
  const res = await t.graphql(LoanStatsSummaryDocument, { filter });
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  const stats = res.body.data!.loanStats;
  return { ...stats, byStatus: [...stats.byStatus].sort(byStatusName) };
}

async function daily(filter?: LoanStatsFilter) {
  const res = await t.graphql(LoanStatsDailyDocument, { filter });
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.loanStats.daily;
}

const day = (date: string, count = 0, totals: { amount: string; currencyCode: string }[] = []) => ({
  date,
  count,
  totals,
});

describe('loanStats summary', () => {
  test('totals per status and per currency, with exact decimal totals and rounded averages', async () => {
    expect(await summary()).toEqual({
      totalLoans: 7,
      byStatus: [
        { status: 'APPROVED', count: 2 },
        { status: 'DEFAULTED', count: 1 },
        { status: 'DISBURSED', count: 1 },
        { status: 'PENDING', count: 1 },
        { status: 'REJECTED', count: 1 },
        { status: 'REPAID', count: 1 },
      ],
      // Sorted by currency code; money never added across currencies.
      byCurrency: [
        figures('KES', 2, '1500.50', '750.25'),
        // 0.025 rounds half away from zero (a float would give 0.024999... and 0.02).
        figures('UGX', 2, '0.05', '0.03'),
        // 30.01 / 3 = 10.00333...
        figures('USD', 3, '30.01', '10.00'),
      ],
    });
  });

  test('statuses without loans are absent', async () => {
    const stats = await summary({ currency: 'UGX' });
    expect(stats.byStatus).toEqual([
      { status: 'DEFAULTED', count: 1 },
      { status: 'DISBURSED', count: 1 },
    ]);
  });

  test.each(['usd', 'USD', 'uSd'])('currency %s (case-insensitive)', async (currency) => {
    expect(await summary({ currency })).toEqual({
      totalLoans: 3,
      byStatus: [
        { status: 'APPROVED', count: 1 },
        { status: 'REJECTED', count: 1 },
        { status: 'REPAID', count: 1 },
      ],
      byCurrency: [figures('USD', 3, '30.01', '10.00')],
    });
  });

  test('createdAfter is inclusive and createdBefore exclusive', async () => {
    expect(
      await summary({ createdAfter: '2024-03-01T23:59:59.999Z', createdBefore: '2024-03-03T05:00:00.000Z' }),
    ).toEqual({
      totalLoans: 2,
      byStatus: [
        { status: 'APPROVED', count: 1 },
        { status: 'REPAID', count: 1 },
      ],
      byCurrency: [figures('KES', 1, '500.50', '500.50'), figures('USD', 1, '10.01', '10.01')],
    });
  });

  test('currency and date range combine', async () => {
    const stats = await summary({ currency: 'kes', createdBefore: '2024-03-01T12:00:00.000Z' });
    expect(stats).toEqual({
      totalLoans: 1,
      byStatus: [{ status: 'PENDING', count: 1 }],
      byCurrency: [figures('KES', 1, '1000.00', '1000.00')],
    });
  });

  test('a filter matching nothing gives zeros and empty lists', async () => {
    expect(await summary({ currency: 'EUR' })).toEqual({ totalLoans: 0, byStatus: [], byCurrency: [] });
  });
});

describe('loanStats daily', () => {
  test('one entry per UTC day of the range, zero days included, a total per currency', async () => {
    expect(
      await daily({ createdAfter: '2024-02-28T00:00:00.000Z', createdBefore: '2024-03-07T00:00:00.000Z' }),
    ).toEqual([
      day('2024-02-28'),
      day('2024-02-29'),
      day('2024-03-01', 3, [money('1500.50', 'KES'), money('10.00', 'USD')]),
      day('2024-03-02'),
      day('2024-03-03', 2, [money('20.01', 'USD')]),
      day('2024-03-04'),
      day('2024-03-05', 2, [money('0.05', 'UGX')]),
      day('2024-03-06'),
    ]);
  });

  test('createdBefore is exclusive: a range ending at midnight ends the day before', async () => {
    expect(
      await daily({ createdAfter: '2024-03-03T00:00:00.000Z', createdBefore: '2024-03-05T00:00:00.000Z' }),
    ).toEqual([day('2024-03-03', 2, [money('20.01', 'USD')]), day('2024-03-04')]);
  });

  test('a range starting mid-day counts only the loans after its start', async () => {
    expect(
      await daily({ createdAfter: '2024-03-01T11:00:00.000Z', createdBefore: '2024-03-02T00:00:00.000Z' }),
    ).toEqual([day('2024-03-01', 2, [money('500.50', 'KES'), money('10.00', 'USD')])]);
  });

  test('an open range covers the data’s first to last day', async () => {
    expect(await daily()).toEqual([
      day('2024-03-01', 3, [money('1500.50', 'KES'), money('10.00', 'USD')]),
      day('2024-03-02'),
      day('2024-03-03', 2, [money('20.01', 'USD')]),
      day('2024-03-04'),
      day('2024-03-05', 2, [money('0.05', 'UGX')]),
    ]);
  });

  test('the currency filter applies to the series', async () => {
    expect(
      await daily({
        currency: 'usd',
        createdAfter: '2024-03-01T00:00:00.000Z',
        createdBefore: '2024-03-04T00:00:00.000Z',
      }),
    ).toEqual([
      day('2024-03-01', 1, [money('10.00', 'USD')]),
      day('2024-03-02'),
      day('2024-03-03', 2, [money('20.01', 'USD')]),
    ]);
  });

  test.each([
    [
      'only createdAfter: from its day to the last day with data',
      { createdAfter: '2024-03-04T00:00:00.000Z' },
      [day('2024-03-04'), day('2024-03-05', 2, [money('0.05', 'UGX')])],
    ],
    [
      'only createdBefore: from the first day with data to the day before it (exclusive)',
      { createdBefore: '2024-03-03T00:00:00.000Z' },
      [day('2024-03-01', 3, [money('1500.50', 'KES'), money('10.00', 'USD')]), day('2024-03-02')],
    ],
    [
      'createdAfter after createdBefore',
      { createdAfter: '2024-03-05T00:00:00.000Z', createdBefore: '2024-03-01T00:00:00.000Z' },
      [],
    ],
    ['an empty range', { createdAfter: '2024-03-03T00:00:00.000Z', createdBefore: '2024-03-03T00:00:00.000Z' }, []],
  ] as [string, LoanStatsFilter, ReturnType<typeof day>[]][])(
    'half-open and empty ranges: %s',
    async (_label, filter, series) => {
      expect(await daily(filter)).toEqual(series);
    },
  );

  test('no loans and an open range: an empty series', async () => {
    expect(await daily({ currency: 'EUR' })).toEqual([]);
  });

  test(`a range of exactly ${MAX_DAILY_SPAN_DAYS} days is served`, async () => {
    // 2020 (leap) + 2021 + 2022 = 1096 days.
    expect(MAX_DAILY_SPAN_DAYS).toBe(1096);
    const series = await daily({ createdAfter: '2020-01-01T00:00:00.000Z', createdBefore: '2023-01-01T00:00:00.000Z' });
    expect(series).toHaveLength(MAX_DAILY_SPAN_DAYS);
    expect(series[0]).toEqual(day('2020-01-01'));
    expect(series[series.length - 1]).toEqual(day('2022-12-31'));
  });

  test.each([
    ['one millisecond into the next day', '2020-01-01T00:00:00.000Z', '2023-01-01T00:00:00.001Z'],
    ['a decade', '2015-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
  ])('a range over the limit (%s) is BAD_USER_INPUT', async (_label, createdAfter, createdBefore) => {
    const res = await t.graphql(LoanStatsDailyDocument, { filter: { createdAfter, createdBefore } });
    expect(res.status).toBe(200);
    expect(res.body.data).toBeNull();
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0].path).toEqual(['loanStats', 'daily']);
    expect(res.body.errors![0].message).toContain(String(MAX_DAILY_SPAN_DAYS));
    expectWellFormedErrors(res.body);
  });

  test('a long range is fine when daily is not selected', async () => {
    const stats = await summary({
      createdAfter: '2000-01-01T00:00:00.000Z',
      createdBefore: '2100-01-01T00:00:00.000Z',
    });
    expect(stats.totalLoans).toBe(7);
  });
});
