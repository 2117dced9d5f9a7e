import { appendFileSync, writeFileSync } from 'node:fs';
import type { Logger } from './callbacks.js';

function fmt(v: unknown): string {
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : String(v);
}

/** One line per epoch on stdout. */
export class ConsoleLogger implements Logger {
  readonly name = 'console';
  readonly version = '1';
  constructor(private readonly write: (line: string) => void = (l) => console.log(l)) {}
  logMetrics(m: Record<string, unknown>, step: number): void {
    const dev = (m.dev ?? {}) as Record<string, number>;
    const uni = (m.unimodalAccuracy ?? {}) as Record<string, number>;
    const rho = (m.disparityRatio ?? {}) as Record<string, number>;
    const probe = (m.probeAccuracy ?? null) as Record<string, number> | null;
    const parts = [
      `epoch ${step}`,
      `loss ${fmt(m.trainLoss)}`,
      `dev acc ${fmt(dev.accuracy)} wF1 ${fmt(dev.weightedF1)}`,
      `unimodal acc ${Object.entries(uni)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(' ')}`,
      ...(probe
        ? [
            `probe acc ${Object.entries(probe)
              .map(([k, v]) => `${k} ${fmt(v)}`)
              .join(' ')}`,
          ]
        : []),
      `rho ${Object.entries(rho)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(' ')}`,
      `${fmt(m.seconds)}s`,
    ];
    this.write(parts.join('  '));
  }
  logHyperparams(params: Record<string, unknown>): void {
    this.write(`config ${JSON.stringify(params)}`);
  }
}

/** JSON lines: one object per epoch, appended. */
export class JsonlLogger implements Logger {
  readonly name = 'jsonl';
  readonly version = '1';
  constructor(
    readonly path: string,
    fresh = true,
  ) {
    if (fresh) writeFileSync(path, '');
  }
  logMetrics(m: Record<string, unknown>, step: number): void {
    appendFileSync(this.path, JSON.stringify({ epoch: step, ...m }) + '\n');
  }
  logHyperparams(): void {}
  restore(history: readonly Record<string, unknown>[]): void {
    writeFileSync(this.path, history.map((h) => JSON.stringify(h) + '\n').join(''));
  }
}
