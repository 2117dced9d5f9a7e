import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../test/helpers.js';

const HEADER = '# Benchmarks\n\nMeasured numbers, with the machine and the command. Shared machines are noisy: compare within one run.\n';

/** Replaces (or appends) one named section of bench/BENCHMARKS.md, leaving the others alone. */
export function writeSection(name: string, title: string, body: string): string {
  const file = join(packageRoot(), 'bench', 'BENCHMARKS.md');
  let text = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n## ${title}\n\n${body.trim()}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  text = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text);
  return file;
}
