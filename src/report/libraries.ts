import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ReportError } from './errors.js';

const cache = new Map<string, string>();

/** The installed package's folder, found from its entry point. */
function packageDir(name: string): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(name);
  } catch {
    throw new ReportError(`the report needs the package '${name}', which is not installed: run npm install in the mmbalance folder`);
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === name) return dir;
  }
  throw new ReportError(`cannot find the folder of the package '${name}' from ${entry}`);
}

/**
 * A package's minified browser build (the file its package.json names for CDNs), read from
 * node_modules at generation time and made safe to inline in a <script> element.
 */
export function browserBuild(name: 'vega' | 'vega-embed'): string {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const dir = packageDir(name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { jsdelivr?: string; unpkg?: string; version?: string };
  const rel = pkg.jsdelivr ?? pkg.unpkg;
  if (!rel || !existsSync(join(dir, rel)))
    throw new ReportError(`the package '${name}' has no minified browser build (${rel ?? 'none named'}); reinstall it with npm install`);
  // "</script" would end the inline element early; "<\/script" means the same inside JavaScript strings and regexes.
  const code = readFileSync(join(dir, rel), 'utf8')
    .replace(/<\/script/gi, '<\\/script')
    .replace(/\/\/# sourceMappingURL=.*$/gm, '');
  const text = `/* ${name} ${pkg.version ?? ''} */\n${code}`;
  cache.set(name, text);
  return text;
}
