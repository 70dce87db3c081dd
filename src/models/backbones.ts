/**
 * Backbones (feature extractors): identity, MLP, a small conv-BN-ReLU CNN, and wrappers for any
 * `tf.LayersModel` or user function.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { LongTailError, invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { seededRng, restoreRng, type Rng, type RngState } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkOneOf, checkPositive, checkRange } from '../core/validate.js';
import { checkDropout, checkInput, checkMode, checkPresent, checkRng, checkSize, checkSizes, checkTensor } from './check.js';
import { checkInitializer, type Initializer } from './init.js';
import { BatchNorm, Conv2d, Dense, collectVariables, seededDropout, type VariableOwner } from './layers.js';
import type { Backbone, ForwardMode } from './types.js';

/** Batch-norm settings shared by the backbones and the projection MLP. */
export interface BatchNormSettings {
  /** Weight of the new batch statistic in the moving averages (PyTorch convention), default 0.1. */
  readonly batchNormMomentum?: number;
  /** ε added to the variance, default 1e-5. */
  readonly batchNormEpsilon?: number;
}

function bnOptions(s: BatchNormSettings): { momentum: number; epsilon: number } {
  return {
    momentum: checkRange('batchNormMomentum', s.batchNormMomentum ?? 0.1, { min: 0, max: 1 }),
    epsilon: checkPositive('batchNormEpsilon', s.batchNormEpsilon ?? 1e-5),
  };
}

abstract class BackboneBase implements Backbone {
  abstract readonly kind: string;
  abstract readonly config: JsonObject;
  protected readonly guard: DisposeGuard;
  /** Stream of dropout seeds, `null` without dropout. */
  protected dropoutRng: Rng | null = null;

  constructor(
    what: string,
    readonly inputShape: readonly number[],
    readonly outputDim: number,
    private readonly owners: readonly VariableOwner[],
  ) {
    this.guard = new DisposeGuard(what);
  }

  get trainableVariables(): tf.Variable[] {
    return collectVariables(this.owners).trainable;
  }

  get variables(): tf.Variable[] {
    const { trainable, state } = collectVariables(this.owners);
    return [...trainable, ...state];
  }

