/** A small, strict argument parser: unknown options and stray words are errors that suggest the way out. */
import { nearest } from '../train/run_config.js';

export { nearest };

export interface OptionSpec {
  name: string;
  /** 'list': repeatable, collected in order. */
  type: 'number' | 'string' | 'boolean' | 'list';
  help: string;
  default?: number | string | boolean;
  /** What help shows as the default when it comes from elsewhere (the preset), not from the parser. */
  shownDefault?: string;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export type OptionValues = Record<string, number | string | boolean | string[]>;

/** True when the arguments ask for help (--help or -h anywhere). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/**
 * Parses `--name value`, `--name=value` and boolean `--flag`. Words that are not options are
 * positionals: at most `maxPositionals` of them (default 0), else an error naming the stray word.
 */
export function parseOptions(
  argv: readonly string[],
  specs: readonly OptionSpec[],
  positionals: string[] = [],
  maxPositionals = 0,
): OptionValues {
  const out: OptionValues = {};
  for (const s of specs) if (s.default !== undefined) out[s.name] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      if (positionals.length >= maxPositionals)
        throw new UsageError(
          maxPositionals === 0
            ? `unexpected argument '${arg}': this command takes options only (see --help)`
            : `unexpected extra argument '${arg}' (see --help)`,
        );
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) {
      const near = nearest(
        arg.replace(/^-+/, ''),
        specs.map((s) => s.name),
      );
      throw new UsageError(`unknown option ${arg}: options are written --name${near ? `; did you mean --${near}?` : ''} (see --help)`);
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
      if (inline !== undefined && inline !== 'true' && inline !== 'false')
        throw new UsageError(`option --${spec.name} is a flag: give it alone, or as --${spec.name}=true or =false`);
      out[spec.name] = inline === undefined ? true : inline === 'true';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`option --${spec.name} needs a value`);
    if (spec.type === 'list') {
      out[spec.name] = [...((out[spec.name] as string[] | undefined) ?? []), value];
    } else if (spec.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n))
        throw new UsageError(`option --${spec.name} expects a number but received '${value}'`);
      out[spec.name] = n;
    } else out[spec.name] = value;
  }
  return out;
}

export function formatHelp(usage: string, specs: readonly OptionSpec[], examples: readonly string[] = []): string {
  const rows = specs.map((s) => {
    const flag = `--${s.name}${s.type === 'boolean' ? '' : ` <${s.type === 'list' ? 'key=value' : s.type}>`}`;
    const shown = s.shownDefault ?? (s.default !== undefined ? String(s.default) : undefined);
    const def = shown !== undefined ? ` (default ${shown})` : '';
    return `  ${flag.padEnd(24)} ${s.help}${def}`;
  });
  const ex = examples.length > 0 ? `\n\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}` : '';
  return `${usage}\n\nOptions:\n${rows.join('\n')}\n  ${'-h, --help'.padEnd(24)} show this help${ex}`;
}
