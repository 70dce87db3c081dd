/**
 * A frozen feature encoder backed by ONNX Runtime (`onnxruntime-node`, an optional peer loaded on
 * demand): DINOv2, CLIP or any image/text model exported to ONNX becomes a {@link Backbone}, and so a
 * `FeatureEncoder` for `extractFeatures` and `ltls({ encoder })`.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { importHidden, importNode, isMissingModule, isNode } from '../core/node.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkInteger, checkOneOf } from '../core/validate.js';
import { checkMode, checkTensor } from './check.js';
import type { Backbone, ForwardMode } from './types.js';

/** How a rank-3 output [N, T, d] (tokens) becomes features [N, d]: token 0 ('cls') or the token mean ('mean'). */
export type OnnxPooling = 'none' | 'cls' | 'mean';

/** Options of {@link onnxEncoder}. Only `model` is required. */
export interface OnnxEncoderOptions {
  /** Path of the `.onnx` file, or its bytes. */
  readonly model: string | Uint8Array;
  /** Name of the model input that receives `x`. @defaultValue the model's first input */
  readonly input?: string;
  /** Name of the model output taken as features. @defaultValue the model's first output */
  readonly output?: string;
  /**
   * For an output of rank 3 [N, T, d] (a transformer's `last_hidden_state`): 'cls' takes token 0, 'mean'
   * averages the T tokens. 'none' requires a rank-2 output [N, d] (`pooler_output`, CLIP's
   * `image_embeds`). @defaultValue 'none'
   */
  readonly pooling?: OnnxPooling;
  /**
   * Transposes a rank-4 input from tfjs's NHWC [N, H, W, C] to NCHW [N, C, H, W], the layout of PyTorch
   * exports. @defaultValue false
   */
  readonly channelsFirst?: boolean;
  /** Feature width, required only when the model declares a symbolic last output dimension. */
  readonly outputDim?: number;
  /** Threads of ONNX Runtime's intra-op pool. @defaultValue ONNX Runtime's default (one per core) */
  readonly threads?: number;
  /**
   * Directory from which `onnxruntime-node` is resolved (its `node_modules` or a parent's), for a runtime
   * installed outside the project. @defaultValue resolved like any import of this library
   */
  readonly resolveFrom?: string;
}

/** An ONNX model as a frozen {@link Backbone}: `apply(x)` runs the model synchronously on the CPU. */
export interface OnnxEncoder extends Backbone {
  readonly kind: 'onnx';
  /** The model input fed with `x` and the output read as features. */
  readonly inputName: string;
  readonly outputName: string;
}

/** Raw value metadata of the native binding: ONNX element type code and shape (-1 where symbolic). */
interface RawMetadata {
  readonly name: string;
  readonly isTensor?: boolean;
  readonly type?: number;
  readonly shape?: readonly number[];
  readonly symbolicDimensions?: readonly string[];
}

interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** The native session of `onnxruntime-node` (its `dist/binding`), whose `run` is synchronous. */
interface NativeSession {
  loadModel(...args: unknown[]): unknown;
  readonly inputNames?: readonly string[];
  readonly outputNames?: readonly string[];
  readonly inputMetadata?: readonly RawMetadata[];
  readonly outputMetadata?: readonly RawMetadata[];
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: object): Record<string, OrtTensorLike>;
  dispose(): void;
}

interface Runtime {
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
  readonly Session: new () => NativeSession;
  readonly init: () => void;
}

const PKG = 'onnxruntime-node';
const INSTALL = 'ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install onnxruntime-node';
/** ONNX TensorProto.DataType.FLOAT. */
const ONNX_FLOAT = 1;

/** The error for a missing `onnxruntime-node`: how to install it, offline too. */
function missingRuntimeError(from: string | undefined): LongTailError {
  return new LongTailError(
    'BACKEND_UNAVAILABLE',
    `expected the optional peer ${PKG} to be installed. Received: it cannot be found${from === undefined ? '' : ` from resolveFrom=${JSON.stringify(from)}`}. ` +
      `Install it with \`${INSTALL}\` (the variable skips its CUDA download, so the install works offline; ` +
      `a project can set \`onnxruntime-node-install-cuda=skip\` in .npmrc instead)`,
    { package: PKG, install: INSTALL },
  );
}

