import type { Metric, Registry } from 'prom-client';

/** One label set of a `LeanHistogram`: observing is a scan of the bounds and three additions. */
export class HistogramSeries {
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

interface ExposedValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A histogram for the request hot path, exposed by prom-client's registry like its own. prom-client's
 * `Histogram.observe` builds and hashes a label string and validates the labels on every call, bound child or
 * not (about 2 µs here); the caller of this one keeps its `HistogramSeries` per label set and observes on it
 * directly. The exposition is the same: `_bucket{le}` (cumulative), `_sum`, `_count`.
 */
export class LeanHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series: HistogramSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    // The registry only calls name, help, type and get() (and reset() from resetMetrics()).
    registry.registerMetric(this as unknown as Metric);
  }

  /** A new series; the caller keeps it (creating one per observation would grow the exposition). */
  create(labels: Record<string, string>): HistogramSeries {
    const series = new HistogramSeries({ ...labels }, this.bounds);
    this.series.push(series);
    return series;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: ExposedValue[] } {
    const values: ExposedValue[] = [];
    for (const series of this.series) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.counts[i];
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { le: this.bounds[i], ...series.labels },
          value: cumulative,
        });
      }
      cumulative += series.counts[this.bounds.length];
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...series.labels }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels: { ...series.labels }, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...series.labels }, value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const series of this.series) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
