#!/usr/bin/env node
// Loading the library loads libtorch; what fails there (no native build, a bad MMBALANCE_SIMD) is
// reported in one line like any other error of the command.
let main;
try {
  ({ main } = await import('../dist/src/cli/main.js'));
} catch (e) {
  console.error(`mmbalance: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}

process.exitCode = await main(process.argv.slice(2));
