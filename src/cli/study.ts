/**
 * `aelab study` (what `npm start` runs): seed 000's Final Project. Trains seven
 * architectures on MNIST (or Fashion-MNIST), runs every analysis and application on each and
 * writes a self-contained HTML report, `report.json` and the trained models into `--out`.
 * Re-running reuses what an earlier run with the same settings already trained and analysed,
 * and continues a model whose training was interrupted (Ctrl-C) from its checkpoint.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/backend';
import { AelabError } from '../lib/errors';
import { STUDY_MODELS } from '../lib/study/architectures';
import { PROFILE_NAMES, ProfileName } from '../lib/study/profiles';
import { STUDY_DATASETS, runStudy } from '../lib/study/run';
import { InterruptedError } from '../lib/train/fit';
import { handleInterrupt } from './interrupt';

/** The options of `aelab study`, as parsed. */
interface StudyCliOptions {
  profile: ProfileName;
  dataset: (typeof STUDY_DATASETS)[number];
  out: string;
  force?: boolean;
  seed: number;
  models?: string[];
  quiet?: boolean;
  epochs?: number;
  resume?: boolean;
}

/** Adds `study` to the `aelab` program. */
export function registerStudy(cli: Command): void {
  const cmd = cli
    .command('study')
    .description('train seven autoencoder architectures, run every analysis on each and write a self-contained HTML report (what `npm start` runs)')
    .addOption(new Option('--profile <name>', 'quick (under 3 min on 2 cores) | standard | full (the seeds\' epochs, all data)').argParser(profileName).default('standard'))
    .option('--dataset <name>', STUDY_DATASETS.join(' | '), datasetName, 'mnist')
    .option('--out <dir>', 'study directory: index.html, report.json, models/<name>/', 'reports/study')
    .option('--force', 'retrain and reanalyse models an earlier run already did')
    .option('--seed <n>', 'seed of the data subsets, weights, shuffles and noise', nonNegativeInt, 1)
    .option('--models <names>', `comma-separated subset of ${STUDY_MODELS.join(',')} (default: all)`, modelList)
    .option('--epochs <n>', "epochs of every model (default: the profile's)", positiveInt)
    .option('--resume', 'continue the interrupted study in --out (what a re-run does anyway; an error when --out holds none)')
    .option('--quiet', 'no progress output (the report path is still printed)')
    .addHelpText(
      'after',
      '\nThe models learn classes 0-8 only; class 9 is the anomaly of the anomaly-detection test.\n' +
        'Open <out>/index.html in a browser: it needs no network and no script.',
    )
    .action(async (opts: StudyCliOptions) => {
      if (opts.resume && opts.force) cmd.error('error: --resume and --force contradict each other (--force retrains everything)', { exitCode: 2 });
      if (opts.resume && !fs.existsSync(path.join(opts.out, 'models'))) {
        cmd.error(`error: --resume: ${opts.out} holds no earlier study (run without --resume to start one)`, { exitCode: 2 });
      }
      await initBackend({ quiet: opts.quiet === true });
      const log = opts.quiet ? undefined : (line: string) => console.error(line);
      const interrupt = handleInterrupt('stopping after this batch (training) or stage (analysis)');
      let result: Awaited<ReturnType<typeof runStudy>>;
      try {
        result = await runStudy({
          profile: opts.profile,
          dataset: opts.dataset,
          out: opts.out,
          force: opts.force === true,
          seed: opts.seed,
          models: opts.models,
          epochs: opts.epochs,
          log,
          progress: !opts.quiet,
          signal: interrupt.signal,
        });
      } catch (err) {
        if (err instanceof InterruptedError) console.error(`aelab: continue with: ${resumeCommand(opts)}`);
        throw err;
      } finally {
        interrupt.dispose();
      }
      console.log(result.htmlPath);
      const failed = result.report.failures;
      if (failed.length > 0) {
        // The report is written; the exit code (1) tells scripts and CI that part of it is missing.
        throw new AelabError(`${failed.length} analysis stage(s) failed, shown as n/a in the report: ${failed.map((f) => `${f.model}/${f.stage} (${f.message})`).join('; ')}`);
      }
    });
  cmd.showHelpAfterError(`Usage: aelab study ${cmd.usage()}  (aelab study --help lists the options)`);
}

function profileName(v: string): ProfileName {
  if (!(PROFILE_NAMES as readonly string[]).includes(v)) throw new InvalidArgumentError('--profile must be one of quick, standard, full.');
  return v as ProfileName;
}

function datasetName(v: string): (typeof STUDY_DATASETS)[number] {
  if (!(STUDY_DATASETS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--dataset must be one of ${STUDY_DATASETS.join(', ')}.`);
  return v as (typeof STUDY_DATASETS)[number];
}

/** The command that continues an interrupted study with the same settings. */
function resumeCommand(o: StudyCliOptions): string {
  const parts = ['aelab study --resume', `--profile ${o.profile}`, `--out ${o.out}`];
  if (o.dataset !== 'mnist') parts.push(`--dataset ${o.dataset}`);
  if (o.seed !== 1) parts.push(`--seed ${o.seed}`);
  if (o.models) parts.push(`--models ${o.models.join(',')}`);
  if (o.epochs !== undefined) parts.push(`--epochs ${o.epochs}`);
  return parts.join(' ');
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--epochs must be an integer >= 1.');
  return n;
}

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError('--seed must be an integer >= 0.');
  return n;
}

function modelList(v: string): string[] {
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(STUDY_MODELS as readonly string[]).includes(n));
  if (names.length === 0 || bad.length > 0) throw new InvalidArgumentError(`--models must be a comma-separated list of ${STUDY_MODELS.join(', ')}${bad.length ? ` (unknown: ${bad.join(', ')})` : ''}.`);
  return [...new Set(names)];
}
