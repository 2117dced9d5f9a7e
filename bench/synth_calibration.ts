/**
 * Calibration check of the default synthetic data: generation time, sizes, and the linear probe's
 * test weighted F1 per modality (targets: text 0.60, audio 0.46, visual 0.36, each +-0.04).
 *
 *   npx tsc -p . && node dist/bench/synth_calibration.js [seed ...]
 */
import { linearProbe } from '../src/data/probe.js';
import { synthConversations } from '../src/data/synth.js';
import { splitUtteranceCount } from '../src/data/types.js';

const TARGETS: Record<string, number> = { text: 0.6, audio: 0.46, visual: 0.36 };
const seeds = process.argv.slice(2).map(Number);
for (const seed of seeds.length > 0 ? seeds : [0]) {
  const t0 = performance.now();
  const ds = synthConversations({ seed });
  const genMs = performance.now() - t0;
  const counts = (['train', 'dev', 'test'] as const).map(
    (s) => `${s} ${ds.splits[s].length} dialogues / ${splitUtteranceCount(ds, s)} utterances`,
  );
  console.log(`seed ${seed}: generated in ${genMs.toFixed(0)} ms; ${counts.join(', ')}`);
  for (const m of ds.modalities) {
    const t1 = performance.now();
    const r = linearProbe(ds, m);
    const target = TARGETS[m];
    const note = target === undefined ? '' : ` (target ${target.toFixed(2)}, ${Math.abs(r.weightedF1 - target) <= 0.04 ? 'ok' : 'OFF'})`;
    console.log(
      `  ${m.padEnd(7)} weighted F1 ${r.weightedF1.toFixed(3)}  accuracy ${r.accuracy.toFixed(3)}  ${((performance.now() - t1) / 1000).toFixed(1)} s${note}`,
    );
  }
}
