import { invalid } from '../engine/errors.js';
import type { LabelsInput, PredsInput } from './inputs.js';
import type { Metric } from './metric.js';

type Results<T extends Record<string, Metric>> = { [K in keyof T]: ReturnType<T[K]['compute']> };

/** Metrics updated, computed and reset together, keyed by name. */
export class MetricCollection<T extends Record<string, Metric> = Record<string, Metric>> {
  readonly metrics: Readonly<T>;

  constructor(metrics: T) {
    if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics))
      throw invalid('metrics', 'a record of metrics keyed by name', metrics);
    for (const [k, m] of Object.entries(metrics)) {
      if (
        m === null ||
        typeof m !== 'object' ||
        typeof (m as Metric).update !== 'function' ||
        typeof (m as Metric).compute !== 'function'
      ) {
        throw invalid(`metrics.${k}`, 'a Metric (update, compute, reset)', m);
      }
    }
    this.metrics = { ...metrics };
  }

  /** A collection keyed by each metric's own name; two metrics with one name are an error. */
  static of(...metrics: Metric[]): MetricCollection {
    const record: Record<string, Metric> = {};
    for (const m of metrics) {
      if (m.name in record) throw invalid('metrics', 'metrics with distinct names', `two named '${m.name}'`);
      record[m.name] = m;
    }
    return new MetricCollection(record);
  }

  get names(): (keyof T & string)[] {
    return Object.keys(this.metrics);
  }

  /** The metric under `name`; an unknown name errors and lists the known ones. */
  get<K extends keyof T & string>(name: K): T[K] {
    if (!Object.hasOwn(this.metrics, name)) {
      throw invalid('metric name', `one of ${this.names.map((n) => `'${n}'`).join(', ')}`, name);
    }
    return this.metrics[name];
  }

  update(preds: PredsInput, target: LabelsInput): void {
    for (const m of Object.values(this.metrics)) m.update(preds, target);
  }

  compute(): Results<T> {
    const out = {} as Record<string, unknown>;
    for (const [k, m] of Object.entries(this.metrics)) out[k] = m.compute();
    return out as Results<T>;
  }

  reset(): void {
    for (const m of Object.values(this.metrics)) m.reset();
  }
}
