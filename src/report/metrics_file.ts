import { readFileSync } from 'node:fs';
import { ReportError } from './errors.js';
import type { EpochLine, Warn } from './inputs.js';

/**
 * Reads metrics.jsonl. A run killed while writing leaves its last line cut short: that line is
 * left out with one warning. A bad line anywhere else means a damaged file, and is an error.
 */
export function readMetricsFile(path: string, warn: Warn): EpochLine[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  let last = lines.length - 1;
  while (last >= 0 && lines[last]!.trim() === '') last--;
  const byEpoch = new Map<number, EpochLine>();
  for (let i = 0; i <= last; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      if (i === last) {
        warn(`${path}: line ${i + 1} is cut short (the run stopped while writing it); the report leaves that epoch out`);
        continue;
      }
      throw new ReportError(`${path}: line ${i + 1} is not valid JSON, and it is not the last line; the file is damaged`);
    }
    const epoch = (rec as { epoch?: unknown } | null)?.epoch;
    if (typeof epoch !== 'number')
      throw new ReportError(`${path}: line ${i + 1} has no epoch number; is this a metrics.jsonl written by mmbalance train?`);
    // A resumed run rewrites epochs after its checkpoint: the later line is the one that counts.
    byEpoch.set(epoch, rec as EpochLine);
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}
