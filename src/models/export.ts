/**
 * Models beyond the trainer: rebuild a library model from its `{ kind, config }`, export a trained model
 * for inference (weights + config that {@link modelFromConfig} rebuilds), and, where the architecture
 * maps onto tf.layers, a `tf.LayersModel` that tfjs users load with `tf.loadLayersModel`.
 */
import * as tf from '@tensorflow/tfjs';
import { formatValue, invalid, LongTailError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { crc32 } from '../core/hash.js';
import { importNode } from '../core/node.js';
import { seededRng } from '../core/rng.js';
import { cnnBackbone, identityBackbone, mlpBackbone } from './backbones.js';
import { classifier, type Classifier } from './classifier.js';
import { frozenBackbone } from './frozen.js';
import { auxiliaryHead, cosineHead, linearHead, type AuxiliaryHead, type LinearHead } from './heads.js';
import { lwsHead, tauNormalizedHead, type TauNormBias } from './rebalanced-heads.js';
import type { Backbone, Head, Model } from './types.js';

/** A component as `toConfig` writes it. */
export interface ModelSpec {
  readonly kind: string;
  readonly config: JsonObject;
}

/** A trained model as plain data: its architecture and every variable's values, in `model.variables` order. */
export interface ModelArtifact {
  readonly format: 'longtail-model';
  readonly version: 1;
  readonly model: ModelSpec;
  readonly weights: readonly { readonly shape: readonly number[]; readonly values: Float32Array }[];
}

function spec(value: unknown, name: string): ModelSpec {
  const s = value as ModelSpec | null;
  if (s === null || typeof s !== 'object' || typeof s.kind !== 'string' || s.config === null || typeof s.config !== 'object') {
    throw invalid('INVALID_OPTION', `${name} as { kind, config }`, name, value);
  }
  return s;
}

/** Config fields without the ones a factory does not take (everything else passes through unchanged). */
function without(config: JsonObject, ...keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const k of keys) delete out[k];
  return out;
}

/**
 * Rebuilds a backbone from `{ kind, config }` (`identity`, `mlp`, `cnn`, and `frozen` around one of
 * them). Initial weights come from a
 * fixed stream; load trained values over them. Backbones wrapping user code (`layersModel`, `function`)
 * cannot be rebuilt from JSON: `UNKNOWN_KIND` says how to save those.
 */
export function backboneFromConfig(serialized: ModelSpec): Backbone {
  const { kind, config } = spec(serialized, 'backbone');
  const rng = seededRng(0);
  if (kind === 'identity') return identityBackbone(config as unknown as Parameters<typeof identityBackbone>[0]);
  if (kind === 'mlp') return mlpBackbone({ ...(config as unknown as Parameters<typeof mlpBackbone>[0]), rng });
  if (kind === 'cnn') return cnnBackbone({ ...(config as unknown as Parameters<typeof cnnBackbone>[0]), rng });
  if (kind === 'frozen') return frozenBackbone({ backbone: backboneFromConfig(spec(config['backbone'], 'backbone.config.backbone')) });
  if (kind === 'layersModel' || kind === 'function') {
    throw new LongTailError('UNKNOWN_KIND', `expected a backbone kind that can be rebuilt from JSON (identity, mlp, cnn). Received: kind=${formatValue(kind)} (it wraps your own code: save that with its own tools, e.g. tf.LayersModel.save, and rebuild the classifier around it)`, { kind });
  }
  throw new LongTailError('UNKNOWN_KIND', `expected a backbone kind among identity, mlp, cnn, frozen. Received: kind=${formatValue(kind)}`, { kind });
}

