#!/usr/bin/env node
// Finds libtorch for the native build. Order: the LIBTORCH environment variable (a libtorch
// distribution, or the `torch` folder of a Python install), then the system install
// (Debian/Ubuntu `libtorch-dev`). Prints compiler and linker flags for binding.gyp.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const MIN_VERSION = [1, 13];

function readVersion(includeRoots) {
  for (const inc of includeRoots) {
    const f = join(inc, 'torch/csrc/api/include/torch/version.h');
    if (existsSync(f)) {
      const s = readFileSync(f, 'utf8');
      const major = Number(/TORCH_VERSION_MAJOR\s+(\d+)/.exec(s)?.[1]);
      const minor = Number(/TORCH_VERSION_MINOR\s+(\d+)/.exec(s)?.[1]);
      const patch = Number(/TORCH_VERSION_PATCH\s+(\d+)/.exec(s)?.[1] ?? 0);
      if (Number.isFinite(major) && Number.isFinite(minor)) return { major, minor, patch };
    }
  }
  return null;
}

function readAbi(cmakeDirs) {
  for (const d of cmakeDirs) {
    const f = join(d, 'TorchConfig.cmake');
    if (existsSync(f)) {
      const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(readFileSync(f, 'utf8'));
      if (m) return Number(m[1]);
    }
  }
  return null;
}

function candidate(source, root, includeDir, libDir, cmakeDirs) {
  const header = join(includeDir, 'ATen/ATen.h');
  const lib = join(libDir, 'libtorch_cpu.so');
  if (!existsSync(header) || !existsSync(lib)) {
    return { source, root, ok: false, why: `no ${existsSync(header) ? lib : header}` };
  }
  const includeDirs = [includeDir, join(includeDir, 'torch/csrc/api/include')];
  const version = readVersion([includeDir]);
  let abi = readAbi(cmakeDirs);
  // Python wheels record the ABI in torch/_C; default to what the platform compiler uses.
  if (abi === null) abi = source === 'system' ? 1 : guessWheelAbi(root);
  const cuda = existsSync(join(libDir, 'libtorch_cuda.so'));
  return { source, root, ok: true, includeDirs, libDir, version, abi, cuda, c10d: findC10d(includeDir, libDir, cuda) };
}

/**
 * Whether c10d's process groups can be built: its headers, Gloo's headers (Debian: libgloo-dev)
 * and, for a libtorch that does not carry Gloo inside itself, Gloo's library; NCCL when the
 * libtorch has CUDA and NCCL's header is found. Without Gloo the addon builds without c10d.
 */
function findC10d(includeDir, libDir, cuda) {
  const none = { gloo: false, nccl: false, glooLib: null, why: '' };
  if (!existsSync(join(includeDir, 'torch/csrc/distributed/c10d/ProcessGroupGloo.hpp')))
    return { ...none, why: 'this libtorch has no c10d headers' };
  const glooInclude = [includeDir, '/usr/include', '/usr/local/include'].find((d) => existsSync(join(d, 'gloo/config.h')));
  if (!glooInclude) return { ...none, why: 'no Gloo headers (gloo/config.h); install libgloo-dev' };
  // Debian's libtorch links Gloo dynamically (libgloo.so from libgloo-dev); distributions built
  // with Gloo inside libtorch_cpu need no extra library.
  const glooLib = [libDir, '/usr/lib', '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/local/lib']
    .map((d) => join(d, 'libgloo.so'))
    .find((f) => existsSync(f));
  const nccl =
    cuda &&
    existsSync(join(includeDir, 'torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp')) &&
    [includeDir, '/usr/include', '/usr/local/include', '/usr/local/cuda/include'].some((d) => existsSync(join(d, 'nccl.h')));
  return { gloo: true, nccl, glooLib: glooLib ?? null, glooInclude, why: '' };
}

