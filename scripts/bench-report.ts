/**
 * What `npm run bench` reports: medians over rounds, the gateway ÷ raw ratios, the table and docs/performance.md;
 * for the cases measured with the stack floor (scripts/stack-floor.ts), floor ÷ raw beside them, as context only.
 */
import type { LoadResult } from './bench-load';
import type { StreamMeasurement, Download } from './bench-stream';

export interface CaseRounds {
  key: string;
  name: string;
  loans: number;
  gateway: LoadResult[];
  raw: LoadResult[];
  /**
   * The stack floor's rounds (scripts/stack-floor.ts), interleaved with the other two: only for the cases it
   * serves (`BenchCase.floor`), and not with BENCH_FLOOR=0. Context, never a target.
   */
  floor?: LoadResult[];
}

export interface SideSummary {
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx answers, errors and timeouts over every measured round. */
  failed: number;
  failures: Record<string, number>;
}

export interface CaseSummary {
  key: string;
  name: string;
  loans: number;
  gateway: SideSummary;
  raw: SideSummary;
  /** median gateway req/s ÷ median raw req/s. */
  ratio: number;
  /** The lowest and highest per-round ratio (round i's gateway ÷ round i's raw). */
  ratioRange: [number, number];
  /** When the case was measured with the stack floor: its side, and floor ÷ raw as `ratio` is gateway ÷ raw. */
  floor?: FloorSummary;
}

export interface FloorSummary {
  side: SideSummary;
  /** median floor req/s ÷ median raw req/s: what the stack alone reaches of the raw reference. */
  ratio: number;
  /** The lowest and highest per-round floor ÷ raw. */
  ratioRange: [number, number];
  /** median gateway req/s ÷ median floor req/s: what the gateway keeps of its stack's floor. */
  gatewayShare: number;
}

export const median = (values: number[]): number => {
  const s = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

function side(rounds: LoadResult[]): SideSummary {
  const failures: Record<string, number> = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    failed: rounds.reduce((a, r) => a + r.failed, 0),
    failures,
  };
}

const range = (values: number[]): [number, number] => [Math.min(...values), Math.max(...values)];

export function summarise(c: CaseRounds): CaseSummary {
  const gateway = side(c.gateway);
  const raw = side(c.raw);
  const summary: CaseSummary = {
    key: c.key,
    name: c.name,
    loans: c.loans,
    gateway,
    raw,
    ratio: gateway.rps / raw.rps,
    ratioRange: range(c.gateway.map((g, i) => g.rps / c.raw[i].rps)),
  };
  if (c.floor?.length) {
    const floor = side(c.floor);
    summary.floor = {
      side: floor,
      ratio: floor.rps / raw.rps,
      ratioRange: range(c.floor.map((f, i) => f.rps / c.raw[i].rps)),
      gatewayShare: gateway.rps / floor.rps,
    };
  }
  return summary;
}

// ---- formatting

const fixed = (value: number, places: number) => (Number.isFinite(value) ? value.toFixed(places) : '-');
const rps = (value: number) => (value >= 100 ? fixed(value, 0) : value >= 10 ? fixed(value, 1) : fixed(value, 2));
const ms = (value: number) => (value >= 100 ? fixed(value, 0) : value >= 10 ? fixed(value, 1) : fixed(value, 2));
const ratio = (value: number) => fixed(value, value >= 0.1 ? 2 : 3);
export const mb = (bytes: number) => bytes / 2 ** 20;
const count = (n: number) => n.toLocaleString('en');
const failedCell = (s: SideSummary) =>
  s.failed === 0
    ? '0'
    : `${s.failed} (${Object.entries(s.failures)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')})`;

