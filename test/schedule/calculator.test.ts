import fc from 'fast-check';
import Decimal from 'decimal.js';
import { InvalidArgumentError } from '../../src/common/errors';
import {
  buildSchedule,
  minorUnitsOf,
  numberOfInstallments,
  periodsPerYear,
  type Schedule,
  type ScheduleTerms,
} from '../../src/schedule/calculator';

/**
 * Acceptance tests of the repayment-schedule calculator (issue 12 part 3). The reference tables below
 * were computed outside this code base, by a separate throw-away script with Python's `decimal` module
 * (50 digits, the rules of the calculator's header comment, IRR by plain bisection) and spot-checked by
 * hand (e.g. VND: r = 0.26/12, 8400·r = 182, annuity 2214.97 → 2215). They are never produced by the
 * code under test.
 */

type Row = [number, string, string, string, string, string]; // number, dueDate, principal, interest, fee, total

interface Expected {
  rows: Row[];
  installmentAmount: string;
  totalPrincipal: string;
  totalInterest: string;
  totalFees: string;
  totalRepayable: string;
  effectiveAnnualRatePercent: string;
}

function expectSchedule(schedule: Schedule, expected: Expected): void {
  expect(schedule.installments.map((i): Row => [i.number, i.dueDate, i.principal, i.interest, i.fee, i.total])).toEqual(
    expected.rows,
  );
  expect(schedule).toMatchObject({
    installmentAmount: expected.installmentAmount,
    numberOfInstallments: expected.rows.length,
    firstDueDate: expected.rows[0][1],
    totalPrincipal: expected.totalPrincipal,
    totalInterest: expected.totalInterest,
    totalFees: expected.totalFees,
    totalRepayable: expected.totalRepayable,
    effectiveAnnualRatePercent: expected.effectiveAnnualRatePercent,
  });
}

const base = { fee: null } as const;

