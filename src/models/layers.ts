/**
 * Internal building blocks on plain tfjs variables (no tf.layers: no global name registry, explicit
 * train/eval behaviour, seeded initialisation). Each block owns its variables; the modules that use them
 * dispose them.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { initBiasValues, initWeightValues, makeVariable, type Initializer } from './init.js';
import type { ForwardMode } from './types.js';

/** Something that holds variables. */
export interface VariableOwner {
  readonly trainableVariables: readonly tf.Variable[];
  /** Non-trainable state (batch-norm moving statistics). */
  readonly stateVariables: readonly tf.Variable[];
}

/** Fully connected layer y = x·W + b with W [inputDim, units]. */
export class Dense implements VariableOwner {
  readonly kernel: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable | null;

  constructor(
    readonly inputDim: number,
    readonly units: number,
    options: { readonly init: Initializer; readonly useBias: boolean; readonly rng: Rng },
  ) {
    const fans = { fanIn: inputDim, fanOut: units };
    this.kernel = makeVariable(initWeightValues(options.init, inputDim * units, fans, options.rng), [inputDim, units], true);
    this.bias = options.useBias ? makeVariable(initBiasValues(options.init, units, fans, options.rng), [units], true) : null;
  }

  get trainableVariables(): tf.Variable[] {
    return this.bias === null ? [this.kernel] : [this.kernel, this.bias];
  }

  get stateVariables(): tf.Variable[] {
    return [];
  }

  /**
   * x·W + b, optionally followed by ReLU. Outside gradient recording this is one fused kernel (as
   * tf.layers' dense does). While gradients are recorded it is an unfused matMul + add: tfjs's fused
   * matMul gradient computes the input gradient ∂L/∂x = g·Wᵀ eagerly even when nothing needs it (a head on
   * frozen features), one whole matmul wasted per step, while the unfused ops let the tape skip it. tfjs
   * already unfuses a fused ReLU under gradients, so only the linear case changes.
   */
  apply(x: tf.Tensor2D, activation: 'linear' | 'relu' = 'linear'): tf.Tensor2D {
    if (tf.engine().state.gradientDepth > 0) {
      const z = tf.matMul(x, this.kernel);
      const biased = this.bias === null ? z : tf.add(z, this.bias);
      return (activation === 'relu' ? tf.relu(biased) : biased) as tf.Tensor2D;
    }
    return tf.fused.matMul({
      a: x,
      b: this.kernel,
      ...(this.bias === null ? {} : { bias: this.bias }),
      activation,
    }) as tf.Tensor2D;
  }
}

/** 2-D convolution, NHWC, stride 1, 'same' padding; kernel [k, k, inChannels, outChannels]. */
export class Conv2d implements VariableOwner {
  readonly kernel: tf.Variable<tf.Rank.R4>;
  readonly bias: tf.Variable | null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    options: { readonly init: Initializer; readonly useBias: boolean; readonly rng: Rng },
  ) {
    const k2 = kernelSize * kernelSize;
    const fans = { fanIn: inChannels * k2, fanOut: outChannels * k2 };
    const shape = [kernelSize, kernelSize, inChannels, outChannels];
    this.kernel = makeVariable(initWeightValues(options.init, k2 * inChannels * outChannels, fans, options.rng), shape, true);
    this.bias = options.useBias ? makeVariable(initBiasValues(options.init, outChannels, fans, options.rng), [outChannels], true) : null;
  }

  get trainableVariables(): tf.Variable[] {
    return this.bias === null ? [this.kernel] : [this.kernel, this.bias];
  }

  get stateVariables(): tf.Variable[] {
    return [];
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const y: tf.Tensor4D = tf.conv2d(x, this.kernel, 1, 'same');
    return this.bias === null ? y : (tf.add(y, this.bias) as tf.Tensor4D);
  }
}

