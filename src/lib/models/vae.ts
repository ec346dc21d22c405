/**
 * Variational autoencoders (seed 000 Exercise 5, seed 004 Q6): the encoder gives a mean
 * and a log-variance per latent unit, training decodes a sample drawn with the
 * reparameterisation trick, and the KL divergence from the standard normal prior is the
 * model's extra loss term. Decoding standard normal codes (`sample`) generates new images.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { Rng } from '../random';
import { Autoencoder, ForwardOutput, Initializer, OutputActivation } from './autoencoder';
import { applyNet, conv2d, conv2dTranspose, dense } from './layers';
import { checkInit } from './mlp';
import { registerModel } from './io';

/** What a VAE's forward pass returns: the latent is the mean; `logVar` comes with it. */
export interface VAEForwardOutput extends ForwardOutput {
  /** Mean of q(z|x), `[b, latentDim]` (also `latent`). */
  mu: tf.Tensor;
  /** Log-variance of q(z|x), `[b, latentDim]`. */
  logVar: tf.Tensor;
  /** The code that was decoded: a sample in training, the mean otherwise. */
  z: tf.Tensor;
}

/** Configuration of the fully connected `VAE`. */
export interface VAEConfig {
  /** Input features (default 784). */
  inputDim?: number;
  /** Encoder hidden sizes, mirrored in the decoder (default `[400]`). */
  hidden?: number[];
  /** Latent units (default 20). */
  latentDim?: number;
  /** Weight of the KL term (default 1; beta-VAE above 1). */
  beta?: number;
  /** Weight initialisation (default `pytorch`). */
  init?: Initializer;
  /** Seed of the initialisation and of the sampling noise (default 1). */
  seed?: number;
}

/**
 * Shared VAE mechanics: subclasses build an `encoderNet` whose output is `[b, 2 * latent]`
 * (means, then log-variances) and a `decoderNet` from `[b, latent]`.
 */
export abstract class VariationalAutoencoder extends Autoencoder {
  readonly outputActivation: OutputActivation = 'sigmoid';
  protected abstract readonly beta: number;
  /** Seeds of the reparameterisation noise: one per training forward pass. */
  protected noise: Rng = new Rng(1);

  /** The mean of q(z|x): the VAE's deterministic code, `[b, latentDim]`. */
  override encode(x: tf.Tensor, training = false): tf.Tensor {
    return tf.tidy(() => this.stats(x, training).mu);
  }

  /**
   * Mean and log-variance of q(z|x), each `[b, latentDim]`.
   */
  stats(x: tf.Tensor, training = false): { mu: tf.Tensor; logVar: tf.Tensor } {
    return tf.tidy(() => {
      const h = applyNet(this.encoderNet, this.adaptInput(x), training);
      const [mu, logVar] = tf.split(h, 2, -1);
      return { mu, logVar };
    });
  }

  /**
   * In training, decodes `z = mu + exp(logVar / 2) * eps` with seeded `eps ~ N(0, I)`;
   * otherwise decodes the mean. `penalty` is `beta * KL(q(z|x) || N(0, I))` per example:
   * `-0.5 * sum_j (1 + logVar - mu^2 - exp(logVar))`, averaged over the batch.
   */
  override forward(x: tf.Tensor, training = false): VAEForwardOutput {
    const seed = training ? this.noise.uint32() : 0;
    return tf.tidy(() => {
      const { mu, logVar } = this.stats(x, training);
      const z = training ? mu.add(tf.exp(logVar.mul(0.5)).mul(tf.randomNormal(mu.shape, 0, 1, 'float32', seed))) : mu;
      const reconLogits = this.decodeLogits(z, training);
      const kl = tf.sum(tf.sub(tf.add(1, logVar), tf.add(tf.square(mu), tf.exp(logVar))), -1).mul(-0.5).mean();
      return { recon: tf.sigmoid(reconLogits), reconLogits, latent: mu, mu, logVar, z, penalty: kl.mul(this.beta) as tf.Scalar };
    });
  }
}

/** A fully connected VAE: `inputDim -> hidden... -> (mu, logVar) [latentDim each] -> hidden reversed -> inputDim`, ReLU hidden layers. */
export class VAE extends VariationalAutoencoder {
  readonly name = 'vae';
  readonly inputShape: number[];
  readonly latentShape: number[];
  readonly config: Required<VAEConfig>;
  protected readonly beta: number;
  protected readonly encoderNet: tf.LayersModel;
  protected readonly decoderNet: tf.LayersModel;