describe('reference schedules', () => {
  it('12,000.50 KES at 24% declining balance, monthly over 6 months', () => {
    const schedule = buildSchedule({
      ...base,
      principal: '12000.50',
      currency: 'KES',
      annualRatePercent: '24.00',
      method: 'DECLINING_BALANCE',
      frequency: 'MONTHLY',
      termMonths: 6,
      startDate: '2025-03-10',
    });
    expectSchedule(schedule, {
      rows: [
        [1, '2025-04-10', '1902.39', '240.01', '0.00', '2142.40'],
        [2, '2025-05-10', '1940.44', '201.96', '0.00', '2142.40'],
        [3, '2025-06-10', '1979.25', '163.15', '0.00', '2142.40'],
        [4, '2025-07-10', '2018.83', '123.57', '0.00', '2142.40'],
        [5, '2025-08-10', '2059.21', '83.19', '0.00', '2142.40'],
        [6, '2025-09-10', '2100.38', '42.01', '0.00', '2142.39'],
      ],
      installmentAmount: '2142.40',
      totalPrincipal: '12000.50',
      totalInterest: '853.89',
      totalFees: '0.00',
      totalRepayable: '12854.39',
      effectiveAnnualRatePercent: '24.00',
    });
  });

  it('50,000.00 INR at 24% flat, monthly over 12 months (principal remainder on the last)', () => {
    const schedule = buildSchedule({
      ...base,
      principal: '50000.00',
      currency: 'INR',
      annualRatePercent: '24.00',
      method: 'FLAT',
      frequency: 'MONTHLY',
      termMonths: 12,
      startDate: '2025-01-15',
    });
    const months = ['02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'];
    expectSchedule(schedule, {
      rows: [
        ...months.map((m, i): Row => [i + 1, `2025-${m}-15`, '4166.66', '1000.00', '0.00', '5166.66']),
        [12, '2026-01-15', '4166.74', '1000.00', '0.00', '5166.74'],
      ],
      installmentAmount: '5166.66',
      totalPrincipal: '50000.00',
      totalInterest: '12000.00',
      totalFees: '0.00',
      totalRepayable: '62000.00',
      // Flat interest on the original principal costs far more than its nominal rate.
      effectiveAnnualRatePercent: '41.70',
    });
  });

  it('8,400 VND (0 minor units) at 26% declining balance, monthly over 4 months', () => {
    const schedule = buildSchedule({
      ...base,
      principal: '8400',
      currency: 'VND',
      annualRatePercent: '26.00',
      method: 'DECLINING_BALANCE',
      frequency: 'MONTHLY',
      termMonths: 4,
      startDate: '2025-02-01',
    });
    expectSchedule(schedule, {
      rows: [
        [1, '2025-03-01', '2033', '182', '0', '2215'],
        [2, '2025-04-01', '2077', '138', '0', '2215'],
        [3, '2025-05-01', '2122', '93', '0', '2215'],
        [4, '2025-06-01', '2168', '47', '0', '2215'],
      ],
      installmentAmount: '2215',
      totalPrincipal: '8400',
      totalInterest: '460',
      totalFees: '0',
      totalRepayable: '8860',
      // Rounding the installment up to a whole dong (2214.97 → 2215) shows in the second decimal.
      effectiveAnnualRatePercent: '26.01',
    });
  });

  it('5,000.00 PHP at 30% declining balance, weekly over 3 months (13 weeks)', () => {
    const schedule = buildSchedule({
      ...base,
      principal: '5000.00',
      currency: 'PHP',
      annualRatePercent: '30.00',
      method: 'DECLINING_BALANCE',
      frequency: 'WEEKLY',
      termMonths: 3,
      startDate: '2025-01-06',
    });
    expectSchedule(schedule, {
      rows: [
        [1, '2025-01-13', '371.48', '28.85', '0.00', '400.33'],
        [2, '2025-01-20', '373.63', '26.70', '0.00', '400.33'],
        [3, '2025-01-27', '375.78', '24.55', '0.00', '400.33'],
        [4, '2025-02-03', '377.95', '22.38', '0.00', '400.33'],
        [5, '2025-02-10', '380.13', '20.20', '0.00', '400.33'],
        [6, '2025-02-17', '382.32', '18.01', '0.00', '400.33'],
        [7, '2025-02-24', '384.53', '15.80', '0.00', '400.33'],
        [8, '2025-03-03', '386.75', '13.58', '0.00', '400.33'],
        [9, '2025-03-10', '388.98', '11.35', '0.00', '400.33'],
        [10, '2025-03-17', '391.22', '9.11', '0.00', '400.33'],
        [11, '2025-03-24', '393.48', '6.85', '0.00', '400.33'],
        [12, '2025-03-31', '395.75', '4.58', '0.00', '400.33'],
        [13, '2025-04-07', '398.00', '2.30', '0.00', '400.30'],
      ],
      installmentAmount: '400.33',
      totalPrincipal: '5000.00',
      totalInterest: '204.26',
      totalFees: '0.00',
      totalRepayable: '5204.26',
      effectiveAnnualRatePercent: '30.00',
    });
  });

  it('a PERCENT fee (2.50% of 10,000.00 KES) is charged with the first installment and raises the APR', () => {
    const schedule = buildSchedule({
      principal: '10000.00',
      currency: 'KES',
      annualRatePercent: '18.00',
      method: 'DECLINING_BALANCE',
      frequency: 'MONTHLY',
      termMonths: 3,
      startDate: '2025-04-01',
      fee: { kind: 'PERCENT', value: '2.50' },
    });
    expectSchedule(schedule, {
      rows: [
        [1, '2025-05-01', '3283.83', '150.00', '250.00', '3683.83'],
        [2, '2025-06-01', '3333.09', '100.74', '0.00', '3433.83'],
        [3, '2025-07-01', '3383.08', '50.75', '0.00', '3433.83'],
      ],
      installmentAmount: '3433.83',
      totalPrincipal: '10000.00',
      totalInterest: '301.49',
      totalFees: '250.00',
      totalRepayable: '10551.49',
      effectiveAnnualRatePercent: '33.20',
    });
  });

  it('a FIXED fee (500.00 NGN) on a flat biweekly loan over 3 months (7 installments)', () => {
    const schedule = buildSchedule({
      principal: '20000.00',
      currency: 'NGN',
      annualRatePercent: '12.00',
      method: 'FLAT',
      frequency: 'BIWEEKLY',
      termMonths: 3,
      startDate: '2025-01-01',
      fee: { kind: 'FIXED', value: '500.00' },
    });
    expectSchedule(schedule, {
      rows: [
        [1, '2025-01-15', '2857.14', '85.71', '500.00', '3442.85'],
        [2, '2025-01-29', '2857.14', '85.71', '0.00', '2942.85'],
        [3, '2025-02-12', '2857.14', '85.71', '0.00', '2942.85'],
        [4, '2025-02-26', '2857.14', '85.71', '0.00', '2942.85'],
        [5, '2025-03-12', '2857.14', '85.71', '0.00', '2942.85'],
        [6, '2025-03-26', '2857.14', '85.71', '0.00', '2942.85'],
        [7, '2025-04-09', '2857.16', '85.74', '0.00', '2942.90'],
      ],
      installmentAmount: '2942.85',
      totalPrincipal: '20000.00',
      totalInterest: '600.00',
      totalFees: '500.00',
      totalRepayable: '21100.00',
      effectiveAnnualRatePercent: '35.93',
    });
  });

  it('1,000.000 KWD (3 minor units) at 7.50%, from a month end (2025-01-31)', () => {
    const schedule = buildSchedule({
      ...base,
      principal: '1000.000',
      currency: 'KWD',
      annualRatePercent: '7.50',
      method: 'DECLINING_BALANCE',
      frequency: 'MONTHLY',
      termMonths: 3,
      startDate: '2025-01-31',
    });
    expectSchedule(schedule, {
      rows: [
        [1, '2025-02-28', '331.259', '6.250', '0.000', '337.509'],
        [2, '2025-03-31', '333.329', '4.180', '0.000', '337.509'],
        [3, '2025-04-30', '335.412', '2.096', '0.000', '337.508'],
      ],
      installmentAmount: '337.509',
      totalPrincipal: '1000.000',
      totalInterest: '12.526',
      totalFees: '0.000',
      totalRepayable: '1012.526',
      effectiveAnnualRatePercent: '7.50',
    });
  });

  it('a 0% loan splits the principal evenly, the last installment taking the remainder', () => {
    const schedule = buildSchedule({
      ...base,
      principal: '10000.00',
      currency: 'KES',
      annualRatePercent: '0',
      method: 'DECLINING_BALANCE',
      frequency: 'MONTHLY',
      termMonths: 3,
      startDate: '2024-01-31',
    });
    expectSchedule(schedule, {
      rows: [
        [1, '2024-02-29', '3333.33', '0.00', '0.00', '3333.33'],
        [2, '2024-03-31', '3333.33', '0.00', '0.00', '3333.33'],
        [3, '2024-04-30', '3333.34', '0.00', '0.00', '3333.34'],
      ],
      installmentAmount: '3333.33',
      totalPrincipal: '10000.00',
      totalInterest: '0.00',
      totalFees: '0.00',
      totalRepayable: '10000.00',
      effectiveAnnualRatePercent: '0.00',
    });
  });
});