function pick(ns: unknown, key: string): unknown {
  const m = ns as Record<string, unknown> | null;
  const d = m?.['default'] as Record<string, unknown> | undefined;
  return d !== undefined && d !== null && key in d ? d[key] : m?.[key];
}

/** Loads `onnxruntime-node` (its public `Tensor` and its native session class). */
async function loadRuntime(from: string | undefined): Promise<Runtime> {
  if (!isNode()) {
    throw new LongTailError('BACKEND_UNAVAILABLE', `expected Node.js for ${PKG}. Received: a browser or worker; export features there with onnxruntime-web and pass them to ltls`, { package: PKG });
  }
  let main: unknown;
  let native: unknown;
  try {
    if (from === undefined) {
      main = await importHidden(PKG);
      native = await importHidden(`${PKG}/dist/binding.js`);
    } else {
      const { createRequire } = await importNode('node:module');
      const path = await importNode('node:path');
      const req = createRequire(path.join(path.resolve(from), 'index.js'));
      main = req(PKG);
      native = req(`${PKG}/dist/binding.js`);
    }
  } catch (e) {
    if (isMissingModule(e, PKG)) throw missingRuntimeError(from);
    const reason = ((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '').replace(/\.$/, '');
    throw new LongTailError('BACKEND_UNAVAILABLE', `expected ${PKG} to load. Received: ${reason}. Reinstall it with \`${INSTALL}\``, { package: PKG });
  }
  const Tensor = pick(main, 'Tensor');
  const binding = pick(native, 'binding') as { InferenceSession?: unknown } | undefined;
  const init = pick(native, 'initOrt');
  if (typeof Tensor !== 'function' || typeof binding?.InferenceSession !== 'function') {
    throw new LongTailError('BACKEND_UNAVAILABLE', `expected ${PKG} ^1.31 (a Tensor class and a native InferenceSession). Received: another layout; install a current version with \`${INSTALL}\``, { package: PKG });
  }
  return {
    Tensor: Tensor as Runtime['Tensor'],
    Session: binding.InferenceSession as Runtime['Session'],
    init: typeof init === 'function' ? (init as () => void) : () => {},
  };
}

/** A dimension as the model declares it: a size, or the name of a symbolic one. */
type Dim = number | string;

function dims(meta: RawMetadata | undefined): Dim[] | null {
  if (meta?.shape === undefined) return null;
  return meta.shape.map((d, i) => (d >= 0 ? d : meta.symbolicDimensions?.[i] || '?'));
}

const shapeText = (shape: readonly Dim[]): string => `[${shape.join(', ')}]`;

/** The shape fed to the model for an input of shape `shape` (NHWC → NCHW when asked). */
function fedShape(shape: readonly number[], channelsFirst: boolean): number[] {
  if (!channelsFirst) return [...shape];
  const [n, h, w, c] = shape as [number, number, number, number];
  return [n, c, h, w];
}

class OnnxEncoderImpl implements OnnxEncoder {
  readonly kind = 'onnx' as const;
  readonly trainableVariables: readonly tf.Variable[] = [];
  readonly variables: readonly tf.Variable[] = [];
  private readonly guard = new DisposeGuard('onnx encoder');

  constructor(
    private readonly runtime: Runtime,
    private readonly session: NativeSession,
    readonly inputName: string,
    readonly outputName: string,
    /** The model's declared input shape (with the batch axis), or null when it declares none. */
    private readonly modelInput: Dim[] | null,
    readonly outputDim: number,
    private readonly o: { readonly pooling: OnnxPooling; readonly channelsFirst: boolean; readonly source: string },
  ) {}

  get inputShape(): readonly number[] | null {
    if (this.modelInput === null) return null;
    const rest = this.modelInput.slice(1);
    const perSample = this.o.channelsFirst ? [rest[1], rest[2], rest[0]] : rest;
    return perSample.every((d) => typeof d === 'number') ? (perSample as number[]) : null;
  }

  get config(): JsonObject {
    return {
      model: this.o.source,
      input: this.inputName,
      output: this.outputName,
      pooling: this.o.pooling,
      channelsFirst: this.o.channelsFirst,
      outputDim: this.outputDim,
    };
  }

  /** Checks `x` against the model's declared input, before any tensor is made. */
  private checkX(x: tf.Tensor): void {
    checkTensor('x', x);
    if (x.dtype !== 'float32') {
      throw new LongTailError('DTYPE_MISMATCH', `expected x of dtype float32. Received: x.dtype=${x.dtype}`, { name: 'x', dtype: x.dtype });
    }
    if (this.o.channelsFirst && x.rank !== 4) {
      throw new LongTailError('SHAPE_MISMATCH', `expected x of rank 4 [N, H, W, C] with channelsFirst. Received: x.shape=${shapeText(x.shape)}`, { name: 'x', shape: [...x.shape] });
    }
    const model = this.modelInput;
    if (model === null) return;
    const fed = fedShape(x.shape, this.o.channelsFirst);
    const ok = fed.length === model.length && fed.every((d, i) => i === 0 || typeof model[i] !== 'number' || model[i] === d);
    if (!ok) {
      const expected = this.o.channelsFirst ? ['N', model[2] ?? '?', model[3] ?? '?', model[1] ?? '?'] : ['N', ...model.slice(1)];
      throw new LongTailError(
        'SHAPE_MISMATCH',
        `expected x of shape ${shapeText(expected)} (ONNX input "${this.inputName}" ${shapeText(model)}${this.o.channelsFirst ? ', fed as NCHW' : ''}). Received: x.shape=${shapeText(x.shape)}`,
        { name: 'x', shape: [...x.shape], expected: model.map(String) },
      );
    }
  }

  /**
   * Features of `x` [N, ...] (the model is frozen: `mode` is accepted for the {@link Backbone} contract and
   * changes nothing; export the model in eval mode). Synchronous; the caller owns the result.
   */
  apply(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D {
    this.guard.check();
    checkMode(mode);
    this.checkX(x);
    const n = x.shape[0] ?? 0;
    if (n === 0) return tf.zeros([0, this.outputDim]) as tf.Tensor2D;
    const fed = fedShape(x.shape, this.o.channelsFirst);
    const values = this.o.channelsFirst ? takeFloats(tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]))) : Float32Array.from(x.dataSync() as Float32Array);
    let out: OrtTensorLike | undefined;
    try {
      const feeds = { [this.inputName]: new this.runtime.Tensor('float32', values, fed) };
      out = this.session.run(feeds, { [this.outputName]: null }, {})[this.outputName];
    } catch (e) {
      const reason = ((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '').replace(/\.$/, '');
      throw new LongTailError('INVALID_DATA', `expected ONNX Runtime to run the model on x. Received: x.shape=${shapeText(x.shape)}; ${reason}`, { name: 'x', shape: [...x.shape] });
    }
    return this.toFeatures(out, n);
  }

  /** Checks the raw output (type, shape, finiteness) and pools it to [N, outputDim]. */
  private toFeatures(out: OrtTensorLike | undefined, n: number): tf.Tensor2D {
    if (out === undefined || out.type !== 'float32' || !(out.data instanceof Float32Array)) {
      throw new LongTailError('DTYPE_MISMATCH', `expected ONNX output "${this.outputName}" of type float32. Received: type=${out?.type ?? 'none'}`, { name: this.outputName });
    }
    const rank = this.o.pooling === 'none' ? 2 : 3;
    const shape = [...out.dims].map(Number);
    if (shape.length !== rank || shape[0] !== n || shape[rank - 1] !== this.outputDim) {
      const expected = rank === 2 ? `[${n}, ${this.outputDim}]` : `[${n}, T, ${this.outputDim}]`;
      throw new LongTailError('SHAPE_MISMATCH', `expected ONNX output "${this.outputName}" of shape ${expected} (pooling "${this.o.pooling}"). Received: shape=${shapeText(shape)}`, {
        name: this.outputName,
        shape,
      });
    }
    const data = out.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        const row = Math.floor(i / (data.length / n));
        throw new LongTailError('NON_FINITE', `expected finite features from ONNX output "${this.outputName}". Received: row ${row} holds ${data[i]}`, { name: this.outputName, row });
      }
    }
    return tf.tidy(() => {
      const t = tf.tensor(data, shape, 'float32');
      if (this.o.pooling === 'none') return t as tf.Tensor2D;
      if (this.o.pooling === 'cls') return tf.reshape(tf.slice(t, [0, 0, 0], [n, 1, this.outputDim]), [n, this.outputDim]) as tf.Tensor2D;
      return tf.mean(t, 1) as tf.Tensor2D;
    });
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.session.dispose();
  }
}

