import { RATIO_TARGETS, targetRows, type CaseSummary, type StreamReport } from '../../scripts/bench-report';

/** The bench's acceptance summary (docs/performance.md "Targets"): each target is judged from the measured numbers. */
const side = (rps: number, p50: number, p99: number) => ({ rps, p50, p99, failed: 0, failures: {} });
const summary = (key: string, gateway: number, raw: number, tails: [number, number] = [2, 2]): CaseSummary => ({
  key,
  name: key,
  loans: 100,
  gateway: side(gateway, 10, 10 * tails[0]),
  raw: side(raw, 5, 5 * tails[1]),
  ratio: gateway / raw,
  ratioRange: [gateway / raw, gateway / raw],
});

describe('bench targets', () => {
  it('judges each ratio against its floor, at the boundary too', () => {
    const rows = targetRows(
      [summary('health', 50, 100), summary('gql_loans', 29, 100), summary('gql_users', 1, 100)],
      [],
      undefined,
      50,
    );
    const ratioRows = rows.filter((r) => r.what.endsWith('gateway ÷ raw') && r.measured !== 'not measured');
    expect(ratioRows.map((r) => [r.what, r.met])).toEqual([
      ['health: gateway ÷ raw', true],
      ['gql_loans: gateway ÷ raw', false],
    ]);
    // The targets this run did not measure are listed, as not met.
    const missing = rows.filter((r) => r.measured === 'not measured');
    expect(missing.map((r) => r.what)).toEqual(
      expect.arrayContaining(['rest_loan: gateway ÷ raw', 'gql_loan: gateway ÷ raw']),
    );
    expect(missing.every((r) => !r.met)).toBe(true);
    expect(RATIO_TARGETS.gql_loans).toBe(0.3);
  });

  it('compares the tail (p99 ÷ p50) with twice the raw reference’s', () => {
    const rows = targetRows(
      [summary('health', 1, 1, [4, 2]), summary('rest_loan', 1, 1, [4.01, 2])],
      [],
      undefined,
      50,
    );
    expect(rows.filter((r) => r.what.includes('p99 ÷ p50')).map((r) => r.met)).toEqual([true, false]);
  });

  it('reports the streamed list’s RSS growth against its target', () => {
    const stream = (growthMb: number) =>
      ({
        loans: 1_000_000,
        gateway: { baselineRss: 0, runs: [], peakGrowth: growthMb * 2 ** 20 },
        raw: { bytes: 0, loans: 0, seconds: 1, peakGrowth: 0 },
        targetMb: 50,
      }) as StreamReport;
    const rssRow = (growthMb: number) => targetRows([], [], stream(growthMb), 50).find((r) => r.what.includes('RSS'))!;
    expect(rssRow(49.9).met).toBe(true);
    expect(rssRow(50.1).met).toBe(false);
    expect(targetRows([], [], undefined, 50).find((r) => r.what.includes('RSS'))!.measured).toBe('not measured');
  });
});