const terms = (overrides: Partial<ScheduleTerms> = {}): ScheduleTerms => ({
  principal: '10000.00',
  currency: 'KES',
  annualRatePercent: '24.00',
  method: 'DECLINING_BALANCE',
  frequency: 'MONTHLY',
  termMonths: 12,
  startDate: '2025-01-31',
  fee: null,
  ...overrides,
});

describe('due dates', () => {
  it('monthly from Jan 31 clamps to the month end and keeps the original day, computed from the start', () => {
    const dates = buildSchedule(terms({ termMonths: 13 })).installments.map((i) => i.dueDate);
    expect(dates).toEqual([
      '2025-02-28',
      '2025-03-31',
      '2025-04-30',
      '2025-05-31',
      '2025-06-30',
      '2025-07-31',
      '2025-08-31',
      '2025-09-30',
      '2025-10-31',
      '2025-11-30',
      '2025-12-31',
      '2026-01-31',
      '2026-02-28',
    ]);
  });

  it('monthly in a leap year goes to Feb 29', () => {
    expect(buildSchedule(terms({ startDate: '2024-01-31', termMonths: 2 })).firstDueDate).toBe('2024-02-29');
    expect(buildSchedule(terms({ startDate: '2023-12-30', termMonths: 3 })).installments[1].dueDate).toBe('2024-02-29');
  });

  it('biweekly adds 14 days and weekly 7, across month and year ends', () => {
    const biweekly = buildSchedule(terms({ frequency: 'BIWEEKLY', termMonths: 1, startDate: '2025-12-25' }));
    expect(biweekly.installments.map((i) => i.dueDate)).toEqual(['2026-01-08', '2026-01-22']);
    const weekly = buildSchedule(terms({ frequency: 'WEEKLY', termMonths: 1, startDate: '2024-02-20' }));
    expect(weekly.installments.map((i) => i.dueDate)).toEqual(['2024-02-27', '2024-03-05', '2024-03-12', '2024-03-19']);
  });
});

