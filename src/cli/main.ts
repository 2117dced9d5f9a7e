import { libtorchVersion } from '../engine/runtime.js';
import { UsageError, nearest } from './args.js';
import { MMBALANCE_VERSION } from '../train/experiment.js';
import { ConfigError, configCommand, dataCommand, evalCommand, predictCommand, trainCommand } from './commands.js';
import { sweepCommand } from './sweep.js';
import { robustnessCommand } from './robustness.js';
import { diagnoseCommand } from './diagnose.js';
import { reportCommand } from './report.js';

const COMMANDS: Record<string, (argv: string[], log: (l: string) => void) => number | Promise<number>> = {
  train: trainCommand,
  eval: evalCommand,
  predict: predictCommand,
  data: dataCommand,
  sweep: sweepCommand,
  robustness: robustnessCommand,
  diagnose: diagnoseCommand,
  report: reportCommand,
  config: configCommand,
};

const USAGE = `mmbalance: balanced multimodal learning on libtorch

Usage: mmbalance <command> [options]

Commands:
  train      train a multimodal model (no options: the built-in data) and write a run directory
  eval       evaluate a run's best weights on a split
  predict    write per-sample predictions of a run as JSON lines
  data       convert, build (AV-MNIST), generate or inspect datasets
  sweep      train each modality combination over several seeds and tabulate the results
  robustness score a run with one modality corrupted (noise, frequency masks, zeros) at rising levels
  diagnose   a short look at a dataset before training: modality strengths, imbalance under joint training, a verdict
  report     an offline HTML report of figures from runs, sweeps, robustness tests and diagnoses
  config     list every configuration key with its default, type and meaning
  help CMD   show a command's help
  version    print the mmbalance and libtorch versions

Run 'mmbalance <command> --help' (or -h) for a command's options.`;

export async function main(argv: string[], log: (l: string) => void = (l) => console.log(l)): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === 'help' && rest.length > 0) {
      const target = COMMANDS[rest[0]!];
      if (!target) {
        const near = nearest(rest[0]!, Object.keys(COMMANDS));
        throw new UsageError(`no command '${rest[0]}'${near ? `; did you mean '${near}'?` : ''} (see mmbalance --help)`);
      }
      return target(['--help'], log);
    }
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      log(USAGE);
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === 'version' || cmd === '--version') {
      log(`mmbalance ${MMBALANCE_VERSION} (libtorch ${libtorchVersion()})`);
      return 0;
    }
    const run = COMMANDS[cmd];
    if (!run) {
      const near = nearest(cmd, [...Object.keys(COMMANDS), 'version']);
      throw new UsageError(`unknown command '${cmd}'${near ? `; did you mean '${near}'?` : ''} (see mmbalance --help)`);
    }
    return await run(rest, log);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      console.error(`mmbalance: ${e.message}`);
      return 2;
    }
    const err = e as Error;
    if (process.env.MMBALANCE_DEBUG) throw e;
    // Errors that explain themselves (bad data, bad files, a diverged run) need no stack trace.
    const known = [
      'DatasetError',
      'PickleError',
      'PickleSecurityError',
      'SafetensorsError',
      'TrainingError',
      'ArgumentError',
      'TorchError',
      'RunLockedError',
    ];
    if (known.includes(err.name)) {
      console.error(`mmbalance: ${err.name}: ${err.message}`);
    } else {
      console.error(`mmbalance: ${err.message ?? String(e)}\n(set MMBALANCE_DEBUG=1 to see where it happened)`);
    }
    return 1;
  }
}
