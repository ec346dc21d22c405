#!/usr/bin/env node
/** The `aelab` command. Every command is a thin layer over the library. */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, describeBackend, BACKENDS } from '../lib/backend';
import { AelabError } from '../lib/errors';
import { version } from '../lib/version';
import { findDatasets, loadMnist } from '../lib/data/mnist';
import { AE } from '../lib/models/ae';
import { fit, evaluateLoss, InterruptedError } from '../lib/train/fit';
import { terminalProgress } from '../lib/train/progress';
import { saveImage } from '../lib/viz/image';
import { addTrainCommands } from './train';
import { registerExplore } from './explore';
import { registerStudy } from './study';

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be an integer >= 1.`);
    return n;
  };
}

export function program(): Command {
  const cli = new Command('aelab')
    .description('Build, train and analyse autoencoders on TensorFlow.js.')
    .version(version)
    .exitOverride();

  cli
    .command('info')
    .description('show the active backend, versions and the datasets found')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const backend = await initBackend({ quiet: true });
      const datasets = findDatasets();
      const info = { aelab: version, node: process.version, tfjs: tf.version.tfjs, backend, datasets };
      if (opts.json) {
        console.log(JSON.stringify(info, null, 2));
        return;
      }
      console.log(`aelab ${version} on Node ${process.version}, TensorFlow.js ${tf.version.tfjs}`);
      console.log(describeBackend(backend).replace(/^aelab: /, ''));
      console.log(`backends known: ${BACKENDS.join(', ')} (force one with AELAB_BACKEND)`);
      console.log('datasets:');
      for (const d of datasets) console.log(`  ${d.name.padEnd(14)} ${d.dir ?? `not found: ${d.how ?? ''}`}`);
    });

  cli
    .command('demo')
    .description('train the 784-400-20 autoencoder briefly on MNIST and save a reconstruction grid')
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'), 2)
    .option('--train-size <n>', 'training images', positiveInt('--train-size'), 10000)
    .option('--out <dir>', 'output directory', 'runs/demo')
    .option('--seed <n>', 'random seed', positiveInt('--seed'), 1)
    .action(async (opts: { epochs: number; trainSize: number; out: string; seed: number }) => {
      await initBackend();
      const { train, test } = await loadMnist({ trainSize: opts.trainSize, testSize: 1000, seed: opts.seed });
      const model = new AE({ seed: opts.seed });
      console.error(`model: ${model.name}, ${model.paramCount().toLocaleString('en-US')} parameters; training on ${train.x.shape[0]} images`);
      const progress = terminalProgress();
      await fit(model, train, { epochs: opts.epochs, batchSize: 128, lr: 1e-3, loss: 'bce', reduction: 'sum', seed: opts.seed, ...progress });
      const testLoss = await evaluateLoss(model, test, { loss: 'bce', reduction: 'sum' });
      console.error(`test BCE per image: ${testLoss.toFixed(2)}`);
      // Seed 000's test(): the first 8 test images above their reconstructions.
      const file = tf.tidy(() => {
        const originals = test.x.slice([0, 0, 0, 0], [8, 28, 28, 1]);
        const recon = model.decode(model.encode(originals)).reshape([8, 28, 28, 1]);
        return saveImage(tf.concat([originals, recon]), path.join(opts.out, 'reconstruction.png'), { nrow: 8, scale: 2 });
      });
      console.log(path.resolve(file));
    });

  addTrainCommands(cli);
  registerExplore(cli);
  registerStudy(cli);
  // Every usage error (unknown command or option, bad value, missing argument) prints one
  // line, then the usage line of the command it concerns; main() turns it into exit code 2.
  cli.showHelpAfterError(`Usage: aelab ${cli.usage()}  (aelab --help lists the commands)`);
  for (const c of cli.commands) c.showHelpAfterError(`Usage: aelab ${c.name()} ${c.usage()}  (aelab ${c.name()} --help lists the options)`);
  return cli;
}

export async function main(argv = process.argv): Promise<number> {
  try {
    await program().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors get code 2.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof InterruptedError) {
      // 128 + SIGINT, what shells report for a command stopped by Ctrl-C.
      console.error(`aelab: ${err.message}`);
      return 130;
    }
    if (err instanceof AelabError) {
      console.error(`aelab: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

if (require.main === module) {
  main().then((code) => {
    process.exitCode = code;
  });
}