describe('installment counts and periods', () => {
  it.each([
    [1, 'MONTHLY', 1],
    [6, 'MONTHLY', 6],
    [1, 'BIWEEKLY', 2], // 2.1667
    [3, 'BIWEEKLY', 7], // 6.5, half up
    [6, 'BIWEEKLY', 13],
    [12, 'BIWEEKLY', 26],
    [1, 'WEEKLY', 4], // 4.333
    [3, 'WEEKLY', 13],
    [12, 'WEEKLY', 52],
    [360, 'WEEKLY', 1560],
  ] as const)('%i months %s → %i installments', (months, frequency, expected) => {
    expect(numberOfInstallments(months, frequency)).toBe(expected);
  });

  it('periods per year', () => {
    expect([periodsPerYear('MONTHLY'), periodsPerYear('BIWEEKLY'), periodsPerYear('WEEKLY')]).toEqual([12, 26, 52]);
  });
});

describe('minor units (ISO 4217)', () => {
  it.each([
    ['VND', 0],
    ['JPY', 0],
    ['KWD', 3],
    ['KES', 2],
    ['INR', 2],
    ['NGN', 2],
    ['PHP', 2],
    ['USD', 2],
    ['BHD', 3],
    ['OMR', 3],
    ['UGX', 0],
    // ICU says 0 for these; ISO 4217 says otherwise (the override table).
    ['IQD', 3],
    ['IDR', 2],
    ['PKR', 2],
    ['COP', 2],
    ['HUF', 2],
  ])('%s has %i', (currency, digits) => {
    expect(minorUnitsOf(currency)).toBe(digits);
  });

  it('refuses an unknown code', () => {
    expect(() => minorUnitsOf('XYZ')).toThrow(InvalidArgumentError);
  });

  it('formats amounts with the currency minor units', () => {
    const jpy = buildSchedule(terms({ currency: 'JPY', principal: '100000', termMonths: 2 }));
    expect(jpy.installments[0].total).toMatch(/^\d+$/);
    const kwd = buildSchedule(terms({ currency: 'KWD', principal: '1.250', termMonths: 1 }));
    expect(kwd.totalPrincipal).toBe('1.250');
  });
});

