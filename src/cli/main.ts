import { libtorchVersion } from '../index.js';
import { type OptionSpec, UsageError, formatHelp, nearest, parseOptions } from './args.js';
import { runDemo } from './demo.js';

const TRAIN_OPTIONS: OptionSpec[] = [
  { name: 'epochs', type: 'number', help: 'training epochs', default: 10 },
  { name: 'seed', type: 'number', help: 'random seed (runs repeat exactly)', default: 0 },
  { name: 'samples', type: 'number', help: 'training samples of the built-in data', default: 4000 },
];

const COMMANDS = ['train', 'version'] as const;

const USAGE = `mmbalance: balanced multimodal learning on libtorch

Usage: mmbalance <command> [options]

Commands:
  train      train on the built-in two-modality data and report fused and per-modality accuracy
  version    print the mmbalance and libtorch versions

Run 'mmbalance <command> --help' for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      console.log(USAGE);
      return cmd === undefined ? 1 : 0;
    }
    if (cmd === 'version' || cmd === '--version') {
      console.log(`mmbalance 0.1.0 (libtorch ${libtorchVersion()})`);
      return 0;
    }
    if (cmd === 'train') {
      if (rest.includes('--help')) {
        console.log(formatHelp('Usage: mmbalance train [options]', TRAIN_OPTIONS));
        return 0;
      }
      const o = parseOptions(rest, TRAIN_OPTIONS);
      const epochs = o.epochs as number;
      const samples = o.samples as number;
      if (!Number.isInteger(epochs) || epochs < 1) throw new UsageError(`--epochs expects an integer >= 1 but received ${epochs}`);
      if (!Number.isInteger(samples) || samples < 64) throw new UsageError(`--samples expects an integer >= 64 but received ${samples}`);
      const r = runDemo({ epochs, seed: o.seed as number, samples, log: (l) => console.log(l) });
      console.log(JSON.stringify({ test: { accuracy: r.fusedAccuracy }, unimodalAccuracy: r.unimodalAccuracy }));
      return 0;
    }
    const near = nearest(cmd, COMMANDS);
    throw new UsageError(`unknown command '${cmd}'${near ? `; did you mean '${near}'?` : ''} (see mmbalance --help)`);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`mmbalance: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