function takeFloats(t: tf.Tensor): Float32Array {
  try {
    return Float32Array.from(t.dataSync() as Float32Array);
  } finally {
    t.dispose();
  }
}

const ONNX_KEYS: OptionKeys<OnnxEncoderOptions> = {
  model: true,
  input: true,
  output: true,
  pooling: true,
  channelsFirst: true,
  outputDim: true,
  threads: true,
  resolveFrom: true,
};

function checkName(name: string, value: string | undefined, names: readonly string[], what: string): string {
  const chosen = value ?? names[0];
  if (chosen === undefined || !names.includes(chosen)) {
    throw new LongTailError('MISSING_INPUT', `expected ${name} to be one of the model's ${what} [${names.join(', ')}]. Received: ${name}=${JSON.stringify(value ?? null)}`, {
      name,
      names: [...names],
    });
  }
  return chosen;
}

/**
 * Loads an ONNX model with ONNX Runtime and wraps it as a frozen feature encoder:
 *
 *   f(x) = pool(model(x)[output]) ∈ ℝ^{N×d}, pool = identity ([N, d] outputs), token 0 ('cls') or the
 *   token mean ('mean') of [N, T, d] outputs,
 *
 * with `x` fed as float32 (NHWC transposed to NCHW with `channelsFirst`). The result is a {@link Backbone}
 * (no variables), so it is a `FeatureEncoder`: `extractFeatures(encoder, images)` and
 * `ltls({ encoder })` run foundation-model features (DINOv2, CLIP exported to ONNX) straight from
 * JavaScript, following the frozen-feature protocol of Oquab et al., "DINOv2" (2023) and Radford et al.,
 * "CLIP" (2021) linear probes. `apply` is synchronous (ONNX Runtime's native session, CPU) and
 * every output is checked: float32, [N, d] (or [N, T, d] when pooled), finite.
 *
 * `onnxruntime-node` is an optional peer, loaded on first use. Install it with
 * `ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install onnxruntime-node`: without the variable its install
 * script downloads CUDA libraries on Linux x64, which fails offline.
 *
 * @throws LongTailError: `UNKNOWN_OPTION`/`INVALID_OPTION` (bad options, before anything loads),
 *   `BACKEND_UNAVAILABLE` (onnxruntime-node missing, with the install line), `MISSING_INPUT` (no model
 *   file; unknown input or output name; a symbolic width without `outputDim`), `INVALID_DATA` (a file
 *   ONNX Runtime cannot load), `DTYPE_MISMATCH` (a non-float32 input); at `apply`: `SHAPE_MISMATCH`
 *   (x against the model's input), `NON_FINITE` (NaN/Inf features).
 * @example
 * ```ts
 * const encoder = await onnxEncoder({ model: 'dinov2-small.onnx', output: 'pooler_output', channelsFirst: true });
 * const run = ltls({ seed: 0, numClasses: 10, encoder });   // featureDim comes from the model (384)
 * await run.fit({ x: images, y: labels });                  // images [N, 224, 224, 3], normalized
 * run.dispose();
 * encoder.dispose();
 * ```
 */