describe('refused terms name the field', () => {
  function refusal(overrides: Partial<ScheduleTerms>): InvalidArgumentError {
    try {
      buildSchedule(terms(overrides));
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidArgumentError);
      return error as InvalidArgumentError;
    }
    throw new Error(`accepted ${JSON.stringify(overrides)}`);
  }
  const accepts = (overrides: Partial<ScheduleTerms>) => expect(() => buildSchedule(terms(overrides))).not.toThrow();

  it('principal: positive, decimal text, no more decimals than the currency', () => {
    expect(refusal({ principal: '0' }).argument).toBe('principal');
    expect(refusal({ principal: '0.00' }).argument).toBe('principal');
    expect(refusal({ principal: '-5.00' }).argument).toBe('principal');
    accepts({ principal: '0.01' });
    expect(refusal({ principal: '1.001' }).argument).toBe('principal');
    accepts({ principal: '1.1' });
    expect(refusal({ principal: '1.5', currency: 'VND' }).argument).toBe('principal');
    accepts({ principal: '2', currency: 'VND' });
    expect(refusal({ principal: '1e5' }).argument).toBe('principal');
    expect(refusal({ principal: '' }).argument).toBe('principal');
    expect(refusal({ principal: ' 100' }).argument).toBe('principal');
    expect(refusal({ principal: '1.0001', currency: 'KWD' }).argument).toBe('principal');
    accepts({ principal: '1.001', currency: 'KWD' });
  });

  it('termMonths: an integer from 1 to 360', () => {
    expect(refusal({ termMonths: 0 }).argument).toBe('termMonths');
    accepts({ termMonths: 1 });
    accepts({ termMonths: 360 });
    expect(refusal({ termMonths: 361 }).argument).toBe('termMonths');
    expect(refusal({ termMonths: 1.5 }).argument).toBe('termMonths');
    expect(refusal({ termMonths: Number.NaN }).argument).toBe('termMonths');
  });

  it('annualRatePercent: from 0 to 1000', () => {
    expect(refusal({ annualRatePercent: '-0.01' }).argument).toBe('annualRatePercent');
    accepts({ annualRatePercent: '0' });
    accepts({ annualRatePercent: '1000' });
    expect(refusal({ annualRatePercent: '1000.01' }).argument).toBe('annualRatePercent');
    expect(refusal({ annualRatePercent: 'abc' }).argument).toBe('annualRatePercent');
  });

  it('currency: an active ISO 4217 code', () => {
    expect(refusal({ currency: 'XYZ' }).argument).toBe('currency');
    expect(refusal({ currency: 'kes' }).argument).toBe('currency');
    expect(refusal({ currency: 'XDR' }).argument).toBe('currency');
  });

  it('startDate: a real YYYY-MM-DD date', () => {
    expect(refusal({ startDate: '2025-02-29' }).argument).toBe('startDate');
    accepts({ startDate: '2024-02-29' });
    expect(refusal({ startDate: '2025-1-5' }).argument).toBe('startDate');
    expect(refusal({ startDate: '2025-13-01' }).argument).toBe('startDate');
    expect(refusal({ startDate: '2025-04-31' }).argument).toBe('startDate');
    expect(refusal({ startDate: '2025-01-01T00:00:00Z' }).argument).toBe('startDate');
  });

  it('method, frequency and fee', () => {
    expect(refusal({ method: 'SIMPLE' as never }).argument).toBe('method');
    expect(refusal({ frequency: 'DAILY' as never }).argument).toBe('frequency');
    expect(refusal({ fee: { kind: 'OTHER' as never, value: '1' } }).argument).toBe('fee.kind');
    expect(refusal({ fee: { kind: 'FIXED', value: '-1.00' } }).argument).toBe('fee.value');
    expect(refusal({ fee: { kind: 'PERCENT', value: '100.01' } }).argument).toBe('fee.value');
    accepts({ fee: { kind: 'PERCENT', value: '100' } });
    expect(refusal({ fee: { kind: 'FIXED', value: '10000.01' } }).argument).toBe('fee.value');
    accepts({ fee: { kind: 'FIXED', value: '10000.00' } });
    accepts({ fee: { kind: 'FIXED', value: '0' } });
  });

  it('a fixed fee is rounded half-up to the minor unit', () => {
    expect(buildSchedule(terms({ fee: { kind: 'FIXED', value: '12.345' } })).totalFees).toBe('12.35');
    expect(buildSchedule(terms({ fee: { kind: 'PERCENT', value: '0.125' } })).totalFees).toBe('12.50');
  });
});

describe('APR sanity', () => {
  it.each(['MONTHLY', 'BIWEEKLY', 'WEEKLY'] as const)(
    'without a fee, declining balance (%s) gives the nominal rate to within rounding',
    (frequency) => {
      for (const rate of ['5.00', '18.00', '24.00', '36.50', '120.00']) {
        const schedule = buildSchedule(terms({ principal: '250000.00', annualRatePercent: rate, frequency }));
        expect(new Decimal(schedule.effectiveAnnualRatePercent).minus(rate).abs().toNumber()).toBeLessThanOrEqual(0.01);
      }
    },
  );

  it('a fee makes it higher', () => {
    const without = buildSchedule(terms());
    const withFee = buildSchedule(terms({ fee: { kind: 'PERCENT', value: '1.00' } }));
    expect(without.effectiveAnnualRatePercent).toBe('24.00');
    expect(new Decimal(withFee.effectiveAnnualRatePercent).gt(without.effectiveAnnualRatePercent)).toBe(true);
  });
});