/** A Markdown table with aligned columns (readable as plain text too). */
export function table(header: string[], rows: string[][], rightAligned: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (rightAligned[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (rightAligned[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/**
 * The main table. When some case was measured with the stack floor, one more column, `floor ÷ raw` (context:
 * `-` for the cases without it); the floor's own numbers are in `floorTable`.
 */
export function casesTable(cases: CaseSummary[]): string {
  const withFloor = cases.some((c) => c.floor);
  return table(
    [
      'case',
      'loans',
      'gateway req/s',
      'raw req/s',
      'gateway ÷ raw',
      'per-round range',
      ...(withFloor ? ['floor ÷ raw'] : []),
      'gateway p50 / p99 ms',
      'raw p50 / p99 ms',
      'failed (gateway / raw)',
    ],
    cases.map((c) => [
      c.name,
      count(c.loans),
      rps(c.gateway.rps),
      rps(c.raw.rps),
      ratio(c.ratio),
      `${ratio(c.ratioRange[0])}–${ratio(c.ratioRange[1])}`,
      ...(withFloor ? [c.floor ? ratio(c.floor.ratio) : '-'] : []),
      `${ms(c.gateway.p50)} / ${ms(c.gateway.p99)}`,
      `${ms(c.raw.p50)} / ${ms(c.raw.p99)}`,
      `${failedCell(c.gateway)} / ${failedCell(c.raw)}`,
    ]),
    [false, true, true, true, true, true, ...(withFloor ? [true] : []), true, true, false],
  );
}

/** The stack floor beside the raw reference, for the cases measured with it (none: an empty string). */
export function floorTable(cases: CaseSummary[]): string {
  const measured = cases.filter((c): c is CaseSummary & { floor: FloorSummary } => c.floor !== undefined);
  if (measured.length === 0) return '';
  return table(
    [
      'case',
      'loans',
      'floor req/s',
      'raw req/s',
      'floor ÷ raw',
      'per-round range',
      'gateway ÷ floor',
      'floor p50 / p99 ms',
      'failed (floor)',
    ],
    measured.map((c) => [
      c.name,
      count(c.loans),
      rps(c.floor.side.rps),
      rps(c.raw.rps),
      ratio(c.floor.ratio),
      `${ratio(c.floor.ratioRange[0])}–${ratio(c.floor.ratioRange[1])}`,
      ratio(c.floor.gatewayShare),
      `${ms(c.floor.side.p50)} / ${ms(c.floor.side.p99)}`,
      failedCell(c.floor.side),
    ]),
    [false, true, true, true, true, true, true, true, false],
  );
}

export interface Scaling {
  name: string;
  small: CaseSummary;
  large: CaseSummary;
  /** p50 latency at the large size ÷ at the small one. */
  gateway: number;
  raw: number;
}

export const scaling = (name: string, small: CaseSummary, large: CaseSummary): Scaling => ({
  name,
  small,
  large,
  gateway: large.gateway.p50 / small.gateway.p50,
  raw: large.raw.p50 / small.raw.p50,
});

export function scalingTable(rows: Scaling[]): string {
  return table(
    [
      'case',
      'gateway p50 small → large (ms)',
      'gateway large ÷ small',
      'raw p50 small → large (ms)',
      'raw large ÷ small',
    ],
    rows.map((s) => [
      `${s.name} (${count(s.small.loans)} → ${count(s.large.loans)} loans)`,
      `${ms(s.small.gateway.p50)} → ${ms(s.large.gateway.p50)}`,
      ratio(s.gateway),
      `${ms(s.small.raw.p50)} → ${ms(s.large.raw.p50)}`,
      ratio(s.raw),
    ]),
    [false, true, true, true, true],
  );
}

export interface StreamReport {
  loans: number;
  gateway: StreamMeasurement;
  raw: Download & { peakGrowth: number };
  targetMb: number;
}

export function streamTable(s: StreamReport): string {
  const g = s.gateway;
  const seconds = median(g.runs.map((r) => r.seconds));
  return table(
    ['GET /api/loans, every loan', 'body MB', 'download s', 'MB/s', 'RSS growth MB (each download)', 'max', 'target'],
    [
      [
        `gateway (${count(s.loans)} loans, ${g.runs.length} downloads)`,
        fixed(g.runs[0].bytes / 1e6, 1),
        fixed(seconds, 2),
        fixed(g.runs[0].bytes / 1e6 / seconds, 1),
        g.runs.map((r) => fixed(mb(r.peakGrowth), 1)).join(', '),
        fixed(mb(g.peakGrowth), 1),
        `≤ ${s.targetMb} MB: ${mb(g.peakGrowth) <= s.targetMb ? 'met' : 'NOT MET'}`,
      ],
      [
        'raw reference (1 download)',
        fixed(s.raw.bytes / 1e6, 1),
        fixed(s.raw.seconds, 2),
        fixed(s.raw.bytes / 1e6 / s.raw.seconds, 1),
        fixed(mb(s.raw.peakGrowth), 1),
        fixed(mb(s.raw.peakGrowth), 1),
        '',
      ],
    ],
    [false, true, true, true, true, true, false],
  );
}

export interface KeysetReport {
  loans: number;
  deepRow: number;
  page1: LoadResult[];
  deep: LoadResult[];
}

export function keysetTable(k: KeysetReport): string {
  const p1 = median(k.page1.map((r) => r.rps));
  const deep = median(k.deep.map((r) => r.rps));
  return table(
    ['gateway, loans(first: 20) { id }', 'req/s', 'p50 / p99 ms', 'vs page 1'],
    [
      [
        'page 1',
        rps(p1),
        `${ms(median(k.page1.map((r) => r.p50)))} / ${ms(median(k.page1.map((r) => r.p99)))}`,
        '1.00',
      ],
      [
        `after row ${count(k.deepRow)} of ${count(k.loans)}`,
        rps(deep),
        `${ms(median(k.deep.map((r) => r.p50)))} / ${ms(median(k.deep.map((r) => r.p99)))}`,
        ratio(deep / p1),
      ],
    ],
    [false, true, true, true],
  );
}

// ---- the acceptance targets (issue 10), checked in one place

/** Gateway ÷ raw at least this much, per case key. */
export const RATIO_TARGETS: Readonly<Record<string, number>> = {
  health: 0.5,
  rest_loan: 0.5,
  rest_list: 0.5,
  rest_create: 0.4,
  gql_loans: 0.3,
  gql_loan: 0.35,
};
/** The gateway's p99 ÷ p50 at most this many times the raw reference's, on every case. */
export const TAIL_FACTOR = 2;
/** Statistics: p50 at the large size at most this many times the p50 at the medium one. */
export const SCALING_LIMIT = 2;

export interface TargetRow {
  what: string;
  target: string;
  measured: string;
  met: boolean;
}

const tail = (s: SideSummary) => s.p99 / s.p50;

/** One row per target the run measured: the ratio floors, the tails, the statistics' scaling, the stream's memory. */
export function targetRows(
  cases: CaseSummary[],
  scaled: Scaling[],
  stream: StreamReport | undefined,
  rssTargetMb: number,
): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const c of cases) {
    const floor = RATIO_TARGETS[c.key];
    if (floor !== undefined) {
      rows.push({
        what: `${c.name}: gateway ÷ raw`,
        target: `≥ ${floor}`,
        measured: ratio(c.ratio),
        met: c.ratio >= floor,
      });
    }
  }
  for (const c of cases) {
    const [g, r] = [tail(c.gateway), tail(c.raw)];
    rows.push({
      what: `${c.name} (${count(c.loans)} loans): p99 ÷ p50, gateway vs raw`,
      target: `≤ ${TAIL_FACTOR} × raw (${fixed(TAIL_FACTOR * r, 2)})`,
      measured: fixed(g, 2),
      met: g <= TAIL_FACTOR * r,
    });
  }
  for (const s of scaled) {
    rows.push({
      what: `${s.name}: p50 at ${count(s.large.loans)} ÷ at ${count(s.small.loans)} loans`,
      target: `≤ ${SCALING_LIMIT}`,
      measured: fixed(s.gateway, 2),
      met: s.gateway <= SCALING_LIMIT,
    });
  }
  // A target the run did not measure (BENCH_ONLY, a failed check) is listed as not met, never left out.
  const notMeasured = (what: string, target: string): TargetRow => ({
    what,
    target,
    measured: 'not measured',
    met: false,
  });
  for (const [key, floor] of Object.entries(RATIO_TARGETS)) {
    if (!cases.some((c) => c.key === key)) rows.push(notMeasured(`${key}: gateway ÷ raw`, `≥ ${floor}`));
  }
  if (scaled.length < 2)
    rows.push(notMeasured('statistics: p50 at the large size ÷ at the medium one (both cases)', `≤ ${SCALING_LIMIT}`));
  if (!stream)
    rows.push(notMeasured('GET /api/loans over the large table: gateway RSS growth (MB)', `≤ ${rssTargetMb}`));
  if (stream) {
    const growth = mb(stream.gateway.peakGrowth);
    rows.push({
      what: `GET /api/loans over ${count(stream.loans)} loans: gateway RSS growth (MB)`,
      target: `≤ ${rssTargetMb}`,
      measured: fixed(growth, 1),
      met: growth <= rssTargetMb,
    });
  }
  return rows;
}

export function targetsTable(rows: TargetRow[]): string {
  return table(
    ['target', 'wanted', 'measured', 'met'],
    rows.map((r) => [r.what, r.target, r.measured, r.met ? 'yes' : 'NO']),
    [false, false, true, false],
  );
}