export async function onnxEncoder(options: OnnxEncoderOptions): Promise<OnnxEncoder> {
  checkOptions('onnxEncoder options', options, ONNX_KEYS);
  if (options === null || typeof options !== 'object') throw invalid('INVALID_OPTION', 'an options object with a model', 'options', options);
  const { model } = options;
  if (typeof model !== 'string' && !(model instanceof Uint8Array)) throw invalid('INVALID_OPTION', 'model to be a file path or the bytes of an .onnx file', 'model', typeof model);
  if (typeof model === 'string' && model.length === 0) throw invalid('INVALID_OPTION', 'model to be a non-empty file path', 'model', model);
  for (const key of ['input', 'output', 'resolveFrom'] as const) {
    const v = options[key];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw invalid('INVALID_OPTION', `${key} to be a non-empty string`, key, v);
  }
  const pooling = checkOneOf('pooling', options.pooling ?? 'none', ['none', 'cls', 'mean']);
  const channelsFirst = options.channelsFirst ?? false;
  if (typeof channelsFirst !== 'boolean') throw invalid('INVALID_OPTION', 'channelsFirst to be a boolean', 'channelsFirst', channelsFirst);
  const outputDim = options.outputDim === undefined ? undefined : checkInteger('outputDim', options.outputDim, { min: 1 });
  const threads = options.threads === undefined ? undefined : checkInteger('threads', options.threads, { min: 1 });
  if (typeof model === 'string') {
    const fs = await importNode('node:fs');
    if (!fs.existsSync(model)) throw new LongTailError('MISSING_INPUT', `expected an ONNX model file. Received: model=${JSON.stringify(model)} (no such file)`, { name: 'model', path: model });
  }

  const runtime = await loadRuntime(options.resolveFrom);
  runtime.init();
  const session = new runtime.Session();
  const sessionOptions = threads === undefined ? {} : { intraOpNumThreads: threads };
  try {
    await (typeof model === 'string' ? session.loadModel(model, sessionOptions) : session.loadModel(model.buffer, model.byteOffset, model.byteLength, sessionOptions));
  } catch (e) {
    const reason = ((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '').replace(/\.$/, '');
    throw new LongTailError('INVALID_DATA', `expected a valid ONNX model. Received: model=${typeof model === 'string' ? JSON.stringify(model) : `<${model.byteLength} bytes>`}; ${reason}`, { name: 'model' });
  }
  try {
    const inputs: readonly RawMetadata[] = session.inputMetadata ?? (session.inputNames ?? []).map((name) => ({ name }));
    const outputs: readonly RawMetadata[] = session.outputMetadata ?? (session.outputNames ?? []).map((name) => ({ name }));
    const inputName = checkName('input', options.input, inputs.map((m) => m.name), 'inputs');
    const outputName = checkName('output', options.output, outputs.map((m) => m.name), 'outputs');
    const inMeta = inputs.find((m) => m.name === inputName);
    const outMeta = outputs.find((m) => m.name === outputName);
    for (const [meta, what] of [[inMeta, 'input'], [outMeta, 'output']] as const) {
      if (meta?.type !== undefined && meta.type !== ONNX_FLOAT) {
        throw new LongTailError('DTYPE_MISMATCH', `expected a float32 ONNX ${what} "${meta.name}". Received: ONNX element type ${meta.type}`, { name: meta.name, type: meta.type });
      }
    }
    const modelInput = dims(inMeta);
    if (channelsFirst && modelInput !== null && modelInput.length !== 4) {
      throw invalid('INVALID_OPTION', `channelsFirst only for a rank-4 model input (input "${inputName}" is ${shapeText(modelInput)})`, 'channelsFirst', channelsFirst);
    }
    const modelOutput = dims(outMeta);
    const rank = pooling === 'none' ? 2 : 3;
    if (modelOutput !== null && modelOutput.length !== rank) {
      throw invalid(
        'INVALID_OPTION',
        `pooling ${rank === 2 ? '"cls" or "mean" for a rank-3 output' : '"none" for a rank-2 output'} (output "${outputName}" is ${shapeText(modelOutput)})`,
        'pooling',
        pooling,
      );
    }
    const declared = modelOutput?.[rank - 1];
    const width = typeof declared === 'number' ? declared : outputDim;
    if (width === undefined) {
      throw new LongTailError('MISSING_INPUT', `expected outputDim: output "${outputName}" declares no width (${modelOutput === null ? 'no shape' : shapeText(modelOutput)}). Received: outputDim=undefined`, {
        name: 'outputDim',
      });
    }
    if (outputDim !== undefined && outputDim !== width) {
      throw new LongTailError('SHAPE_MISMATCH', `expected outputDim = the width of output "${outputName}" = ${width}. Received: outputDim=${outputDim}`, { expected: width, received: outputDim });
    }
    const source = typeof model === 'string' ? model : `<${model.byteLength} bytes>`;
    return new OnnxEncoderImpl(runtime, session, inputName, outputName, modelInput, width, { pooling, channelsFirst, source });
  } catch (e) {
    session.dispose();
    throw e;
  }
}
