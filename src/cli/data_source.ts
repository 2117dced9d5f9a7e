import { loadDataset, readErcPickle, synthConversations } from '../data/index.js';
import { holdOutDev } from '../data/split.js';
import type { ConversationDataset } from '../data/types.js';
import type { RunConfig } from './run_config.js';

/** The run's data: the built-in generator, an mmbalance dataset file, or a feature pickle. */
export function loadRunData(c: RunConfig): ConversationDataset {
  let ds: ConversationDataset;
  const path = c.data.path;
  if (path === null) {
    ds = synthConversations({ seed: c.train.seed, devFraction: c.data.devFraction, ...c.data.synth });
  } else if (path.endsWith('.safetensors') || c.data.format === 'mmbalance') {
    ds = loadDataset(path);
  } else {
    ds = readErcPickle(path, {
      format: c.data.format as never,
      devFraction: c.data.devFraction,
      devMode: c.data.devMode,
      seed: c.train.seed,
    });
  }
  if (ds.splits.dev.length === 0) ds = holdOutDev(ds, { fraction: c.data.devFraction, seed: c.train.seed, mode: c.data.devMode });
  return ds;
}
