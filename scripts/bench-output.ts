/**
 * The output of `npm run bench`: the Markdown sections (printed and written to docs/performance.md), the
 * page around them, and the `BENCH_RESULT` JSON with every number.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as prettier from 'prettier';
import { sizeLabel, type DbLabel } from './bench-cases';
import {
  casesTable,
  floorTable,
  keysetTable,
  mb,
  median,
  scaling,
  scalingTable,
  streamTable,
  summarise,
  targetRows,
  targetsTable,
  type CaseRounds,
  type KeysetReport,
  type StreamReport,
} from './bench-report';

export interface RunRecord {
  date: Date;
  minutes: number;
  commit: string;
  machine: {
    cpu: string;
    cpus: number;
    /** The bench process's own node (the load generator), `process.version`. */
    node: string;
    /** The node both servers run on (scripts/bench-node.ts `benchNode`): by default the image's release. */
    serverNode: { version: string; source: string };
    /** node's flags for both servers: the image's CMD (scripts/bench-support.ts `imageNodeFlags`). */
    nodeFlags: readonly string[];
    postgres: string;
    database: string;
    pinned: boolean;
  };
  settings: {
    seconds: number;
    warmupSeconds: number;
    rounds: number;
    connections: number;
    loans: number[];
    only: RegExp | null;
    secondary: boolean;
    docs: boolean;
    budgetMinutes: number;
    /** BENCH_FLOOR (1: the stack floor is measured beside the GraphQL read cases; 0 skips it). */
    floor: boolean;
  };
  sizes: Record<DbLabel, number>;
  /** Where the raw reference read the statistics from, per database. */
  statsSources: Record<string, string>;
  checkFailures: string[];
  cases: CaseRounds[];
  stream: StreamReport | undefined;
  keyset: KeysetReport | undefined;
  rssTargetMb: number;
}

function scalings(run: RunRecord) {
  const summaries = run.cases.map(summarise);
  const byKey = (key: string) => summaries.find((s) => s.key === key);
  const [medium, large] = [sizeLabel(run.sizes.medium), sizeLabel(run.sizes.large)];
  return [
    ['GET /api/stats', `rest_stats_${medium}`, `rest_stats_${large}`],
    ['GraphQL loanStats', `gql_stats_${medium}`, `gql_stats_${large}`],
  ].flatMap(([name, small, big]) => {
    const [s, l] = [byKey(small), byKey(big)];
    return s && l ? [scaling(name, s, l)] : [];
  });
}

