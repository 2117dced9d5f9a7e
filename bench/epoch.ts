/**
 * Epoch time of joint training on the built-in IEMOCAP-shaped data with the default model
 * (run: npm run build && node dist/bench/epoch.js [epochs] [--write]).
 */
import { cpus } from 'node:os';
import { JointTraining, Trainer, ConversationModel, data, getNumThreads, manualSeed } from '../src/index.js';
import { writeSection } from './report.js';

const epochs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 2);
const t0 = performance.now();
const ds = data.synthConversations({ seed: 12 });
const genSeconds = (performance.now() - t0) / 1000;
manualSeed(12);
const model = new ConversationModel(ds.modalities, ds.dims, ds.classNames.length);
const trainer = new Trainer(model, ds, new JointTraining(), { epochs, patience: 0 });
const rss0 = process.memoryUsage().rss;
const r = trainer.fit({ progress: false });
const utter = ds.splits.train.reduce((a, d) => a + d.labels.length, 0);
const secs = r.history.map((h) => h.seconds);
const mean = secs.reduce((a, b) => a + b, 0) / secs.length;
const rows = [
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${getNumThreads()} threads. Command: \`node dist/bench/epoch.js ${epochs} --write\`.`,
  '',
  `Joint training, default model (per modality: 2-layer Transformer encoder with ff 2048 over the utterances, then Linear to 300; concat head), ` +
    `batches of 10 dialogues, Adam. Built-in data: ${ds.splits.train.length} training dialogues, ${utter} utterances; generated in ${genSeconds.toFixed(2)} s.`,
  '',
  '| epoch | training seconds | utterances / s |',
  '|---|---|---|',
  ...secs.map((s, i) => `| ${i + 1} | ${s.toFixed(1)} | ${(utter / s).toFixed(0)} |`),
  `| mean | ${mean.toFixed(1)} | ${(utter / mean).toFixed(0)} |`,
  '',
  `Resident memory: ${(rss0 / 2 ** 20).toFixed(0)} MiB before training, ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB after (a high-water mark: the allocator keeps freed activation blocks).`,
];
const body = rows.join('\n');
console.log(body);
if (process.argv.includes('--write')) console.log(`wrote ${writeSection('epoch', 'Epoch time on the built-in data', body)}`);