  constructor(config: VAEConfig = {}) {
    super();
    const c: Required<VAEConfig> = { inputDim: 784, hidden: [400], latentDim: 20, beta: 1, init: 'pytorch', seed: 1, ...config };
    checkInteger('inputDim', c.inputDim, 1);
    checkInteger('latentDim', c.latentDim, 1);
    checkNumber('beta', c.beta, 0);
    checkInit(c.init);
    if (!Array.isArray(c.hidden) || c.hidden.some((s) => !Number.isInteger(s) || s < 1)) throw new ArgumentError('hidden', c.hidden, 'an array of integers >= 1');
    this.config = c;
    this.beta = c.beta;
    this.inputShape = [c.inputDim];
    this.latentShape = [c.latentDim];
    const rng = new Rng(c.seed);
    this.noise = new Rng(rng.seed());
    const enc: tf.layers.Layer[] = [tf.layers.inputLayer({ inputShape: [c.inputDim] })];
    let fanIn = c.inputDim;
    c.hidden.forEach((units, i) => {
      enc.push(dense(units, fanIn, c.init, rng, `enc${i + 1}`), tf.layers.reLU());
      fanIn = units;
    });
    // One layer for both heads: the same parameters as PyTorch's separate fc_mu and fc_logvar.
    enc.push(dense(2 * c.latentDim, fanIn, c.init, rng, 'mu_logvar'));
    this.encoderNet = tf.sequential({ name: 'encoder', layers: enc });
    const dec: tf.layers.Layer[] = [tf.layers.inputLayer({ inputShape: [c.latentDim] })];
    fanIn = c.latentDim;
    [...c.hidden].reverse().forEach((units, i) => {
      dec.push(dense(units, fanIn, c.init, rng, `dec${i + 1}`), tf.layers.reLU());
      fanIn = units;
    });
    dec.push(dense(c.inputDim, fanIn, c.init, rng, 'output'));
    this.decoderNet = tf.sequential({ name: 'decoder', layers: dec });
  }
}

/** Configuration of `ConvVAE`. */
export interface ConvVAEConfig {
  /** Latent units (default 16). */
  latentDim?: number;
  /** Channels of the two stride-2 convolutions (default `[32, 64]`). */
  channels?: [number, number];
  /** Weight of the KL term (default 1). */
  beta?: number;
  /** Weight initialisation (default `pytorch`). */
  init?: Initializer;
  /** Seed of the initialisation and of the sampling noise (default 1). */
  seed?: number;
}

/**
 * A convolutional VAE for 28x28 images: `Conv(1->c1, 3, s2, p1)` 28->14, ReLU, `Conv(c1->c2,
 * 3, s2, p1)` 14->7, ReLU, flatten, `Linear(7*7*c2 -> 2 * latent)`; the decoder mirrors it with
 * `Linear(latent -> 7*7*c2)`, ReLU and two `ConvTranspose(3, s2, p1, output_padding 1)`.
 */
export class ConvVAE extends VariationalAutoencoder {
  readonly name = 'conv-vae';
  readonly inputShape = [28, 28, 1];
  readonly latentShape: number[];
  readonly config: Required<ConvVAEConfig>;
  protected readonly beta: number;
  protected readonly encoderNet: tf.LayersModel;
  protected readonly decoderNet: tf.LayersModel;

  constructor(config: ConvVAEConfig = {}) {
    super();
    const c: Required<ConvVAEConfig> = { latentDim: 16, channels: [32, 64], beta: 1, init: 'pytorch', seed: 1, ...config };
    checkInteger('latentDim', c.latentDim, 1);
    if (!Array.isArray(c.channels) || c.channels.length !== 2) throw new ArgumentError('channels', c.channels, 'two channel counts [c1, c2]');
    c.channels.forEach((n, i) => checkInteger(`channels[${i}]`, n, 1));
    checkNumber('beta', c.beta, 0);
    checkInit(c.init);
    this.config = c;
    this.beta = c.beta;
    this.latentShape = [c.latentDim];
    const [c1, c2] = c.channels;
    const rng = new Rng(c.seed);
    this.noise = new Rng(rng.seed());
    this.encoderNet = tf.sequential({
      name: 'encoder',
      layers: [
        tf.layers.inputLayer({ inputShape: [28, 28, 1] }),
        ...conv2d({ inChannels: 1, outChannels: c1, kernelSize: 3, stride: 2, padding: 1, name: 'conv1' }, c.init, rng),
        tf.layers.reLU(),
        ...conv2d({ inChannels: c1, outChannels: c2, kernelSize: 3, stride: 2, padding: 1, name: 'conv2' }, c.init, rng),
        tf.layers.reLU(),
        tf.layers.flatten(),
        dense(2 * c.latentDim, 7 * 7 * c2, c.init, rng, 'mu_logvar'),
      ],
    });
    this.decoderNet = tf.sequential({
      name: 'decoder',
      layers: [
        tf.layers.inputLayer({ inputShape: [c.latentDim] }),
        dense(7 * 7 * c2, c.latentDim, c.init, rng, 'fc'),
        tf.layers.reLU(),
        tf.layers.reshape({ targetShape: [7, 7, c2] }),
        ...conv2dTranspose({ inChannels: c2, outChannels: c1, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, name: 'deconv1' }, c.init, rng),
        tf.layers.reLU(),
        ...conv2dTranspose({ inChannels: c1, outChannels: 1, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, name: 'deconv2' }, c.init, rng),
      ],
    });
  }
}

registerModel('vae', (config) => new VAE(config as VAEConfig));
registerModel('conv-vae', (config) => new ConvVAE(config as ConvVAEConfig));
