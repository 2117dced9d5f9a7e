#!/usr/bin/env node
// Builds the native addon (run by `npm install`). Checks libtorch first so a missing or too-old
// install gets a message with the ways out instead of a page of compiler errors. Skips the
// build when the sources and the libtorch found are unchanged since the last one.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch, versionOk, solutions, MIN_VERSION } from './libtorch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');

const { found, tried } = findLibtorch();
if (!found) {
  console.error('mmbalance: cannot build the native addon: libtorch was not found.');
  for (const t of tried) console.error(`  tried ${t.source} (${t.root}): ${t.why}`);
  console.error(solutions());
  process.exit(1);
}
if (!versionOk(found.version)) {
  const v = found.version ? `${found.version.major}.${found.version.minor}` : 'unknown';
  console.error(`mmbalance: libtorch ${v} at ${found.root} is too old; ${MIN_VERSION.join('.')} or newer is needed.`);
  console.error(solutions());
  process.exit(1);
}

const hash = createHash('sha256');
hash.update(JSON.stringify(found));
hash.update(readFileSync(join(root, 'binding.gyp')));
for (const f of readdirSync(join(root, 'native')).sort()) hash.update(f).update(readFileSync(join(root, 'native', f)));
const digest = hash.digest('hex');
const stamp = join(root, 'build', 'mmbalance.stamp');
const addon = join(root, 'build', 'Release', 'mmbalance.node');
if (!force && existsSync(addon) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) {
  console.log(`mmbalance: native addon is up to date (libtorch ${found.version.major}.${found.version.minor} from ${found.source})`);
  process.exit(0);
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const candidates = [
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    join(root, 'node_modules/node-gyp/bin/node-gyp.js'),
  ];
  for (const c of candidates) if (existsSync(c)) return c;
  console.error('mmbalance: node-gyp was not found; it ships with npm. Reinstall npm, or: npm install -g node-gyp');
  process.exit(1);
}

console.log(
  `mmbalance: building the native addon against libtorch ${found.version.major}.${found.version.minor} ` +
    `(${found.source}: ${found.root}${found.cuda ? ', CUDA' : ''}); this takes a few minutes...`,
);
const jobs = process.env.JOBS ?? 'max';
const gypArgs = [nodeGyp(), 'rebuild', `--jobs=${jobs}`];
// Build against the headers of the running Node when they are installed beside it, so no
// header download is needed (npm sets this itself through npm_config_nodedir).
const localHeaders = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(localHeaders, 'include/node/node_api.h'))) {
  gypArgs.push(`--nodedir=${localHeaders}`);
}
const r = spawnSync(process.execPath, gypArgs, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('mmbalance: the native build failed (see the compiler output above).');
  console.error(solutions());
  process.exit(r.status ?? 1);
}
mkdirSync(dirname(stamp), { recursive: true });
writeFileSync(stamp, digest);
console.log('mmbalance: native addon built.');
