/** A small, strict argument parser: unknown options are errors that suggest the nearest one. */
export interface OptionSpec {
  name: string;
  /** 'list': repeatable, collected in order. */
  type: 'number' | 'string' | 'boolean' | 'list';
  help: string;
  default?: number | string | boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

export function nearest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const dd = distance(word, c);
    if (dd < bestD) [best, bestD] = [c, dd];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

export type OptionValues = Record<string, number | string | boolean | string[]>;

/** Parses `--name value`, `--name=value` and boolean `--flag`; leading non-option words are returned as positionals. */
export function parseOptions(argv: readonly string[], specs: readonly OptionSpec[], positionals: string[] = []): OptionValues {
  const out: OptionValues = {};
  for (const s of specs) if (s.default !== undefined) out[s.name] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const body = arg.slice(2);
    const eq = body.indexOf('=');
    const rawName = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const spec = specs.find((s) => s.name === rawName);
    if (!spec) {
      const near = nearest(
        rawName,
        specs.map((s) => s.name),
      );
      throw new UsageError(`unknown option --${rawName}${near ? `; did you mean --${near}?` : ''} (see --help)`);
    }
    if (spec.type === 'boolean') {
      out[spec.name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`option --${spec.name} needs a value`);
    if (spec.type === 'list') {
      out[spec.name] = [...((out[spec.name] as string[] | undefined) ?? []), value];
    } else if (spec.type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new UsageError(`option --${spec.name} expects a number but received '${value}'`);
      out[spec.name] = n;
    } else out[spec.name] = value;
  }
  return out;
}

export function formatHelp(usage: string, specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const flag = `--${s.name}${s.type === 'boolean' ? '' : ` <${s.type}>`}`;
    const def = s.default !== undefined ? ` (default ${String(s.default)})` : '';
    return `  ${flag.padEnd(22)} ${s.help}${def}`;
  });
  return `${usage}\n\nOptions:\n${rows.join('\n')}\n  --help                 show this help`;
}