describe('invariants over generated terms', () => {
  const currencies = ['KES', 'VND', 'KWD', 'JPY', 'INR', 'PHP'] as const;
  const termsArbitrary = fc
    .record({
      currency: fc.constantFrom(...currencies),
      minorAmount: fc.bigInt({ min: 1n, max: 10n ** 12n }),
      rateBasisPoints: fc.integer({ min: 0, max: 100_000 }),
      method: fc.constantFrom('DECLINING_BALANCE' as const, 'FLAT' as const),
      frequency: fc.constantFrom('MONTHLY' as const, 'BIWEEKLY' as const, 'WEEKLY' as const),
      termMonths: fc.integer({ min: 1, max: 36 }),
      startDate: fc
        .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2090-12-31T00:00:00Z'), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10)),
      fee: fc.option(
        fc.oneof(
          fc.integer({ min: 0, max: 1000 }).map((bp) => ({ kind: 'PERCENT' as const, value: (bp / 100).toFixed(2) })),
          fc.integer({ min: 0, max: 500 }).map((v) => ({ kind: 'FIXED' as const, value: String(v) })),
        ),
      ),
    })
    .map(({ currency, minorAmount, rateBasisPoints, fee, ...rest }): ScheduleTerms => {
      const digits = minorUnitsOf(currency);
      const principal = new Decimal(minorAmount.toString()).div(new Decimal(10).pow(digits)).toFixed(digits);
      // A fixed fee never above the principal (that is refused, tested above).
      const safeFee = fee?.kind === 'FIXED' && new Decimal(fee.value).gt(principal) ? null : fee;
      return { ...rest, currency, principal, annualRatePercent: (rateBasisPoints / 100).toFixed(2), fee: safeFee };
    });

  it('installments sum exactly, no part is negative, the last absorbs the remainder', () => {
    fc.assert(
      fc.property(termsArbitrary, (t) => {
        const s = buildSchedule(t);
        const digits = minorUnitsOf(t.currency);
        const shape = digits === 0 ? /^\d+$/ : new RegExp(`^\\d+\\.\\d{${digits}}$`);
        const sum = (pick: (i: Schedule['installments'][number]) => string) =>
          s.installments.reduce((acc, i) => acc.plus(pick(i)), new Decimal(0));

        expect(s.numberOfInstallments).toBe(numberOfInstallments(t.termMonths, t.frequency));
        expect(s.installments).toHaveLength(s.numberOfInstallments);
        expect(sum((i) => i.principal).eq(t.principal)).toBe(true);
        expect(sum((i) => i.principal).toFixed(digits)).toBe(s.totalPrincipal);
        expect(sum((i) => i.interest).toFixed(digits)).toBe(s.totalInterest);
        expect(sum((i) => i.fee).toFixed(digits)).toBe(s.totalFees);
        expect(sum((i) => i.total).toFixed(digits)).toBe(s.totalRepayable);
        expect(new Decimal(s.totalPrincipal).plus(s.totalInterest).plus(s.totalFees).eq(s.totalRepayable)).toBe(true);

        s.installments.forEach((i, index) => {
          for (const amount of [i.principal, i.interest, i.fee, i.total]) {
            expect(amount).toMatch(shape);
          }
          expect(new Decimal(i.principal).plus(i.interest).plus(i.fee).eq(i.total)).toBe(true);
          if (index > 0) {
            expect(i.fee).toBe(new Decimal(0).toFixed(digits));
            expect(i.dueDate > s.installments[index - 1].dueDate).toBe(true);
          }
        });
        expect(s.firstDueDate).toBe(s.installments[0].dueDate);
        expect(s.firstDueDate > t.startDate).toBe(true);

        // Every installment but the last is the regular one (declining balance: unless the loan is
        // already paid off by rounding, then nothing more is due); the last takes the remainder.
        const regular = s.installments.slice(0, -1);
        let outstanding = new Decimal(t.principal);
        for (const i of regular) {
          const paid = new Decimal(i.principal).plus(i.interest);
          if (t.method === 'FLAT') {
            expect(paid.toFixed(digits)).toBe(s.installmentAmount);
          } else if (!paid.eq(s.installmentAmount)) {
            expect(new Decimal(i.principal).eq(outstanding)).toBe(true);
          }
          outstanding = outstanding.minus(i.principal);
        }
        const last = s.installments[s.installments.length - 1];
        expect(new Decimal(last.principal).eq(outstanding)).toBe(true);
        if (t.method === 'FLAT' && regular.length > 0) {
          expect(new Decimal(last.principal).gte(regular[0].principal)).toBe(true);
          expect(new Decimal(last.interest).gte(regular[0].interest)).toBe(true);
        }

        const apr = new Decimal(s.effectiveAnnualRatePercent);
        expect(apr.gte(0)).toBe(true);
        if (new Decimal(s.totalRepayable).eq(t.principal)) expect(apr.isZero()).toBe(true);
      }),
      { numRuns: 150 },
    );
  }, 60_000); // a few seconds locally; hundreds of schedules of up to 156 installments each

  it('a fee never lowers the effective rate', () => {
    fc.assert(
      fc.property(termsArbitrary, (t) => {
        const without = buildSchedule({ ...t, fee: null });
        const withFee = buildSchedule({ ...t, fee: { kind: 'PERCENT', value: '3.00' } });
        expect(new Decimal(withFee.effectiveAnnualRatePercent).gte(without.effectiveAnnualRatePercent)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