/** The Markdown sections: failed checks (if any), the ratios, the stack floor, the statistics' scaling, memory, keyset. */
export function reportSections(run: RunRecord): string[] {
  const scaled = scalings(run);
  const summaries = run.cases.map(summarise);
  const targets = targetRows(summaries, scaled, run.stream, run.rssTargetMb);
  const floor = floorTable(summaries);
  return [
    run.checkFailures.length ? `## CHECKS FAILED\n\n${run.checkFailures.map((f) => `- ${f}`).join('\n')}` : '',
    targets.length
      ? `## Targets (issue 10's acceptance list): ${targets.filter((t) => t.met).length} of ${targets.length} met\n\n${targetsTable(targets)}`
      : '',
    `## Gateway ÷ raw reference\n\n${casesTable(summaries)}`,
    floor
      ? `## Stack floor ÷ raw reference (context, not a target)\n\nscripts/stack-floor.ts: express, Apollo Server, type-graphql, MikroORM and DataLoader used the textbook way, with none of the gateway's duties, on the same database, CPU and Node.\n\n${floor}`
      : '',
    scaled.length ? `## Statistics: latency as the table grows (p50)\n\n${scalingTable(scaled)}` : '',
    run.stream ? `## Streamed list: memory\n\n${streamTable(run.stream)}` : '',
    run.keyset
      ? `## Secondary: keyset pagination, page 1 vs deep page (gateway only)\n\n${keysetTable(run.keyset)}`
      : '',
  ].filter(Boolean);
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** Every number of the run, for the `BENCH_RESULT` line. */
export function benchResult(run: RunRecord): unknown {
  const { stream, keyset } = run;
  return {
    date: run.date.toISOString(),
    commit: run.commit,
    machine: run.machine,
    settings: { ...run.settings, only: run.settings.only?.source ?? null },
    minutes: round3(run.minutes),
    raw_stats_source: run.statsSources,
    check_failures: run.checkFailures,
    targets: targetRows(run.cases.map(summarise), scalings(run), run.stream, run.rssTargetMb),
    cases: Object.fromEntries(
      run.cases.map((c) => {
        const s = summarise(c);
        const side = (x: typeof s.gateway) => ({
          rps: round3(x.rps),
          p50_ms: round3(x.p50),
          p99_ms: round3(x.p99),
          failed: x.failed,
        });
        // The stack floor, for the cases measured with it: context, never a target.
        const floor = s.floor && {
          floor: side(s.floor.side),
          floor_ratio: round3(s.floor.ratio),
          floor_ratio_range: s.floor.ratioRange.map(round3),
          gateway_vs_floor: round3(s.floor.gatewayShare),
        };
        return [
          c.key,
          {
            loans: c.loans,
            ratio: round3(s.ratio),
            ratio_range: s.ratioRange.map(round3),
            gateway: side(s.gateway),
            raw: side(s.raw),
            ...floor,
            rounds: c.gateway.map((g, i) => ({
              gateway_rps: round3(g.rps),
              raw_rps: round3(c.raw[i].rps),
              gateway_p50_ms: round3(g.p50),
              raw_p50_ms: round3(c.raw[i].p50),
              ...(c.floor?.[i] && { floor_rps: round3(c.floor[i].rps), floor_p50_ms: round3(c.floor[i].p50) }),
            })),
          },
        ];
      }),
    ),
    stats_p50_large_vs_small: Object.fromEntries(
      scalings(run).map((s) => [
        s.name,
        { gateway: round3(s.gateway), raw: round3(s.raw), loans: [s.small.loans, s.large.loans] },
      ]),
    ),
    stream: stream && {
      loans: stream.loans,
      body_bytes: stream.gateway.runs[0].bytes,
      gateway_seconds: stream.gateway.runs.map((r) => round3(r.seconds)),
      gateway_rss_growth_mb: stream.gateway.runs.map((r) => round3(mb(r.peakGrowth))),
      gateway_rss_growth_max_mb: round3(mb(stream.gateway.peakGrowth)),
      target_mb: run.rssTargetMb,
      target_met: mb(stream.gateway.peakGrowth) <= run.rssTargetMb,
      raw_seconds: round3(stream.raw.seconds),
      raw_rss_growth_mb: round3(mb(stream.raw.peakGrowth)),
    },
    keyset: keyset && {
      loans: keyset.loans,
      deep_row: keyset.deepRow,
      page1_rps: round3(median(keyset.page1.map((r) => r.rps))),
      deep_rps: round3(median(keyset.deep.map((r) => r.rps))),
    },
  };
}

/** docs/performance.md: the run's conditions, the sections, and how to read them. */
export function docsText(r: RunRecord, sections: string[]): string {
  const m = r.machine;
  const custom = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const sources = [...new Set(Object.values(r.statsSources))]
    .map((source) =>
      source === 'rollup'
        ? 'the rollup table `loan_stats_totals`, as the gateway reads it'
        : 'a full scan of `loans` (the database had no rollup table)',
    )
    .join('; ');
  const withFloor = r.cases.some((c) => c.floor?.length);
  const interleaving = withFloor
    ? 'gateway, raw reference and (GraphQL reads only) stack floor interleaved (round 1 gateway, round 1 raw, round 1 floor, round 2 gateway...)'
    : 'gateway and raw reference interleaved (round 1 gateway, round 1 raw, round 2 gateway...)';
  const floorLine = withFloor
    ? `\n- **Stack floor:** \`scripts/stack-floor.ts\`, for the GraphQL reads \`loans\`, \`loan(id)\` and \`users\` only: express 5, Apollo Server 5 (cache control off), type-graphql resolvers of its own, MikroORM (a forked EntityManager per request) and DataLoader, used the textbook way with none of the gateway's duties (no request log, metrics, limits, input rules, graphql-jit or fast paths); the same token check as the raw reference, through MikroORM. Same database, CPU, Node and flags; its answers' \`data\` is checked to equal the raw reference's. Context, not a target (\`BENCH_FLOOR=0\` skips it).`
    : '';
  const url = process.env.DATABASE_URL;
  const shownUrl = url ? `DATABASE_URL=${url.replace(/(\/\/[^:/@]+):[^@]*@/, '$1:***@')} ` : '';
  return `# Performance: the gateway against a raw reference

Written by \`npm run bench\` (scripts/bench.ts); rerun it rather than editing this file.

- **Date:** ${r.date.toISOString()} (the run took ${r.minutes.toFixed(1)} min); commit ${r.commit || 'unknown'}
- **Machine:** ${m.cpu}, ${m.cpus} CPUs (\`os.cpus()\`); both servers run on Node ${m.serverNode.version} (${m.serverNode.source}); the load generator on Node ${m.node.replace(/^v/, '')}; PostgreSQL ${m.postgres} (${m.database})
- **Command:** \`${custom ? `${custom} ` : ''}${shownUrl}npm run bench\`
- **Load:** autocannon in the bench process, ${r.settings.connections} keep-alive connections, ${r.settings.warmupSeconds} s warm-up then ${r.settings.seconds} s measured per round, ${r.settings.rounds} rounds, ${interleaving}; ${m.pinned ? `${withFloor ? 'the three servers' : 'both servers'} pinned to CPU 0 and the load generator to CPU 1 with \`taskset\`` : 'NOT pinned (no `taskset`, or a single CPU)'}; PostgreSQL unpinned.
- **Data:** generated in SQL (\`generate_series\`, seeded): borrowers with a skewed number of loans each, statuses, currencies KES NGN INR PHP VND and \`created_at\` spread over 2023-2025; one scratch database per size, migrated by the gateway's first start, dropped at the end.
- **Gateway:** the built app, \`node ${m.nodeFlags.join(' ')} dist/src/main.js\` on Node ${m.serverNode.version}, as the raw reference (node's flags as in the image's \`CMD\`, the Dockerfile; the raw reference runs with the same flags) with \`APP_ENV=production\`, \`NODE_ENV=production\`, \`LOG_LEVEL=info\` (a log line per request, written to a file), pool of 10; GraphQL as an admin (bearer token).
- **Raw reference:** \`scripts/raw-reference.ts\`: \`node:http\`, a \`pg\` Pool of 10, hand-written SQL, hand-built JSON, the statements listed at the top of that file. It verifies the bearer token with \`jose\` as the gateway does (HS256, issuer, audience, expiry) and makes the gateway's one read per authenticated request (the user's role and token version, by id); statistics from ${sources || 'n/a'}.${floorLine}

Where the gateway's time goes (CPU profiles), what was changed and what remains: [docs/profiling.md](profiling.md).

${sections.join('\n\n')}

## How to read this

**gateway ÷ raw** is the gateway's requests per second as a share of the raw reference's: 0.25 means the
gateway's layers (express, Apollo Server and type-graphql, MikroORM, validation, the GraphQL limits and
guards, logging) leave a quarter of the throughput that the same SQL allows on this machine. Before each
case is timed, both servers' answers are checked to be the same JSON (for \`POST\` with ids and times set
aside, and the same tables written) and to hold the data the database has. Only ratios from one run
mean something: absolute numbers move with whatever else the machine does (other developers' tests run
on it), and the interleaved rounds make both sides share the drift. The per-round range is the lowest and
highest ratio of a round's gateway run to the same round's raw run: a wide range means a noisy run.
${
  withFloor
    ? `
**floor ÷ raw** (GraphQL reads only) is what the stack used plainly reaches of the raw reference, with none of
the gateway's duties (scripts/stack-floor.ts: express, Apollo Server, type-graphql, MikroORM entities and
DataLoader the textbook way). **gateway ÷ floor** compares the gateway with it: above 1, the gateway's own
techniques (compiled execution, plain rows instead of entities) outweigh its duties (log line, metrics, limits).
Neither is a target.
`
    : ''
}
Latencies are per request under ${r.settings.connections} concurrent connections, so p50 mostly mirrors throughput
(about connections ÷ requests per second); p99 is the tail. Requests per second count 2xx answers only;
"failed" counts non-2xx answers, connection errors and timeouts in the measured windows.

The statistics table compares each side's p50 latency at ${r.sizes.large.toLocaleString('en')} loans with ${r.sizes.medium.toLocaleString('en')}: a full scan
of \`loans\` grows with the table (towards 100x), reading the rollups stays near 1. The streamed list's RSS
growth is the highest resident memory of the gateway process (\`VmRSS\`, sampled every 10 ms) during
each full download of every loan, minus its resident memory before the first download; the target is at
most ${r.rssTargetMb} MB whatever the table size (the raw reference's growth is there for scale: V8's heap grows under
a stream of short-lived strings in any server). The secondary table checks that keyset pagination makes a page deep in
the list cost what page 1 costs.
`;
}

/** Writes Markdown formatted as `npx prettier --check docs` expects (the project's .prettierrc). */
export async function writeDocs(file: string, text: string): Promise<void> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
}