  apply(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D {
    this.guard.check();
    checkMode(mode);
    checkInput('x', x, this.inputShape);
    return tf.tidy(() => this.run(x, mode));
  }

  protected abstract run(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D;

  protected dropout<T extends tf.Tensor>(x: T, rate: number, mode: ForwardMode): T {
    return mode === 'train' && this.dropoutRng !== null ? seededDropout(x, rate, this.dropoutRng) : x;
  }

  getRngState(): RngState | null {
    this.guard.check();
    return this.dropoutRng === null ? null : this.dropoutRng.state();
  }

  setRngState(state: RngState): void {
    this.guard.check();
    if (this.dropoutRng !== null) this.dropoutRng = restoreRng(state);
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    for (const v of this.variables) v.dispose();
  }
}

/** Options of {@link identityBackbone}. */
export interface IdentityBackboneOptions {
  /** Width D of the input features, which are passed through unchanged. */
  readonly inputDim: number;
}

class IdentityBackbone extends BackboneBase {
  readonly kind = 'identity';
  constructor(inputDim: number) {
    super('identity backbone', [inputDim], inputDim, []);
  }
  get config(): JsonObject {
    return { inputDim: this.outputDim };
  }
  protected run(x: tf.Tensor): tf.Tensor2D {
    return tf.clone(x) as tf.Tensor2D;
  }
}

const IDENTITY_KEYS: OptionKeys<IdentityBackboneOptions> = { inputDim: true };

/**
 * The identity backbone: features = inputs [N, D]. A head on precomputed (frozen) features is
 * `classifier({ head })`, which uses this backbone.
 */
export function identityBackbone(options: IdentityBackboneOptions): Backbone {
  checkOptions('identityBackbone options', options, IDENTITY_KEYS);
  checkPresent('options', options);
  return new IdentityBackbone(checkSize('inputDim', options.inputDim));
}

/** Options of {@link mlpBackbone}. */
export interface MlpBackboneOptions extends BatchNormSettings {
  /** Input width D (inputs are [N, D]; flatten images first). */
  readonly inputDim: number;
  /** Widths of the hidden layers, e.g. [256]; the last one is the feature width. */
  readonly hiddenSizes: readonly number[];
  /** Stream for the weights (and, after them, the dropout seeds). */
  readonly rng: Rng;
  /** Dropout rate after each hidden ReLU in 'train' mode, default 0. */
  readonly dropout?: number;
  /** Batch norm between each dense layer and its ReLU, default false. */
  readonly batchNorm?: boolean;
  /** Weight initialiser, default `'pytorch'` (as `nn.Linear`). */
  readonly init?: Initializer;
}

interface DenseBlock {
  readonly dense: Dense;
  readonly bn: BatchNorm | null;
}

/** Dense → [BN] → ReLU blocks; shared by the MLP, the CNN's dense tail and the projection MLP. */
export function makeDenseBlocks(
  inputDim: number,
  sizes: readonly number[],
  options: { readonly init: Initializer; readonly batchNorm: boolean; readonly bn: { momentum: number; epsilon: number }; readonly rng: Rng },
): DenseBlock[] {
  const blocks: DenseBlock[] = [];
  let d = inputDim;
  for (const units of sizes) {
    // With batch norm the bias is redundant (BN's β replaces it), as in conv-BN blocks.
    const dense = new Dense(d, units, { init: options.init, useBias: !options.batchNorm, rng: options.rng });
    blocks.push({ dense, bn: options.batchNorm ? new BatchNorm(units, options.bn) : null });
    d = units;
  }
  return blocks;
}

export function denseBlockOwners(blocks: readonly DenseBlock[]): VariableOwner[] {
  return blocks.flatMap((b) => (b.bn === null ? [b.dense] : [b.dense, b.bn]));
}

class MlpBackbone extends BackboneBase {
  readonly kind = 'mlp';
  constructor(
    inputDim: number,
    private readonly blocks: readonly DenseBlock[],
    private readonly settings: { hiddenSizes: number[]; dropout: number; batchNorm: boolean; init: Initializer; bn: { momentum: number; epsilon: number } },
    rng: Rng,
  ) {
    super('mlp backbone', [inputDim], settings.hiddenSizes[settings.hiddenSizes.length - 1] ?? inputDim, denseBlockOwners(blocks));
    // Drawn after the weights, so enabling dropout does not change the initial weights.
    if (settings.dropout > 0) this.dropoutRng = seededRng(rng.seed());
  }

  get config(): JsonObject {
    const s = this.settings;
    return {
      inputDim: this.inputShape[0] ?? 0,
      hiddenSizes: s.hiddenSizes,
      dropout: s.dropout,
      batchNorm: s.batchNorm,
      init: s.init,
      ...(s.batchNorm ? { batchNormMomentum: s.bn.momentum, batchNormEpsilon: s.bn.epsilon } : {}),
    };
  }

  protected run(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D {
    let h = x as tf.Tensor2D;
    for (const b of this.blocks) {
      h = b.bn === null ? b.dense.apply(h, 'relu') : tf.relu(b.bn.apply(b.dense.apply(h), mode));
      h = this.dropout(h, this.settings.dropout, mode);
    }
    return h;
  }
}

const MLP_KEYS: OptionKeys<MlpBackboneOptions> = { inputDim: true, hiddenSizes: true, rng: true, dropout: true, batchNorm: true, init: true, batchNormMomentum: true, batchNormEpsilon: true };

/**
 * Multi-layer perceptron backbone: for each hidden width h_k, x ← dropout(ReLU(BN?(x·W_k + b_k))) (BN only with `batchNorm: true`).
 * Features are the last hidden activations [N, hiddenSizes.at(-1)]. The Fashion-MNIST reference MLP is
 * `mlpBackbone({ inputDim: 784, hiddenSizes: [256], rng })` + `linearHead`.
 *
 * @throws `INVALID_OPTION` for non-positive sizes, an empty `hiddenSizes`, dropout outside [0, 1).
 * @example
 * ```ts
 * const backbone = mlpBackbone({ inputDim: 784, hiddenSizes: [256], dropout: 0.2, rng: seededRng(0) });
 * ```
 */
export function mlpBackbone(options: MlpBackboneOptions): Backbone {
  checkOptions('mlpBackbone options', options, MLP_KEYS);
  checkPresent('options', options);
  const inputDim = checkSize('inputDim', options.inputDim);
  const hiddenSizes = checkSizes('hiddenSizes', options.hiddenSizes, { allowEmpty: false });
  checkRng('rng', options.rng);
  const dropout = checkDropout('dropout', options.dropout ?? 0);
  const batchNorm = options.batchNorm ?? false;
  const init = checkInitializer('init', options.init ?? 'pytorch');
  const bn = bnOptions(options);
  const blocks = makeDenseBlocks(inputDim, hiddenSizes, { init, batchNorm, bn, rng: options.rng });
  return new MlpBackbone(inputDim, blocks, { hiddenSizes, dropout, batchNorm, init, bn }, options.rng);
}

/** How each CNN block downsamples: 2×2 max or average pooling with stride 2, or none. */
export type CnnPooling = 'max' | 'avg' | 'none';

/** How the CNN turns its last feature map into a vector: global average pooling or flattening. */
export type CnnFeatures = 'globalAvg' | 'flatten';

/** Options of {@link cnnBackbone}. */
export interface CnnBackboneOptions extends BatchNormSettings {
  /** Per-sample input shape [H, W, C] (NHWC), e.g. [28, 28, 1]. */
  readonly inputShape: readonly [number, number, number];
  /** Output channels of each conv block, e.g. [16, 32]. */
  readonly channels: readonly number[];
  readonly rng: Rng;
  /** Square kernel size (odd sizes pad symmetrically, as PyTorch's padding = k // 2), default 3. */
  readonly kernelSize?: number;
  /** Pooling after each block, default `'max'`. */
  readonly pooling?: CnnPooling;
  /**
   * Feature vector, default `'globalAvg'` (the ResNet convention, for deep stacks). A net of two or three
   * blocks on small images should flatten: global averaging leaves only `channels.at(-1)` numbers without
   * their layout, and a [16, 32] net on Fashion-MNIST-LT under-fits with it (docs/benchmarks.md, CNN diagnosis).
   */
  readonly features?: CnnFeatures;
  /** Conv → BN → ReLU (true, default) or conv (with bias) → ReLU. */
  readonly batchNorm?: boolean;
  /** Optional dense ReLU layers after the conv stack, e.g. [128]; the last is the feature width. */
  readonly denseSizes?: readonly number[];
  /** Dropout rate before each dense layer of `denseSizes`, in 'train' mode, default 0. */
  readonly dropout?: number;
  /** Initialiser for conv and dense weights, default `'heNormal'` (kaiming_normal, as SAU's ResNets). */
  readonly init?: Initializer;
}

interface ConvBlock {
  readonly conv: Conv2d;
  readonly bn: BatchNorm | null;
}

interface CnnSettings {
  readonly inputShape: [number, number, number];
  readonly channels: number[];
  readonly kernelSize: number;
  readonly pooling: CnnPooling;
  readonly features: CnnFeatures;
  readonly batchNorm: boolean;
  readonly denseSizes: number[];
  readonly dropout: number;
  readonly init: Initializer;
  readonly bn: { momentum: number; epsilon: number };
}

class CnnBackbone extends BackboneBase {
  readonly kind = 'cnn';
  constructor(
    private readonly convs: readonly ConvBlock[],
    private readonly dense: readonly DenseBlock[],
    private readonly settings: CnnSettings,
    outputDim: number,
    rng: Rng,
  ) {
    super(
      'cnn backbone',
      settings.inputShape,
      outputDim,
      [...convs.flatMap((b) => (b.bn === null ? [b.conv] : [b.conv, b.bn])), ...denseBlockOwners(dense)],
    );
    if (settings.dropout > 0 && dense.length > 0) this.dropoutRng = seededRng(rng.seed());
  }

  get config(): JsonObject {
    const s = this.settings;
    return {
      inputShape: s.inputShape,
      channels: s.channels,
      kernelSize: s.kernelSize,
      pooling: s.pooling,
      features: s.features,
      batchNorm: s.batchNorm,
      denseSizes: s.denseSizes,
      dropout: s.dropout,
      init: s.init,
      ...(s.batchNorm ? { batchNormMomentum: s.bn.momentum, batchNormEpsilon: s.bn.epsilon } : {}),
    };
  }

  protected run(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D {
    let h = x as tf.Tensor4D;
    for (const b of this.convs) {
      h = b.conv.apply(h);
      if (b.bn !== null) h = b.bn.apply(h, mode);
      h = tf.relu(h);
      if (this.settings.pooling === 'max') h = tf.maxPool(h, 2, 2, 'valid');
      else if (this.settings.pooling === 'avg') h = tf.avgPool(h, 2, 2, 'valid');
    }
    let f: tf.Tensor2D =
      this.settings.features === 'globalAvg' ? tf.mean(h, [1, 2]) : tf.reshape(h, [h.shape[0], -1]);
    for (const b of this.dense) {
      f = b.dense.apply(this.dropout(f, this.settings.dropout, mode), 'relu');
    }
    return f;
  }
}

/** Spatial size after `blocks` 2×2/stride-2 'valid' poolings: ⌊s/2⌋ each time. */
function pooledSize(size: number, blocks: number, pooling: CnnPooling): number {
  let s = size;
  if (pooling !== 'none') for (let i = 0; i < blocks; i++) s = Math.floor(s / 2);
  return s;
}

const CNN_KEYS: OptionKeys<CnnBackboneOptions> = {
  inputShape: true,
  channels: true,
  rng: true,
  kernelSize: true,
  pooling: true,
  features: true,
  batchNorm: true,
  denseSizes: true,
  dropout: true,
  init: true,
  batchNormMomentum: true,
  batchNormEpsilon: true,
};

/**
 * A small CNN backbone: blocks of conv k×k ('same') → BN → ReLU → 2×2 pooling, then global average
 * pooling or flattening, then optional dense ReLU layers. Inputs are NHWC [N, H, W, C]. Batch norm follows
 * PyTorch (batch statistics and moving-average updates in 'train' mode, moving statistics in 'eval').
 * Trains on the cpu and wasm backends (wasm needs the library's gradient kernels from `useBackend('wasm')`).
 *
 * @throws `INVALID_OPTION` for bad sizes, or when pooling shrinks the feature map to nothing.
 * @example
 * ```ts
 * const backbone = cnnBackbone({ inputShape: [28, 28, 1], channels: [16, 32], rng: seededRng(0) });
 * backbone.outputDim; // 32 (global average pooling)
 * ```
 */
export function cnnBackbone(options: CnnBackboneOptions): Backbone {
  checkOptions('cnnBackbone options', options, CNN_KEYS);
  checkPresent('options', options);
  const shape = options.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3) {
    throw invalid('INVALID_OPTION', 'inputShape to be [height, width, channels]', 'inputShape', shape);
  }
  const inputShape: [number, number, number] = [
    checkSize('inputShape[0]', shape[0]),
    checkSize('inputShape[1]', shape[1]),
    checkSize('inputShape[2]', shape[2]),
  ];
  const channels = checkSizes('channels', options.channels, { allowEmpty: false });
  checkRng('rng', options.rng);
  const kernelSize = checkSize('kernelSize', options.kernelSize ?? 3);
  const pooling = checkOneOf('pooling', options.pooling ?? 'max', ['max', 'avg', 'none']);
  const features = checkOneOf('features', options.features ?? 'globalAvg', ['globalAvg', 'flatten']);
  const batchNorm = options.batchNorm ?? true;
  const denseSizes = checkSizes('denseSizes', options.denseSizes ?? [], { allowEmpty: true });
  const dropout = checkDropout('dropout', options.dropout ?? 0);
  const init = checkInitializer('init', options.init ?? 'heNormal');
  const bn = bnOptions(options);
  const h = pooledSize(inputShape[0], channels.length, pooling);
  const w = pooledSize(inputShape[1], channels.length, pooling);
  if (h < 1 || w < 1) {
    throw invalid(
      'INVALID_OPTION',
      `at most ${Math.floor(Math.log2(Math.min(inputShape[0], inputShape[1])))} pooled blocks for a ${inputShape[0]}×${inputShape[1]} input`,
      'channels.length',
      channels.length,
    );
  }
  const convs: ConvBlock[] = [];
  let c = inputShape[2];
  for (const out of channels) {
    const conv = new Conv2d(c, out, kernelSize, { init, useBias: !batchNorm, rng: options.rng });
    convs.push({ conv, bn: batchNorm ? new BatchNorm(out, bn) : null });
    c = out;
  }
  const flatDim = features === 'globalAvg' ? c : h * w * c;
  const dense = makeDenseBlocks(flatDim, denseSizes, { init, batchNorm: false, bn, rng: options.rng });
  const outputDim = denseSizes[denseSizes.length - 1] ?? flatDim;
  const settings: CnnSettings = { inputShape, channels, kernelSize, pooling, features, batchNorm, denseSizes, dropout, init, bn };
  return new CnnBackbone(convs, dense, settings, outputDim, options.rng);
}

/** Options of {@link layersModelBackbone}. */
export interface LayersModelBackboneOptions {
  /**
   * A built `tf.LayersModel` (e.g. `tf.sequential`) with one input and one output; outputs of rank > 2
   * are flattened to [N, features].
   */
  readonly model: tf.LayersModel;
  /** Whether `dispose()` also disposes `model` (default true: the backbone owns it). */
  readonly owned?: boolean;
}

class LayersModelBackbone implements Backbone {
  readonly kind = 'layersModel';
  readonly inputShape: readonly number[];
  readonly outputDim: number;
  private readonly guard = new DisposeGuard('layersModel backbone');

  constructor(
    private readonly model: tf.LayersModel,
    private readonly owned: boolean,
  ) {
    this.inputShape = (model.inputs[0]?.shape ?? []).slice(1) as number[];
    this.outputDim = (model.outputs[0]?.shape ?? []).slice(1).reduce<number>((a, b) => a * (b ?? 0), 1);
  }

  get config(): JsonObject {
    return { name: this.model.name, inputShape: [...this.inputShape], outputDim: this.outputDim, owned: this.owned };
  }

  get trainableVariables(): tf.Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  get variables(): tf.Variable[] {
    return [...this.trainableVariables, ...this.model.nonTrainableWeights.map((w) => w.read() as tf.Variable)];
  }

  apply(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D {
    this.guard.check();
    checkMode(mode);
    checkInput('x', x, this.inputShape);
    return tf.tidy(() => {
      // `training` switches dropout and batch norm (tfjs-layers updates BN moving statistics in apply).
      const out = this.model.apply(x, { training: mode === 'train' });
      if (!(out instanceof tf.Tensor)) {
        throw new LongTailError('SHAPE_MISMATCH', 'expected the model to return one tensor. Received: several outputs', {});
      }
      return out.rank === 2 ? (out as tf.Tensor2D) : tf.reshape(out, [out.shape[0] ?? 0, -1]);
    });
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    if (this.owned) this.model.dispose();
  }
}

const LAYERS_KEYS: OptionKeys<LayersModelBackboneOptions> = { model: true, owned: true };

/**
 * Wraps a `tf.LayersModel` as a backbone. `mode` maps to tfjs' `training` flag, so its dropout and batch
 * norm behave as in `model.fit` (BN moving statistics update in 'train' mode only). Variables are the
 * model's trainable weights, then its non-trainable ones. Unknown (null) input dimensions are rejected:
 * give the model a fully defined input shape.
 *
 * @throws `INVALID_OPTION` for a model with several inputs/outputs or undefined input/output sizes.
 */
export function layersModelBackbone(options: LayersModelBackboneOptions): Backbone {
  checkOptions('layersModelBackbone options', options, LAYERS_KEYS);
  checkPresent('options', options);
  const model = checkPresent('model', options.model);
  if (!(model instanceof tf.LayersModel)) {
    throw invalid('INVALID_OPTION', 'model to be a tf.LayersModel', 'model', typeof model);
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw invalid('INVALID_OPTION', 'a model with one input and one output', 'model.inputs.length', model.inputs.length, {
      outputs: model.outputs.length,
    });
  }
  const inShape = model.inputs[0]?.shape ?? [];
  const outShape = model.outputs[0]?.shape ?? [];
  if (inShape.slice(1).some((d) => d === null) || outShape.slice(1).some((d) => d === null)) {
    throw invalid('INVALID_OPTION', 'fully defined input and output shapes (besides the batch axis)', 'model.inputs[0].shape', inShape);
  }
  const owned = options.owned ?? true;
  return new LayersModelBackbone(model, owned);
}

/** Options of {@link functionBackbone}. */
export interface FunctionBackboneOptions {
  /**
   * Maps inputs to features [N, outputDim]; synchronous, must not dispose `x`. It runs inside `tf.tidy`,
   * so intermediates are freed; tensors it keeps across calls must be variables.
   */
  readonly fn: (x: tf.Tensor, mode: ForwardMode) => tf.Tensor;
  /** Feature width. */
  readonly outputDim: number;
  /** Per-sample input shape, checked at `apply`; omit to accept any input. */
  readonly inputShape?: readonly number[];
  /** Variables `fn` trains. The backbone does not own them unless `onDispose` frees them. */
  readonly trainableVariables?: readonly tf.Variable[];
  /** Non-trainable state `fn` updates (saved in checkpoints). */
  readonly stateVariables?: readonly tf.Variable[];
  /** Called once by `dispose()`, e.g. to free the variables. */
  readonly onDispose?: () => void;
  /** Label for logs, default 'function'. */
  readonly name?: string;
}

class FunctionBackbone implements Backbone {
  readonly kind = 'function';
  private readonly guard = new DisposeGuard('function backbone');
  constructor(
    private readonly options: FunctionBackboneOptions,
    readonly inputShape: readonly number[] | null,
    readonly outputDim: number,
  ) {}

  get config(): JsonObject {
    return { name: this.options.name ?? 'function', outputDim: this.outputDim, inputShape: this.inputShape === null ? null : [...this.inputShape] };
  }

  get trainableVariables(): readonly tf.Variable[] {
    return this.options.trainableVariables ?? [];
  }

  get variables(): tf.Variable[] {
    return [...this.trainableVariables, ...(this.options.stateVariables ?? [])];
  }

  apply(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D {
    this.guard.check();
    checkMode(mode);
    if (this.inputShape === null) checkTensor('x', x);
    else checkInput('x', x, this.inputShape);
    return tf.tidy(() => {
      const out = this.options.fn(x, mode);
      if (!(out instanceof tf.Tensor) || out.rank !== 2 || out.shape[1] !== this.outputDim || out.shape[0] !== x.shape[0]) {
        const shape = out instanceof tf.Tensor ? `[${out.shape.join(', ')}]` : typeof out;
        throw new LongTailError(
          'SHAPE_MISMATCH',
          `expected fn to return features of shape [${x.shape[0]}, ${this.outputDim}]. Received: fn(x).shape=${shape}`,
          { outputDim: this.outputDim },
        );
      }
      return out as tf.Tensor2D;
    });
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.options.onDispose?.();
  }
}

const FUNCTION_KEYS: OptionKeys<FunctionBackboneOptions> = { fn: true, outputDim: true, inputShape: true, trainableVariables: true, stateVariables: true, onDispose: true, name: true };

/**
 * Wraps a function `(x, mode) => features` as a backbone, e.g. a pretrained feature extractor or a
 * custom architecture on raw tfjs variables.
 *
 * @throws `INVALID_OPTION` for a missing `fn` or a bad `outputDim`; `SHAPE_MISMATCH` at `apply` when `fn`
 * returns the wrong shape.
 * @example
 * ```ts
 * const w = tf.variable(tf.randomNormal([784, 64], 0, 0.05, 'float32', rng.seed()));
 * const backbone = functionBackbone({
 *   fn: (x) => tf.relu(tf.matMul(x as tf.Tensor2D, w)),
 *   outputDim: 64, inputShape: [784], trainableVariables: [w], onDispose: () => w.dispose(),
 * });
 * ```
 */
export function functionBackbone(options: FunctionBackboneOptions): Backbone {
  checkOptions('functionBackbone options', options, FUNCTION_KEYS);
  checkPresent('options', options);
  if (typeof options.fn !== 'function') throw invalid('INVALID_OPTION', 'fn to be a function (x, mode) => features', 'fn', typeof options.fn);
  const outputDim = checkSize('outputDim', options.outputDim);
  const inputShape = options.inputShape === undefined ? null : checkSizes('inputShape', options.inputShape, { allowEmpty: true });
  return new FunctionBackbone(options, inputShape, outputDim);
}
