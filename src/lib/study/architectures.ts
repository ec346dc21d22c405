/**
 * The seven architectures of the study (seed 000 Exercise 2 and the Final Project): how each
 * is built and how it is trained. Every code has 32 values, so compression, clustering and
 * transfer compare like with like; every model minimises the per-pixel binary cross-entropy
 * (mean) with Adam, learning rate 1e-3, batch 128.
 */
import type { Autoencoder } from '../models/autoencoder';
import { DeepAutoencoder, MLPAutoencoder } from '../models/mlp';
import { SparseAutoencoder } from '../models/sparse';
import { StackedAutoencoder } from '../models/stacked';
import { VAE } from '../models/vae';
import { ConvBottleneckAutoencoder } from '../models/conv';

/** Names of the study's architectures, in report order. */
export const STUDY_MODELS = ['shallow', 'deep', 'conv', 'sparse', 'denoising', 'vae', 'stacked-tied'] as const;

/** One of `STUDY_MODELS`. */
export type StudyModelName = (typeof STUDY_MODELS)[number];

/** How an architecture is trained, on top of the shared settings (BCE, Adam 1e-3, batch 128). */
export interface TrainingRecipe {
  /** Gaussian noise (standard deviation) on the inputs, loss against the clean images (denoising). */
  noise?: number;
  /** Global gradient-norm clipping (seed 000 Part 3: 1.0). */
  clipNorm?: number;
  /** ReduceLROnPlateau on the training loss (seed 000 Part 3: factor 0.5, patience 2). */
  plateau?: { factor: number; patience: number };
  /** Greedy layer-wise pretraining of the stacked blocks before fine-tuning (seed 001 Part 3). */
  pretrain?: boolean;
}

/** An architecture of the study. */
export interface StudyArchitecture {
  name: StudyModelName;
  /** Short title for tables and headings. */
  title: string;
  /** One sentence: layers, code, what is special. */
  description: string;
  /** Builds an untrained model, weights from `seed`. */
  create(seed: number): Autoencoder;
  recipe: TrainingRecipe;
}

/** Noise of the denoising autoencoder's training inputs (its robustness is measured at 0.3 and 0.5). */
export const DENOISING_NOISE = 0.3;

/** The seven architectures, in report order. */
export const ARCHITECTURES: readonly StudyArchitecture[] = [
  {
    name: 'shallow',
    title: 'Shallow FC',
    description: 'Fully connected 784-256-32-256-784, ReLU hidden layers, linear 32-value code, sigmoid output.',
    create: (seed) => new MLPAutoencoder({ hidden: [256], latentDim: 32, seed }),
    recipe: {},
  },
  {
    name: 'deep',
    title: 'Deep FC',
    description: 'Seed 001\'s DeepAutoencoder: 784-512-256-128-32 and its mirror, each hidden block Linear-ReLU-BatchNorm-Dropout(0.2), ReLU code; trained with gradient clipping (1.0) and ReduceLROnPlateau (factor 0.5, patience 2) as seed 000 Part 3.',
    create: (seed) => new DeepAutoencoder({ seed }),
    recipe: { clipNorm: 1, plateau: { factor: 0.5, patience: 2 } },
  },
  {
    name: 'conv',
    title: 'Convolutional',
    description: 'Two stride-2 3x3 convolutions (16, 32 channels) to 7x7x32, a linear layer to a 32-value code, and the mirror image with transposed convolutions.',
    create: (seed) => new ConvBottleneckAutoencoder({ latentDim: 32, seed }),
    recipe: {},
  },
  {
    name: 'sparse',
    title: 'Sparse (L1)',
    description: 'Fully connected 784-256-32 with a ReLU code and an L1 penalty of 0.01 x sum|z| per image on the code.',
    create: (seed) => new SparseAutoencoder({ hidden: [256], latentDim: 32, sparsity: 'l1', sparsityWeight: 0.01, seed }),
    recipe: {},
  },
  {
    name: 'denoising',
    title: 'Denoising',
    description: `The shallow architecture (784-256-32) trained on inputs with Gaussian noise of standard deviation ${DENOISING_NOISE} (clamped to [0, 1]), the loss against the clean images (seed 000 Part 2).`,
    create: (seed) => new MLPAutoencoder({ hidden: [256], latentDim: 32, seed }),
    recipe: { noise: DENOISING_NOISE },
  },
  {
    name: 'vae',
    title: 'VAE',
    description: 'Variational autoencoder 784-256-(mu, log-variance: 32 each)-256-784; loss = BCE + KL to N(0, I); its code is the mean mu.',
    create: (seed) => new VAE({ hidden: [256], latentDim: 32, seed }),
    recipe: {},
  },
  {
    name: 'stacked-tied',
    title: 'Stacked (tied)',
    description: 'Seed 001\'s StackedAutoencoder 784-512-256-128-32 with tied weights (each decoder layer uses its encoder layer\'s kernel transposed, seed 004 Q5): greedy layer-wise pretraining of each block (MSE), then fine-tuning end to end.',
    create: (seed) => new StackedAutoencoder({ layerDims: [784, 512, 256, 128, 32], tied: true, seed }),
    recipe: { pretrain: true },
  },
];

/** The architecture named `name`; undefined for an unknown name. */
export function architecture(name: string): StudyArchitecture | undefined {
  return ARCHITECTURES.find((a) => a.name === name);
}
