import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { startTestApp, type TestApp } from '../support/app';
import { parseExposition } from './support';

/**
 * The Grafana dashboard and the Prometheus alert rules in deploy/ may only name series the app exposes: a
 * renamed metric must fail here, not leave a dashboard that silently shows "No data" or an alert that never fires.
 */
const ROOT = path.resolve(__dirname, '../..');
const DASHBOARD = path.join(ROOT, 'deploy/grafana/branchloans-gateway.json');
const ALERTS = path.join(ROOT, 'deploy/prometheus/alerts.yml');

/** Series Prometheus makes itself for every target. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless']);
const KEYWORDS_ALSO = new Set(['bool', 'offset', 'Inf', 'NaN']);

/** The metric names a PromQL expression reads: not functions, keywords, label names, strings or durations. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = match[0];
    const rest = stripped.slice(match.index + word.length).trimStart();
    if (rest.startsWith('(') || KEYWORDS.has(word) || KEYWORDS_ALSO.has(word)) continue;
    names.push(word);
  }
  return names;
}

interface Panel {
  id?: number;
  type: string;
  title: string;
  targets?: { expr: string; refId: string }[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; definition?: string }[] };
}
interface RuleFile {
  groups: {
    name: string;
    rules: {
      alert?: string;
      expr: string;
      for?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    }[];
  }[];
}

const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const rules = parse(fs.readFileSync(ALERTS, 'utf8')) as RuleFile;

function dashboardExpressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) out.push({ where: `panel "${panel.title}"`, expr: target.expr });
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const variable of dashboard.templating.list) {
    // label_values(metric, label): the metric is what the variable reads.
    const metric = /^label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(variable.definition ?? '')?.[1];
    if (metric) out.push({ where: `variable "${variable.name}"`, expr: metric });
  }
  return out;
}

const alertExpressions = () =>
  rules.groups.flatMap((group) => group.rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })));

describe('the PromQL reader of this test', () => {
  test('finds metric names and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job=~"$job",route!="unmatched"}[$__rate_interval]))) > 2',
      ),
    ).toEqual(['http_request_duration_seconds_bucket']);
    expect(
      metricNames(
        'max by (instance) (a_total{x="y"}) >= on (instance) group_left b_seconds and absent(up{job="j"}) or c 5e-1',
      ),
    ).toEqual(['a_total', 'b_seconds', 'up', 'c']);
  });
});

describe('deploy/grafana and deploy/prometheus', () => {
  test('the dashboard: a Prometheus data source variable, unique panel ids, every panel has a query', () => {
    expect(dashboard.uid).toBe('branchloans-gateway');
    expect(dashboard.templating.list.find((v) => v.type === 'datasource')).toBeDefined();
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(8);
    for (const panel of panels) expect([panel.title, (panel.targets ?? []).length > 0]).toEqual([panel.title, true]);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('the alert rules: each has an expression, a duration, a severity and a summary', () => {
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const rule of all) {
      expect(rule.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(rule.expr.trim()).not.toBe('');
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toBeTruthy();
    }
    const names = new Set(alertExpressions().flatMap(({ expr }) => metricNames(expr)));
    // The three: error rate, p99 latency, pool saturation; and scrape down and outbox lag.
    for (const name of [
      'http_request_duration_seconds_count',
      'http_request_duration_seconds_bucket',
      'db_pool_pending_acquires',
      'db_pool_connections_in_use',
      'outbox_oldest_unpublished_age_seconds',
      'up',
    ]) {
      expect(names).toContain(name);
    }
  });

  describe('against a running app', () => {
    let t: TestApp;
    let exposed: Set<string>;
    beforeAll(async () => {
      const token = 'deploy-files-test-token-0123';
      // AMQP_URL (no broker there): the relay runs, so the outbox series exist.
      t = await startTestApp({ METRICS_TOKEN: token, AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' });
      // One of each kind of traffic, so that every labelled histogram has its series.
      await t.http.get('/health');
      await t.graphql('query DeployFilesCheck { loans(first: 1) { totalCount } }');
      const res = await t.http.get('/metrics').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);
      exposed = new Set(parseExposition(res.text).map((s) => s.name));
    });
    afterAll(() => t?.close());

    const unknown = (expressions: { where: string; expr: string }[]) =>
      expressions.flatMap(({ where, expr }) =>
        metricNames(expr)
          .filter((name) => !exposed.has(name) && !PROMETHEUS_SERIES.has(name))
          .map((name) => `${where}: ${name}`),
      );

    test('every metric the dashboard queries is exposed', () => {
      const expressions = dashboardExpressions();
      expect(expressions.length).toBeGreaterThanOrEqual(15);
      expect(unknown(expressions)).toEqual([]);
    });

    test('every metric the alert rules read is exposed', () => {
      expect(unknown(alertExpressions())).toEqual([]);
    });

    test('a renamed metric would be caught', () => {
      expect(unknown([{ where: 'example', expr: 'rate(http_requests_duration_seconds_count[5m])' }])).toEqual([
        'example: http_requests_duration_seconds_count',
      ]);
    });
  });
});