function guessWheelAbi(root) {
  // Older pip wheels (before 2.x) were built with the pre-C++11 ABI; libtorch zips say which
  // in their name, which we cannot see here, so look for the C++11 marker in the library.
  try {
    const buf = readFileSync(join(root, 'lib', 'libc10.so'));
    return buf.includes('__cxx11') ? 1 : 0;
  } catch {
    return 1;
  }
}

function systemLibDirs() {
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
  try {
    for (const d of readdirSync('/usr/lib')) if (d.endsWith('-linux-gnu')) dirs.push(join('/usr/lib', d));
  } catch {
    /* not Linux */
  }
  return [...new Set(dirs)];
}

export function findLibtorch(env = process.env) {
  const tried = [];
  if (env.LIBTORCH) {
    const root = env.LIBTORCH;
    const c = candidate('LIBTORCH', root, join(root, 'include'), join(root, 'lib'), [join(root, 'share/cmake/Torch')]);
    if (c.ok) return { found: c, tried };
    tried.push(c);
  }
  for (const libDir of systemLibDirs()) {
    for (const inc of ['/usr/include', '/usr/local/include']) {
      if (!existsSync(join(libDir, 'libtorch_cpu.so')) || !existsSync(join(inc, 'ATen/ATen.h'))) continue;
      const c = candidate('system', '/usr', inc, libDir, [join(libDir, 'cmake/Torch')]);
      if (c.ok) return { found: c, tried };
      tried.push(c);
    }
  }
  tried.push({ source: 'system', root: '/usr', ok: false, why: 'no libtorch-dev headers or libraries' });
  return { found: null, tried };
}

export function versionOk(v) {
  if (!v) return false;
  return v.major > MIN_VERSION[0] || (v.major === MIN_VERSION[0] && v.minor >= MIN_VERSION[1]);
}

export function solutions() {
  return [
    'Possible solutions:',
    '- Debian/Ubuntu: sudo apt-get install libtorch-dev   (libtorch 1.13, CPU)',
    '- A libtorch distribution (CPU or CUDA): unpack it and set LIBTORCH=/path/to/libtorch',
    "- A Python PyTorch install: LIBTORCH=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')",
    '- Then rebuild the addon: npm run build:native',
  ].join('\n');
}

function flags(lt) {
  const libs = ['-ltorch', '-ltorch_cpu', '-lc10'];
  const ldflags = [`-L${lt.libDir}`, `-Wl,-rpath,${lt.libDir}`];
  if (lt.cuda) {
    // Without --no-as-needed the linker drops libtorch_cuda and CUDA kernels never register.
    ldflags.push('-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed');
  }
  const defines = [`_GLIBCXX_USE_CXX11_ABI=${lt.abi}`];
  const includeDirs = [...lt.includeDirs];
  if (lt.c10d.gloo) {
    defines.push('USE_C10D_GLOO', 'MMB_WITH_GLOO');
    if (!includeDirs.includes(lt.c10d.glooInclude)) includeDirs.push(lt.c10d.glooInclude);
    if (lt.c10d.glooLib) ldflags.push(`-L${dirname(lt.c10d.glooLib)}`, '-Wl,--no-as-needed', '-lgloo', '-Wl,--as-needed');
  }
  if (lt.c10d.nccl) defines.push('USE_C10D_NCCL', 'MMB_WITH_NCCL');
  return {
    '--include-dirs': includeDirs,
    '--defines': defines,
    '--libs': libs,
    '--ldflags': ldflags,
  };
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const { found, tried } = findLibtorch();
  const arg = process.argv[2] ?? '--describe';
  if (!found) {
    console.error(`mmbalance: libtorch was not found (tried: ${tried.map((t) => `${t.source} ${t.root}: ${t.why}`).join('; ')})`);
    console.error(solutions());
    process.exit(1);
  }
  if (arg === '--describe' || arg === '--json') {
    console.log(JSON.stringify(found, null, 2));
  } else {
    const f = flags(found);
    if (!(arg in f)) {
      console.error(`unknown option ${arg}; use one of ${Object.keys(f).join(', ')}, --json`);
      process.exit(2);
    }
    console.log(f[arg].join(' '));
  }
}