/** Rebuilds a head from `{ kind, config }` (`linear`, `cosine`, and the wrappers `auxiliary`, `lws`, `tauNormalized`). */
export function headFromConfig(serialized: ModelSpec): Head {
  const { kind, config } = spec(serialized, 'head');
  const rng = seededRng(0);
  if (kind === 'linear') return linearHead({ ...(config as unknown as Parameters<typeof linearHead>[0]), rng });
  if (kind === 'cosine') return cosineHead({ ...(config as unknown as Parameters<typeof cosineHead>[0]), rng });
  if (kind === 'auxiliary') {
    const inner = headFromConfig(spec(config['head'], 'head.config.head'));
    try {
      return auxiliaryHead({ ...(without(config, 'head', 'numClasses') as { numAuxiliaryClasses: number }), head: inner });
    } catch (e) {
      inner.dispose();
      throw e;
    }
  }
  if (kind === 'lws' || kind === 'tauNormalized') {
    const inner = headFromConfig(spec(config['head'], 'head.config.head'));
    try {
      if (kind === 'lws') return lwsHead({ head: inner });
      return tauNormalizedHead({ head: inner as LinearHead, tau: config['tau'] as number, bias: config['bias'] as TauNormBias });
    } catch (e) {
      inner.dispose();
      throw e;
    }
  }
  throw new LongTailError('UNKNOWN_KIND', `expected a head kind among linear, cosine, auxiliary, lws, tauNormalized. Received: kind=${formatValue(kind)}`, { kind });
}

/**
 * Rebuilds a model from `{ kind, config }` as `{ kind: model.kind, config: model.config }` gives it
 * (`classifier` with a rebuildable backbone and head). The inverse of `toConfig(model)` up to weights.
 *
 * @example
 * ```ts
 * const twin = modelFromConfig({ kind: model.kind, config: model.config });
 * ```
 */
export function modelFromConfig(serialized: ModelSpec): Model {
  const { kind, config } = spec(serialized, 'model');
  if (kind !== 'classifier') {
    throw new LongTailError('UNKNOWN_KIND', `expected a model kind that can be rebuilt from JSON (classifier). Received: kind=${formatValue(kind)}`, { kind });
  }
  const backbone = backboneFromConfig(spec(config['backbone'], 'model.config.backbone'));
  let head: Head;
  try {
    head = headFromConfig(spec(config['head'], 'model.config.head'));
  } catch (e) {
    backbone.dispose();
    throw e;
  }
  return classifier({ backbone, head });
}

/** The model's architecture and trained values as plain data (copies; the model is not changed). */
export function exportModel(model: Model): ModelArtifact {
  if (model === null || typeof model !== 'object' || typeof model.forward !== 'function') throw invalid('INVALID_OPTION', 'a Model', 'model', model);
  if (model.config === undefined) throw invalid('INVALID_OPTION', 'a model with a config', 'model.kind', model.kind);
  return {
    format: 'longtail-model',
    version: 1,
    model: { kind: model.kind, config: JSON.parse(JSON.stringify(model.config)) as JsonObject },
    weights: model.variables.map((v) => ({ shape: [...v.shape], values: Float32Array.from(v.dataSync() as Float32Array) })),
  };
}

/**
 * Rebuilds a model from {@link exportModel}'s artifact and loads its values, checking every shape before
 * anything is assigned. The caller owns (and disposes) the model.
 */
export function importModel(artifact: ModelArtifact): Model {
  if (artifact === null || typeof artifact !== 'object' || artifact.format !== 'longtail-model' || artifact.version !== 1) {
    throw invalid('INVALID_DATA', 'a longtail-model version 1 artifact', 'format', artifact?.format);
  }
  if (!Array.isArray(artifact.weights)) throw invalid('INVALID_DATA', 'weights to be an array', 'weights', artifact.weights);
  const model = modelFromConfig(artifact.model);
  try {
    const vars = model.variables;
    if (vars.length !== artifact.weights.length) throw invalid('INVALID_DATA', `${vars.length} weight arrays for this architecture`, 'weights.length', artifact.weights.length);
    vars.forEach((v, i) => {
      const w = artifact.weights[i] as ModelArtifact['weights'][number];
      const shapeOk = Array.isArray(w?.shape) && w.shape.length === v.shape.length && w.shape.every((d, k) => d === v.shape[k]);
      if (!shapeOk || !(w.values instanceof Float32Array) || w.values.length !== v.size) {
        throw invalid('INVALID_DATA', `weights[${i}] of shape [${v.shape.join(', ')}]`, `weights[${i}].shape`, w?.shape);
      }
    });
    vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor((artifact.weights[i] as ModelArtifact['weights'][number]).values, v.shape, 'float32'))));
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * Writes {@link exportModel}'s artifact to the directory `path` as `model.json` (architecture, weight
 * shapes and the CRC-32 of the weights) and `weights.bin` (float32, little-endian, in order). Node only.
 */
