import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ReportError } from './errors.js';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The browser to drive: MMBALANCE_CHROMIUM, else chromium, chromium-browser or google-chrome on PATH; null when none is found. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const given = env.MMBALANCE_CHROMIUM;
  if (given) return given;
  for (const name of NAMES)
    for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
      const p = join(dir, name);
      if (existsSync(p) && executable(p)) return p;
    }
  return null;
}

export const NO_CHROMIUM =
  'PNG figures are drawn by a headless Chromium, and none was found (looked for MMBALANCE_CHROMIUM, then chromium, chromium-browser, google-chrome on PATH). ' +
  'Install it (Debian/Ubuntu: sudo apt-get install chromium), set MMBALANCE_CHROMIUM=/path/to/chromium, or use --format svg, which needs no browser.';

/** The chromium executable, or an error that says how to get one. */
export function requireChromium(): string {
  const path = findChromium();
  if (path === null) throw new ReportError(NO_CHROMIUM);
  if (!existsSync(path))
    throw new ReportError(`MMBALANCE_CHROMIUM is ${path}, which does not exist; point it at a chromium executable, or use --format svg`);
  return path;
}