/** Options of {@link BatchNorm}. */
export interface BatchNormOptions {
  /** Weight of the new batch statistic in the moving average (PyTorch convention), default 0.1. */
  readonly momentum: number;
  readonly epsilon: number;
}

/**
 * Batch normalization over every axis but the last (BatchNorm1d on [N, C], BatchNorm2d on NHWC), with
 * PyTorch's semantics:
 * - train: y = γ·(x − μ_B)/√(σ²_B + ε) + β with the biased batch variance σ²_B; the moving statistics
 *   become (1 − m)·running + m·batch, using the unbiased variance σ²_B·n/(n − 1) for the running variance;
 * - eval: the moving statistics replace the batch ones.
 */
export class BatchNorm implements VariableOwner {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;

  constructor(
    readonly channels: number,
    readonly options: BatchNormOptions,
  ) {
    this.gamma = makeVariable(new Float32Array(channels).fill(1), [channels], true);
    this.beta = makeVariable(new Float32Array(channels), [channels], true);
    this.movingMean = makeVariable(new Float32Array(channels), [channels], false);
    this.movingVariance = makeVariable(new Float32Array(channels).fill(1), [channels], false);
  }

  get trainableVariables(): tf.Variable[] {
    return [this.gamma, this.beta];
  }

  get stateVariables(): tf.Variable[] {
    return [this.movingMean, this.movingVariance];
  }

  apply<T extends tf.Tensor>(x: T, mode: ForwardMode): T {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    if (mode === 'eval') return this.normalize(x, this.movingMean, this.movingVariance);
    const n = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    if (n < 2) {
      throw new LongTailError(
        'SHAPE_MISMATCH',
        `expected more than 1 value per channel for batch norm in 'train' mode. Received: x.shape=[${x.shape.join(', ')}]`,
        { shape: [...x.shape] },
      );
    }
    const { mean, variance } = tf.moments(x, axes);
    const m = this.options.momentum;
    // Non-trainable, so no gradient is taken through the update; assign keeps the new values alive past
    // the caller's tidy (the variable holds a reference to the data).
    tf.tidy(() => {
      const unbiased = tf.mul(variance, n / (n - 1));
      this.movingMean.assign(tf.add(tf.mul(this.movingMean, 1 - m), tf.mul(mean, m)));
      this.movingVariance.assign(tf.add(tf.mul(this.movingVariance, 1 - m), tf.mul(unbiased, m)));
    });
    return this.normalize(x, mean, variance);
  }

  private normalize<T extends tf.Tensor>(x: T, mean: tf.Tensor, variance: tf.Tensor): T {
    const inv = tf.mul(tf.rsqrt(tf.add(variance, this.options.epsilon)), this.gamma);
    return tf.add(tf.mul(tf.sub(x, mean), inv), this.beta) as T;
  }
}

/** Inverted dropout with a seed: keeps each unit with probability 1 − rate and scales it by 1/(1 − rate). */
export function seededDropout<T extends tf.Tensor>(x: T, rate: number, rng: Rng): T {
  if (rate <= 0) return x;
  return tf.dropout(x, rate, undefined, rng.seed()) as T;
}

/** Row-wise L2 normalization x / max(‖x‖, ε) (PyTorch `F.normalize`), with finite gradients at x = 0. */
export function l2Normalize<T extends tf.Tensor>(x: T, axis: number, epsilon = 1e-12): T {
  return tf.tidy(() => {
    const sq = tf.sum(tf.square(x), axis, true);
    return tf.mul(x, tf.rsqrt(tf.maximum(sq, epsilon * epsilon))) as T;
  });
}

/** Collects the variables of several owners in order: trainable ones, then state. */
export function collectVariables(owners: readonly VariableOwner[]): {
  trainable: tf.Variable[];
  state: tf.Variable[];
} {
  return {
    trainable: owners.flatMap((o) => o.trainableVariables),
    state: owners.flatMap((o) => o.stateVariables),
  };
}
