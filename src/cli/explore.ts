/**
 * `aelab explore <runDir>`: writes the interactive latent explorer of a saved run
 * (`<runDir>/model`) on its dataset's test images as `<runDir>/explorer.html`.
 */
import { Command, InvalidArgumentError } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/backend';
import { disposeDataset } from '../lib/data/dataset';
import { ImageSplits, loadFashionMnist, loadMnist } from '../lib/data/mnist';
import { AelabError, DataFormatError } from '../lib/errors';
import { loadModel } from '../lib/models/io';
// Importing the model zoo registers every architecture with loadModel.
import '../lib/models';
import { saveExplorer } from '../lib/viz/explorer';

/** Options of `aelab explore`. */
export interface ExploreOptions {
  /** Test examples plotted (default 1000). */
  points?: number;
  /** Output file (default `<runDir>/explorer.html`). */
  out?: string;
  /** Skip backend selection (the caller did it). */
  noBackend?: boolean;
}

/** Image datasets `explore` can load, by the names a run's `config.json` may use. */
const LOADERS: Record<string, (o: { testSize: number; trainSize: number }) => Promise<ImageSplits>> = {
  mnist: loadMnist,
  'fashion-mnist': loadFashionMnist,
  fashion: loadFashionMnist,
  fashion_mnist: loadFashionMnist,
  fashionmnist: loadFashionMnist,
};

/**
 * The dataset a run was trained on, from `<runDir>/config.json` (`dataset`, or
 * `data.dataset` / `data.name`); `mnist` when there is no config or it names none.
 */
export function runDataset(runDir: string): string {
  const file = path.join(runDir, 'config.json');
  if (!fs.existsSync(file)) return 'mnist';
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new DataFormatError(file, `is not valid JSON (${(err as Error).message})`);
  }
  const data = config.data as Record<string, unknown> | string | undefined;
  const name = config.dataset ?? (typeof data === 'string' ? data : (data?.dataset ?? data?.name));
  return typeof name === 'string' && name ? name.toLowerCase() : 'mnist';
}

/**
 * What `aelab explore` does: loads `<runDir>/model` and the first `points` test images of
 * the run's dataset, writes the explorer page and returns its absolute path.
 */
export async function explore(runDir: string, options: ExploreOptions = {}): Promise<string> {
  const modelDir = path.join(runDir, 'model');
  if (!fs.existsSync(modelDir)) throw new AelabError(`${modelDir} does not exist: is ${runDir} a run directory (aelab train saves the model in <runDir>/model)?`);
  if (!options.noBackend) await initBackend({ quiet: true });
  const dataset = runDataset(runDir);
  const loader = LOADERS[dataset];
  if (!loader) throw new AelabError(`explore: the run's dataset "${dataset}" is not an image dataset it can load (known: mnist, fashion-mnist)`);
  const points = options.points ?? 1000;
  const model = await loadModel(modelDir);
  const splits = await loader({ testSize: points, trainSize: 1 });
  try {
    const out = options.out ?? path.join(runDir, 'explorer.html');
    await saveExplorer(model, splits.test, out, { points, title: `Latent explorer: ${model.name} (${path.basename(path.resolve(runDir))}, ${dataset})` });
    return path.resolve(out);
  } finally {
    disposeDataset(splits.train);
    disposeDataset(splits.test);
    model.dispose();
  }
}

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be an integer >= 1.`);
    return n;
  };
}

/**
 * Adds `explore <runDir> [--points N] [--out FILE]` to the `aelab` command: it writes the
 * explorer page (default `<runDir>/explorer.html`) and prints its absolute path.
 */
export function registerExplore(cli: Command): Command {
  return cli
    .command('explore')
    .description('write an interactive latent explorer (one HTML page) for a saved run: click the latent map to decode any point')
    .argument('<runDir>', 'run directory holding model/ (and config.json naming the dataset)')
    .option('--points <n>', 'test images plotted', positiveInt('--points'), 1000)
    .option('--out <file>', 'output file (default <runDir>/explorer.html)')
    .action(async (runDir: string, opts: { points: number; out?: string }) => {
      console.log(await explore(runDir, { points: opts.points, out: opts.out }));
    });
}
