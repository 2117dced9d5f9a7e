/**
 * Epoch time on the built-in IEMOCAP-shaped data with a preset's model and method
 * (run: npm run build && node dist/bench/epoch.js [epochs] [--preset ada2i-iemocap] [--write]).
 */
import { cpus } from 'node:os';
import { Trainer, buildRunModel, data, getNumThreads, makeStrategy } from '../src/index.js';
import { applyPreset, defaultRunConfig } from '../src/train/run_config.js';
import { writeSection } from './report.js';

const args = process.argv.slice(2);
const epochs = Number(args.find((a) => /^\d+$/.test(a)) ?? 2);
const presetAt = args.indexOf('--preset');
const preset = presetAt >= 0 ? args[presetAt + 1]! : 'ada2i-iemocap';
const c = applyPreset(defaultRunConfig(), preset);
// The preset starts modulation (and its noise) at epoch 4; the measured epochs run the whole step.
const windowMoved = 'startEpoch' in c.methodOptions;
if (windowMoved) c.methodOptions = { ...c.methodOptions, startEpoch: 1 };
const t0 = performance.now();
const ds = data.synthConversations({ seed: c.train.seed });
const genSeconds = (performance.now() - t0) / 1000;
const conversations = new data.ConversationData(ds);
const model = buildRunModel(c, conversations);
const trainer = new Trainer(model, conversations, makeStrategy(c.method, c.methodOptions), { ...c.train, epochs, patience: 0 });
const r = trainer.fit({ progress: false });
const utter = ds.splits.train.reduce((a, d) => a + d.labels.length, 0);
const secs = r.history.map((h) => h.seconds);
const mean = secs.reduce((a, b) => a + b, 0) / secs.length;

// Matmul work of the encoders per utterance and training step (forward + backward = 3x forward):
// per layer QKV 6d^2, output projection 2d^2, feed-forward 4*d*ff; then Linear(d -> hidden).
const perUtter = ds.modalities.reduce((a, m) => {
  const d = ds.dims[m]!;
  return a + 3 * (c.model.layers * (8 * d * d + 4 * d * c.model.dimFeedforward) + 2 * d * c.model.hidden);
}, 0);
const tflop = (perUtter * utter) / 1e12;
const peakGflops = 175; // 2-core float32 matmul through libtorch, measured by bench/run.ts (BENCHMARKS.md, Engine)
const rows = [
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${getNumThreads()} threads. Command: \`node dist/bench/epoch.js ${epochs} --preset ${preset} --write\`.`,
  '',
  `Preset ${preset}: method ${c.method}, encoders ${c.model.encoder} (${c.model.layers} layers, ff ${c.model.dimFeedforward}, hidden ${c.model.hidden}), ` +
    `head ${c.model.head}${c.model.afw ? `, AFW rank ${c.model.afwRank}` : ''}, batches of ${c.train.batchSize} dialogues` +
    `${windowMoved ? '; modulation and its gradient noise on from epoch 1 (the preset starts them at epoch 4), so every measured epoch runs the full step' : ''}. ` +
    `Built-in data: ${ds.splits.train.length} training dialogues, ${utter} utterances; generated in ${genSeconds.toFixed(2)} s.`,
  '',
  '| epoch | training seconds | utterances / s |',
  '|---|---|---|',
  ...secs.map((s, i) => `| ${i + 1} | ${s.toFixed(1)} | ${(utter / s).toFixed(0)} |`),
  `| mean | ${mean.toFixed(1)} | ${(utter / mean).toFixed(0)} |`,
  '',
  `Encoder matmul work: ${(perUtter / 1e6).toFixed(0)} MFLOP per utterance and training step, ${tflop.toFixed(2)} TFLOP per epoch; ` +
    `at the mean epoch time that is ${((tflop * 1e3) / mean).toFixed(0)} GFLOP/s, ${((100 * (tflop * 1e3)) / mean / peakGflops).toFixed(0)}% of the ~${peakGflops} GFLOP/s two-core matmul peak. ` +
    `Peak resident memory of the whole process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB.`,
];
const body = rows.join('\n');
console.log(body);
if (args.includes('--write')) console.log(`wrote ${writeSection(`epoch-${preset}`, `Epoch time on the built-in data: ${preset}`, body)}`);
