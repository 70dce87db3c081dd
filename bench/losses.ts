/**
 * Loss benchmarks: SupCon forward+backward (N·V = 512 anchors × 128-d) and the logit-adjusted loss
 * forward+backward (batch 256 × 1000 classes), against the same computations written naively with tfjs
 * ops (autograd through the textbook formulation), on the cpu and wasm backends.
 * Run: npx tsx bench/losses.ts
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendName } from '../src/backends/index.js';
import { seededRng } from '../src/core/rng.js';
import { logitAdjustedLoss, supConLoss } from '../src/losses/index.js';
import { environmentLine, markdownTable, ms, speedup, timeMedian, writeBenchSection } from './util.js';

const N = 256;
const VIEWS = 2;
const DIM = 128;
const BATCH = 256;
const CLASSES = 1000;
const T = 0.07;

/** Textbook SupCon in tfjs ops, as a user would write it from SupContrast (autograd, dense masks). */
function naiveSupCon(features: tf.Tensor3D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const f = tf.div(features, tf.norm(features, 'euclidean', -1, true));
    const anchors = tf.concat(tf.unstack(f, 1), 0) as tf.Tensor2D;
    const ids = tf.tile(labels, [VIEWS]);
    const m = anchors.shape[0];
    const logits0 = tf.div(tf.matMul(anchors, anchors, false, true), T);
    const logits = tf.sub(logits0, tf.max(logits0, 1, true));
    const notSelf = tf.sub(1, tf.eye(m));
    const mask = tf.mul(tf.cast(tf.equal(tf.expandDims(ids, 1), tf.expandDims(ids, 0)), 'float32'), notSelf);
    const expLogits = tf.mul(tf.exp(logits), notSelf);
    const logProb = tf.sub(logits, tf.log(tf.sum(expLogits, 1, true)));
    const npos = tf.sum(mask, 1);
    const meanLogProbPos = tf.div(tf.sum(tf.mul(mask, logProb), 1), tf.maximum(npos, 1));
    return tf.mean(tf.mul(-1, meanLogProbPos)) as tf.Scalar;
  });
}

/** Textbook logit adjustment in tfjs ops: log prior as a tensor, tf.losses.softmaxCrossEntropy. */
function naiveLogitAdjusted(logits: tf.Tensor2D, labels: tf.Tensor1D, counts: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const prior = tf.div(counts, tf.sum(counts));
    const z = tf.add(logits, tf.log(tf.add(prior, 1e-12)));
    return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, CLASSES), z) as tf.Scalar;
  });
}

function stepTime(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, runs: number): number {
  const g = tf.valueAndGrad(f);
  return timeMedian(
    () => {
      const { value, grad } = g(x);
      grad.dataSync();
      tf.dispose([value, grad]);
    },
    { warmup: 2, runs },
  );
}

async function main(): Promise<void> {
  const rng = seededRng(0);
  const featData = Float32Array.from({ length: N * VIEWS * DIM }, () => rng.normal());
  const featLabels = Int32Array.from({ length: N }, () => rng.int(100));
  const logitData = Float32Array.from({ length: BATCH * CLASSES }, () => rng.normal() * 3);
  const laLabels = Int32Array.from({ length: BATCH }, () => rng.int(CLASSES));
  const counts = Array.from({ length: CLASSES }, (_, i) => Math.floor(500 * Math.pow(100, -i / (CLASSES - 1))));

  const rows: string[][] = [];
  for (const backend of ['cpu', 'wasm'] as BackendName[]) {
    await useBackend(backend);
    const runs = backend === 'cpu' ? 3 : 9;
    const feats = tf.tensor3d(featData, [N, VIEWS, DIM]);
    const fl = tf.tensor1d(featLabels, 'int32');
    const supCon = supConLoss({ temperature: T, validate: false });
    const ours = stepTime((x) => supCon.compute({ projections: x as tf.Tensor3D, labels: fl }), feats, runs);
    const naive = stepTime((x) => naiveSupCon(x as tf.Tensor3D, fl), feats, runs);
    // Same value (sanity check that both compute the same loss).
    const a = tf.tidy(() => supCon.compute({ projections: feats, labels: fl }).dataSync()[0] as number);
    const b = tf.tidy(() => naiveSupCon(feats, fl).dataSync()[0] as number);
    if (Math.abs(a - b) > 1e-3 * Math.abs(b)) throw new Error(`SupCon mismatch on ${backend}: ${a} vs ${b}`);
    rows.push([`SupCon fwd+bwd, ${N}×${VIEWS} views × ${DIM}-d`, backend, ms(ours), ms(naive), speedup(naive, ours)]);

    const logits = tf.tensor2d(logitData, [BATCH, CLASSES]);
    const ll = tf.tensor1d(laLabels, 'int32');
    const ct = tf.tensor1d(counts);
    const la = logitAdjustedLoss({ classCounts: counts, validate: false });
    const oursLa = stepTime((x) => la.compute({ logits: x as tf.Tensor2D, labels: ll }), logits, runs);
    const naiveLa = stepTime((x) => naiveLogitAdjusted(x as tf.Tensor2D, ll, ct), logits, runs);
    rows.push([`logit-adjusted fwd+bwd, ${BATCH} × ${CLASSES}`, backend, ms(oursLa), ms(naiveLa), speedup(naiveLa, oursLa)]);
    tf.dispose([feats, fl, logits, ll, ct]);
    console.log(rows.slice(-2).map((r) => r.join(' | ')).join('\n'));
  }
  const table = markdownTable(['workload', 'backend', 'longtail (ms)', 'naive tfjs (ms)', 'speed-up'], rows);
  const md = `${environmentLine()}. Median of 9 runs (cpu: 3) after 2 warm-up runs; forward + backward, gradient read back. "naive tfjs" is the same loss written directly with tfjs ops and autograd (SupContrast's formulation; \`tf.losses.softmaxCrossEntropy\` on adjusted logits). The wasm backend is the one \`useBackend('wasm')\` gives at the time of the run.\n\n${table}`;
  console.log(`\n${md}`);
  writeBenchSection('losses', md);
}

await main();