export async function saveModel(model: Model, path: string): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) throw invalid('INVALID_OPTION', 'a directory path', 'path', path);
  const artifact = exportModel(model);
  const fs = await importNode('node:fs/promises');
  const { join } = await importNode('node:path');
  await fs.mkdir(path, { recursive: true });
  const bytes = new Uint8Array(artifact.weights.reduce((n, w) => n + w.values.byteLength, 0));
  let at = 0;
  for (const w of artifact.weights) {
    bytes.set(new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength), at);
    at += w.values.byteLength;
  }
  const json = { format: artifact.format, version: artifact.version, model: artifact.model, weights: artifact.weights.map((w) => ({ shape: w.shape })), weightsCrc32: crc32(bytes) };
  await fs.writeFile(join(path, 'weights.bin'), bytes);
  await fs.writeFile(join(path, 'model.json'), JSON.stringify(json, null, 2));
}

/** Reads a directory written by {@link saveModel} and rebuilds the model (the caller owns it). Node only. */
export async function loadModel(path: string): Promise<Model> {
  if (typeof path !== 'string' || path.length === 0) throw invalid('INVALID_OPTION', 'a directory path', 'path', path);
  const fs = await importNode('node:fs/promises');
  const { join } = await importNode('node:path');
  let text: string;
  let bin: Uint8Array;
  try {
    text = await fs.readFile(join(path, 'model.json'), 'utf8');
    bin = await fs.readFile(join(path, 'weights.bin'));
  } catch (e) {
    throw new LongTailError('MISSING_INPUT', `expected a model directory with model.json and weights.bin. Received: path=${JSON.stringify(path)} (${(e as Error).message})`, { path });
  }
  let json: { format: unknown; version: unknown; model: ModelSpec; weights: { shape: number[] }[]; weightsCrc32?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (e) {
    throw invalid('INVALID_DATA', 'model.json to be JSON', 'model.json', (e as Error).message);
  }
  if (!Array.isArray(json.weights)) throw invalid('INVALID_DATA', 'model.json weights to be an array', 'weights', json.weights);
  if (json.weightsCrc32 !== undefined && json.weightsCrc32 !== crc32(bin)) {
    throw invalid('INVALID_DATA', `weights.bin with the CRC-32 model.json records (${String(json.weightsCrc32)}): the file is corrupt or belongs to another model`, 'CRC-32', crc32(bin));
  }
  let at = 0;
  const weights = json.weights.map((w, i) => {
    const n = Array.isArray(w?.shape) ? w.shape.reduce((a, b) => a * b, 1) : NaN;
    if (!Number.isInteger(n) || at + n * 4 > bin.length) throw invalid('INVALID_DATA', `weights.bin to hold weight ${i}`, `weights[${i}].shape`, w?.shape);
    const values = new Float32Array(n);
    new Uint8Array(values.buffer).set(bin.subarray(at, at + n * 4));
    at += n * 4;
    return { shape: w.shape, values };
  });
  if (at !== bin.length) throw invalid('INVALID_DATA', `weights.bin of ${at} bytes`, 'weights.bin length', bin.length);
  return importModel({ format: json.format, version: json.version, model: json.model, weights } as ModelArtifact);
}

/**
 * The model as a `tf.LayersModel` with the same inference outputs (eval-mode logits), for tfjs tools that
 * take one (`model.save`, `tf.loadLayersModel`, converters). Supported: classifiers whose backbone is
 * `identity` or `mlp` (batch norm as `batchNormalization`, dropout dropped as at inference) and whose
 * head is `linear` (an `auxiliary` head keeps its target rows). Other architectures: `INVALID_OPTION`;
 * use {@link saveModel}. The caller owns the result.
 */
export function toLayersModel(model: Model): tf.LayersModel {
  if (model?.kind !== 'classifier') throw invalid('INVALID_OPTION', 'a classifier (classifier) to convert to a tf.LayersModel', 'model.kind', model?.kind);
  const classifier = model as Classifier;
  const backbone = classifier.backbone;
  let head = classifier.classifierHead;
  let rows = head.numClasses;
  if (head.kind === 'auxiliary') head = (head as AuxiliaryHead).inner;
  if (head.kind !== 'linear') throw invalid('INVALID_OPTION', 'a linear head (cosine heads have no tf.layers equivalent; use saveModel)', 'head.kind', head.kind);
  if (backbone.kind !== 'identity' && backbone.kind !== 'mlp') throw invalid('INVALID_OPTION', 'an identity or mlp backbone (use saveModel for others)', 'backbone.kind', backbone.kind);
  const config = backbone.config;
  const inputDim = backbone.inputShape?.[0] as number;
  const hidden = backbone.kind === 'mlp' ? (config['hiddenSizes'] as number[]) : [];
  const batchNorm = backbone.kind === 'mlp' && config['batchNorm'] === true;
  const epsilon = batchNorm ? (config['batchNormEpsilon'] as number) : 0;
  // Backbone variables in order: per block kernel [, bias] or kernel, gamma, beta, mean, variance.
  const values = backbone.variables.map((v) => v.dataSync() as Float32Array);
  const layers: tf.layers.Layer[] = [];
  const weights: tf.Tensor[][] = [];
  let k = 0;
  let d = inputDim;
  for (const units of hidden) {
    const kernel = tf.tensor2d(values[k++] as Float32Array, [d, units]);
    if (batchNorm) {
      layers.push(tf.layers.dense({ units, useBias: false, inputShape: layers.length === 0 ? [d] : undefined } as Parameters<typeof tf.layers.dense>[0]));
      weights.push([kernel]);
      const [gamma, beta, mean, variance] = [0, 1, 2, 3].map(() => tf.tensor1d(values[k++] as Float32Array));
      layers.push(tf.layers.batchNormalization({ epsilon }));
      weights.push([gamma as tf.Tensor, beta as tf.Tensor, mean as tf.Tensor, variance as tf.Tensor]);
      layers.push(tf.layers.reLU());
      weights.push([]);
    } else {
      const bias = tf.tensor1d(values[k++] as Float32Array);
      layers.push(tf.layers.dense({ units, activation: 'relu', inputShape: layers.length === 0 ? [d] : undefined } as Parameters<typeof tf.layers.dense>[0]));
      weights.push([kernel, bias]);
    }
    d = units;
  }
  const linear = head as LinearHead;
  const full = linear.numClasses;
  const hasBias = linear.bias !== null;
  const w = tf.tidy(() => tf.slice(linear.kernel, [0, 0], [d, rows]));
  const b = hasBias ? tf.tidy(() => tf.slice(linear.bias as tf.Tensor1D, [0], [rows])) : null;
  rows = Math.min(rows, full);
  layers.push(tf.layers.dense({ units: rows, useBias: hasBias, inputShape: layers.length === 0 ? [d] : undefined } as Parameters<typeof tf.layers.dense>[0]));
  weights.push(b === null ? [w] : [w, b]);
  const out = tf.sequential({ layers });
  layers.forEach((layer, i) => {
    const ws = weights[i] as tf.Tensor[];
    if (ws.length > 0) layer.setWeights(ws);
  });
  weights.flat().forEach((t) => t.dispose());
  return out;
}
