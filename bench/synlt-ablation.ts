/**
 * `npx tsx bench/synlt-ablation.ts`: why synLt's OT matching accepted almost nothing at η 0.1, τ 0.9 on
 * the MLP's 256-d latents and hurt with η 1, τ 0.5 — and what its step unit changes. Fashion-MNIST-LT IF 100,
 * MLP 784-256, the protocol's data (docs/benchmarks.md). Two parts, written to the `synlt-ablation`
 * section of docs/benchmarks.md:
 *
 * 1. Diagnosis: a cross-entropy MLP trained for `--diag-epochs`, then one synthesis round per matching
 *    setting on its eval-mode training latents (at most `--cap` proposals per class): latent norm and
 *    class-mean distances against the step length, seeds per source class, acceptance and head confidence
 *    in the target class before and after the steps, per target class.
 * 2. Ablation: whole synLt runs (`--epochs`, synthesis from ⌊0.75·epochs⌋) per setting against the same
 *    run with nothing synthesised (plain cross-entropy: same initial weights and batches).
 * 3. Head test (`--head-test`): does a top-up of OT-matched latents carry the re-balancing signal that a
 *    top-up of duplicated real latents carries? Per seed, the cross-entropy MLP of the protocol
 *    (`--head-epochs`), frozen; a re-initialised linear head trained for a third of those epochs on its
 *    training latents topped up to n_max by each source in turn (nothing, duplicates of real rows, class
 *    Gaussians as ltls draws them, OT matching accepted on the head, OT matching accepted on the
 *    logit-adjusted head). Same head initialisation and optimizer for every source.
 *
 * Options: --epochs N (default 8) --diag-epochs N (default 6) --cap N (default 200) --seeds 0[,1]
 *   --only ID[,ID] (ablation settings and head-test sources) --skip-diagnosis --skip-ablation --head-test --head-epochs N (default 30)
 *   --json FILE --report FILE[,FILE] (no training; records merged) --write
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import {
  ClassGaussian,
  classifier,
  linearHead,
  postHocAdjust,
  OtDistributionMatching,
  seededRng,
  trainer,
  crossEntropyLoss,
  synLt,
  topUpRequest,
  useBackend,
  type AcceptanceEntry,
  type OtMatchingOptions,
  type TopUpPolicy,
} from '../src/index.js';
import { poolsByClass } from '../src/data/long-tail.js';
import { disposeSplit, loadSource, makeSplit, splitsDir, type BenchSplit } from './fmnist-data.js';
import { referenceModel } from './fmnist-rows.js';
import { environmentLine, writeBenchSection } from './util.js';

const ADAM = { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 } as const;
/** Cheaper Sinkhorn than the defaults (512 rows, 200 iterations) so the ablation fits a shared 2-core machine. */
const CHEAP = { reservoirSize: 128, sinkhornIterations: 50 } as const;

interface Setting {
  readonly id: string;
  readonly label: string;
  readonly matching: Omit<OtMatchingOptions, 'numClasses'>;
  readonly topUp?: TopUpPolicy;
}

const SETTINGS: readonly Setting[] = [
  { id: 'ce', label: 'nothing synthesised (plain cross-entropy)', matching: CHEAP, topUp: { kind: 'ratio', ratio: 0 } },
  { id: 'abs-0.1-0.9', label: 'η 0.1 absolute, τ 0.9 (the old defaults)', matching: { ...CHEAP, stepUnit: 'absolute', stepSize: 0.1, threshold: 0.9 } },
  { id: 'abs-1-0.5', label: 'η 1 absolute, τ 0.5 (the old bench overrides)', matching: { ...CHEAP, stepUnit: 'absolute', stepSize: 1, threshold: 0.5 } },
  { id: 'rel-0.1-0.9', label: 'η 0.1 × latent norm, τ 0.9 (the new defaults)', matching: { ...CHEAP, stepSize: 0.1, threshold: 0.9 } },
  { id: 'rel-0.1-0.5', label: 'η 0.1 × latent norm, τ 0.5', matching: { ...CHEAP, stepSize: 0.1, threshold: 0.5 } },
  { id: 'rel-0.2-0.9', label: 'η 0.2 × latent norm, τ 0.9', matching: { ...CHEAP, stepSize: 0.2, threshold: 0.9 } },
  { id: 'rel-0.1-0.9-ce', label: 'η 0.1 × latent norm, τ 0.9, CE term only (λ1 = 0)', matching: { ...CHEAP, stepSize: 0.1, threshold: 0.9, otWeight: 0 } },
  { id: 'rel-0.1-ot-only', label: 'η 0.1 × latent norm, OT term only (λ2 = 0), every proposal kept (τ = 0)', matching: { ...CHEAP, stepSize: 0.1, ceWeight: 0, threshold: 0 } },
];

/** One target class in one diagnosed setting. */
interface DiagnosisEntry extends AcceptanceEntry {
  readonly setting: string;
  readonly count: number;
  /** Share of the seeds from the most frequent source class, and that class. */
  readonly topSource: number;
  readonly topSourceShare: number;
  /** Mean distance of the seeds' source-class means to the target class mean. */
  readonly meanDistance: number;
}

interface LatentScale {
  readonly rmsNorm: number;
  readonly meanClassMeanDistance: number;
  readonly sqrtMaxCost: number;
  readonly ceBalanced: number;
}

interface AblationRecord {
  readonly setting: string;
  readonly seed: number;
  readonly epochs: number;
  readonly balanced: number;
  readonly many: number;
  readonly medium: number;
  readonly rounds: number;
  readonly acceptanceRate: number;
  readonly poolSize: number;
  readonly seconds: number;
}

/** One top-up source of the head test, for one seed. */
interface HeadTestRecord {
  readonly source: HeadSource;
  readonly seed: number;
  /** Epochs of the frozen encoder's cross-entropy training; the head trains for a third of them. */
  readonly encoderEpochs: number;
  readonly balanced: number;
  readonly many: number;
  readonly medium: number;
  /** Rows added to the real latents (Σ over classes). */
  readonly added: number;
  /** Mean probability of the added rows' class under the frozen model's own head (NaN for none). */
  readonly meanTargetProbability: number;
}

interface Records {
  env: string;
  diagEpochs: number;
  cap: number;
  scale: LatentScale | null;
  diagnosis: DiagnosisEntry[];
  ablation: AblationRecord[];
  /** Absent in records written before the head test existed. */
  headTest?: HeadTestRecord[];
  /** Balanced accuracy of each head test's frozen cross-entropy model, by seed. */
  headTestEncoder?: { readonly seed: number; readonly balanced: number }[];
}

type HeadSource = 'none' | 'duplicates' | 'gaussian' | 'ot' | 'otAdjusted' | 'otAcceptAll' | 'otOnly';

const HEAD_SOURCES: readonly { readonly id: HeadSource; readonly label: string }[] = [
  { id: 'none', label: 'nothing (real latents only)' },
  { id: 'duplicates', label: 'duplicated real latents (random over-sampling)' },
  { id: 'gaussian', label: 'class Gaussians (Ledoit–Wolf, as ltls draws them)' },
  { id: 'ot', label: 'OT matching, accepted on the head (synLt\'s defaults)' },
  { id: 'otAdjusted', label: 'OT matching, steered and accepted on the logit-adjusted head z − log π' },
  { id: 'otAcceptAll', label: 'OT matching with its CE steering, every proposal kept (τ = 0)' },
  { id: 'otOnly', label: 'OT term only: no CE steering (λ2 = 0), every proposal kept (τ = 0)' },
];

/** The head test's OT matching per source: synLt's defaults, or the OT term alone with nothing rejected. */
const HEAD_OT_MATCHING: Partial<Record<HeadSource, Omit<OtMatchingOptions, 'numClasses'>>> = {
  ot: CHEAP,
  otAdjusted: CHEAP,
  otAcceptAll: { ...CHEAP, threshold: 0 },
  otOnly: { ...CHEAP, ceWeight: 0, threshold: 0 },
};

function classMeans(x: Float32Array, y: Int32Array, d: number, numClasses: number): Float64Array[] {
  const means = Array.from({ length: numClasses }, () => new Float64Array(d));
  const n = new Float64Array(numClasses);
  for (let i = 0; i < y.length; i++) {
    const c = y[i] as number;
    n[c] = (n[c] as number) + 1;
    const m = means[c] as Float64Array;
    for (let q = 0; q < d; q++) m[q] = (m[q] as number) + (x[i * d + q] as number);
  }
  means.forEach((m, c) => m.forEach((v, q) => (m[q] = v / Math.max(1, n[c] as number))));
  return means;
}

function dist(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let q = 0; q < a.length; q++) s += ((a[q] as number) - (b[q] as number)) ** 2;
  return Math.sqrt(s);
}

/**
 * The protocol's cross-entropy MLP of `seed`, trained for `epochs` on the split: the encoder both the
 * diagnosis and the head test start from. The caller disposes `loop` and `model`.
 */
function ceMlp(split: BenchSplit, seed: number, epochs: number): { model: ReturnType<typeof referenceModel>; loop: ReturnType<typeof trainer> } {
  const model = referenceModel('mlp', seed);
  return { model, loop: trainer({ model, loss: crossEntropyLoss(), seed, epochs, batchSize: split.batchSize, optimizer: ADAM, progress: 'none' }) };
}

async function diagnose(split: BenchSplit, seed: number, epochs: number, cap: number, records: Records): Promise<void> {
  const { model, loop } = ceMlp(split, seed, epochs);
  try {
    await loop.fit(split.train);
    const ce = loop.evaluate(split.test);
    const features = tf.tidy(() => model.forward(split.train.x, 'eval').embeddings as tf.Tensor2D);
    const labels = tf.tensor1d(split.train.y, 'int32');
    try {
      const d = features.shape[1];
      const x = (await features.data()) as Float32Array;
      const y = split.train.y;
      let sq = 0;
      for (const v of x) sq += v * v;
      const means = classMeans(x, y, d, 10);
      const pairs: number[] = [];
      for (let a = 0; a < 10; a++) for (let b = a + 1; b < 10; b++) pairs.push(dist(means[a] as Float64Array, means[b] as Float64Array));
      let maxSq = 0;
      // √max cost of the OT term of the rarest class: its rows against every other row (a bound on the sample).
      const rare = split.counts.indexOf(Math.min(...split.counts));
      const rareMean = means[rare] as Float64Array;
      for (let i = 0; i < y.length; i++) {
        let s = 0;
        for (let q = 0; q < d; q++) s += ((x[i * d + q] as number) - (rareMean[q] as number)) ** 2;
        maxSq = Math.max(maxSq, s);
      }
      records.scale = {
        rmsNorm: Math.sqrt(sq / y.length),
        meanClassMeanDistance: pairs.reduce((a, b) => a + b, 0) / pairs.length,
        sqrtMaxCost: Math.sqrt(maxSq),
        ceBalanced: 100 * ce.balancedAccuracy,
      };
      const request = Int32Array.from(topUpRequest(split.counts), (k) => Math.min(k, cap));
      const head = (f: tf.Tensor2D): tf.Tensor2D => model.head(f);
      for (const setting of SETTINGS) {
        if (setting.id === 'ce') continue;
        const matcher = new OtDistributionMatching({ ...setting.matching, numClasses: 10 });
        try {
          matcher.observe({ features, labels });
          const result = matcher.sampleWithReport({ perClass: request, head }, seededRng(seed).fork(`diag:${setting.id}`));
          result.samples.features.dispose();
          result.samples.labels.dispose();
          result.report.forEach((entry, k) => {
            const seeds = result.seedCounts[k] as readonly number[];
            const total = seeds.reduce((a, b) => a + b, 0);
            let top = 0;
            seeds.forEach((v, j) => (v > (seeds[top] as number) ? (top = j) : 0));
            let md = 0;
            seeds.forEach((v, j) => (md += v * dist(means[j] as Float64Array, means[entry.classIndex] as Float64Array)));
            records.diagnosis.push({
              ...entry,
              setting: setting.id,
              count: split.counts[entry.classIndex] as number,
              topSource: top,
              topSourceShare: total > 0 ? (seeds[top] as number) / total : Number.NaN,
              meanDistance: total > 0 ? md / total : Number.NaN,
            });
          });
          const acc = result.report.reduce((a, e) => a + e.accepted, 0);
          const prop = result.report.reduce((a, e) => a + e.proposed, 0);
          console.log(`diagnosis ${setting.id}: accepted ${acc} / ${prop}, step length ${result.report[0]?.stepLength.toFixed(3)}`);
        } finally {
          matcher.dispose();
        }
      }
    } finally {
      features.dispose();
      labels.dispose();
    }
  } finally {
    loop.dispose();
    model.dispose();
  }
}

async function ablate(split: BenchSplit, setting: Setting, seed: number, epochs: number): Promise<AblationRecord> {
  const t0 = performance.now();
  const run = synLt({
    seed,
    numClasses: 10,
    inputDim: 784,
    hiddenSizes: [256],
    epochs,
    batchSize: split.batchSize,
    optimizer: ADAM,
    matching: setting.matching,
    ...(setting.topUp === undefined ? {} : { topUp: setting.topUp }),
    progress: 'none',
  });
  try {
    await run.fit(split.train);
    const report = run.evaluate(split.test);
    const rounds = run.acceptance;
    const proposed = rounds.reduce((a, r) => a + r.proposed, 0);
    const accepted = rounds.reduce((a, r) => a + r.accepted, 0);
    return {
      setting: setting.id,
      seed,
      epochs,
      balanced: 100 * report.balancedAccuracy,
      many: 100 * (report.groups?.many.accuracy ?? Number.NaN),
      medium: 100 * (report.groups?.medium.accuracy ?? Number.NaN),
      rounds: rounds.length,
      acceptanceRate: proposed > 0 ? accepted / proposed : Number.NaN,
      poolSize: rounds.length > 0 ? (rounds[rounds.length - 1] as { accepted: number }).accepted : 0,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    run.dispose();
  }
}

/** Rows of `features` drawn uniformly with replacement within each class, `request[c]` of class c. */
function duplicateRows(features: tf.Tensor2D, y: Int32Array, request: Int32Array, seed: number): { features: tf.Tensor2D; labels: tf.Tensor1D } {
  const rng = seededRng(seed).fork('headTest:duplicates');
  const byClass = poolsByClass(y, request.length);
  const rows: number[] = [];
  const labels: number[] = [];
  request.forEach((k, c) => {
    const members = byClass[c] as Int32Array;
    for (let q = 0; q < k; q++) {
      rows.push(members[Math.floor(rng.next() * members.length)] as number);
      labels.push(c);
    }
  });
  return tf.tidy(() => ({ features: tf.gather(features, tf.tensor1d(rows, 'int32')) as tf.Tensor2D, labels: tf.tensor1d(labels, 'int32') }));
}

async function headTest(split: BenchSplit, seed: number, epochs: number, records: Records, only: readonly string[] | null): Promise<void> {
  const { model, loop } = ceMlp(split, seed, epochs);
  const encoder = { seed, balanced: 0 };
  try {
    await loop.fit(split.train);
    encoder.balanced = 100 * loop.evaluate(split.test).balancedAccuracy;
    (records.headTestEncoder ??= []).push(encoder);
    const [train, test, labels] = tf.tidy(() => [
      model.forward(split.train.x, 'eval').embeddings as tf.Tensor2D,
      model.forward(split.test.x, 'eval').embeddings as tf.Tensor2D,
      tf.tensor1d(split.train.y, 'int32'),
    ]) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    const head = (f: tf.Tensor2D): tf.Tensor2D => model.head(f);
    const adjustedHead = (f: tf.Tensor2D): tf.Tensor2D => tf.tidy(() => postHocAdjust(model.head(f), { classCounts: split.counts, tau: 1 }));
    const request = topUpRequest(split.counts);
    try {
      for (const { id } of HEAD_SOURCES) {
        if (only !== null && !only.includes(id)) continue;
        const record = await headTestSource(id, { split, seed, epochs, train, test, labels, request, head, adjustedHead });
        (records.headTest ??= []).push(record);
        console.log(`head test ${id.padEnd(11)} seed ${seed}: balanced ${f2(record.balanced)} (+${record.added} rows, p(target) ${f2(record.meanTargetProbability)})`);
      }
    } finally {
      tf.dispose([train, test, labels]);
    }
  } finally {
    loop.dispose();
    model.dispose();
  }
}

/** One source of the head test: draw its top-up, train a fresh head on real + added latents, test it. */
async function headTestSource(
  id: HeadSource,
  c: {
    readonly split: BenchSplit;
    readonly seed: number;
    readonly epochs: number;
    readonly train: tf.Tensor2D;
    readonly test: tf.Tensor2D;
    readonly labels: tf.Tensor1D;
    readonly request: Int32Array;
    readonly head: (f: tf.Tensor2D) => tf.Tensor2D;
    readonly adjustedHead: (f: tf.Tensor2D) => tf.Tensor2D;
  },
): Promise<HeadTestRecord> {
  const { split, seed, train } = c;
  const added = drawHeadTopUp(id, { train, labels: c.labels, y: split.train.y, request: c.request, seed, head: c.head, adjustedHead: c.adjustedHead });
  const owned: tf.Tensor[] = added === null ? [] : [added.features, added.labels];
  let fresh: ReturnType<typeof classifier> | null = null;
  let headLoop: ReturnType<typeof trainer> | null = null;
  try {
    const meanTargetProbability = added === null ? Number.NaN : tf.tidy(() => tf.mean(tf.sum(tf.mul(tf.softmax(c.head(added.features)), tf.oneHot(added.labels, 10)), 1)).dataSync()[0] as number);
    const x = added === null ? train : (tf.concat([train, added.features]) as tf.Tensor2D);
    if (x !== train) owned.push(x);
    const y = added === null ? split.train.y : Int32Array.from([...split.train.y, ...(added.labels.dataSync() as Int32Array)]);
    fresh = classifier({ head: linearHead({ inputDim: 256, numClasses: 10, rng: seededRng(seed).fork('headTest:head') }) });
    headLoop = trainer({ model: fresh, loss: crossEntropyLoss(), seed, epochs: Math.round(c.epochs / 3), batchSize: split.batchSize, optimizer: ADAM, progress: 'none' });
    await headLoop.fit({ x, y });
    // Shot groups by the real training counts (the head's own data is topped up to n_max).
    const report = headLoop.evaluate({ x: c.test, y: split.test.y }, { trainCounts: split.counts });
    return {
      source: id,
      seed,
      encoderEpochs: c.epochs,
      balanced: 100 * report.balancedAccuracy,
      many: 100 * (report.groups?.many.accuracy ?? Number.NaN),
      medium: 100 * (report.groups?.medium.accuracy ?? Number.NaN),
      added: y.length - split.train.y.length,
      meanTargetProbability,
    };
  } finally {
    headLoop?.dispose();
    fresh?.dispose();
    tf.dispose(owned);
  }
}

/** The head test's top-up rows from one source (null: none); the caller disposes them. */
function drawHeadTopUp(
  source: HeadSource,
  c: {
    readonly train: tf.Tensor2D;
    readonly labels: tf.Tensor1D;
    readonly y: Int32Array;
    readonly request: Int32Array;
    readonly seed: number;
    readonly head: (f: tf.Tensor2D) => tf.Tensor2D;
    readonly adjustedHead: (f: tf.Tensor2D) => tf.Tensor2D;
  },
): { features: tf.Tensor2D; labels: tf.Tensor1D } | null {
  if (source === 'none') return null;
  if (source === 'duplicates') return duplicateRows(c.train, c.y, c.request, c.seed);
  const synthesizer = source === 'gaussian' ? new ClassGaussian({ numClasses: 10 }) : new OtDistributionMatching({ ...HEAD_OT_MATCHING[source], numClasses: 10 });
  try {
    synthesizer.observe({ features: c.train, labels: c.labels });
    return synthesizer.sample({ perClass: c.request, head: source === 'otAdjusted' ? c.adjustedHead : c.head }, seededRng(c.seed).fork(`headTest:${source}`));
  } finally {
    synthesizer.dispose();
  }
}

const f2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '–');
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const CLASSES = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Boot'];

function markdown(r: Records): string {
  const out: string[] = ['## synLt: diagnosis and ablation (`npx tsx bench/synlt-ablation.ts`)', '', `${r.env}. Fashion-MNIST-LT IF 100, MLP 784-256, Adam 1e-3 + L2 5e-4, batch 256; OT matching with a reservoir of 128 rows per class and 50 Sinkhorn iterations (the defaults are 512 and 200: cheaper here, same formulas), T = 5 steps, ε 0.1, λ1 = λ2 = 0.5, β 0.999.`];
  if (r.scale !== null) {
    const s = r.scale;
    out.push(
      '',
      `**Diagnosis.** A cross-entropy MLP after ${r.diagEpochs} epochs (balanced test accuracy ${f2(s.ceBalanced)} %); one synthesis round per setting on its eval-mode training latents, at most ${r.cap} proposals per class. Latent scale: root-mean-square norm r = ${f2(s.rmsNorm)}, mean distance between class means ${f2(s.meanClassMeanDistance)}, √(max cost) of the rarest class's OT term ${f2(s.sqrtMaxCost)}. T = 5 steps of length η (absolute) can move a seed at most 5η: ${f2(0.5)} at η 0.1, i.e. ${f2((100 * 0.5) / s.meanClassMeanDistance)} % of the distance between two class means.`,
      '',
      '| setting | step length | mean displacement | seed → target class-mean distance | accepted / proposed | p(target) before → after |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const setting of SETTINGS) {
      const es = r.diagnosis.filter((e) => e.setting === setting.id);
      if (es.length === 0) continue;
      const prop = es.reduce((a, e) => a + e.proposed, 0);
      const acc = es.reduce((a, e) => a + e.accepted, 0);
      const w = (k: 'meanDisplacement' | 'meanDistance' | 'meanProbabilityBefore' | 'meanProbability'): number => es.reduce((a, e) => a + e.proposed * e[k], 0) / prop;
      out.push(`| ${setting.label} | ${f2(es[0]?.stepLength ?? Number.NaN)} | ${f2(w('meanDisplacement'))} | ${f2(w('meanDistance'))} | ${acc} / ${prop} | ${f2(w('meanProbabilityBefore'))} → ${f2(w('meanProbability'))} |`);
    }
    out.push('', 'Per target class (the new defaults, η 0.1 × latent norm, τ 0.9; and the old defaults for comparison):', '', '| target (n) | main seed class (share) | accepted: old defaults | accepted: new defaults | p(target) before → after (new) |', '| --- | --- | --- | --- | --- |');
    const neu = r.diagnosis.filter((e) => e.setting === 'rel-0.1-0.9');
    const old = r.diagnosis.filter((e) => e.setting === 'abs-0.1-0.9');
    for (const e of neu) {
      const o = old.find((q) => q.classIndex === e.classIndex);
      out.push(`| ${CLASSES[e.classIndex]} (${e.count}) | ${CLASSES[e.topSource]} (${f2(100 * e.topSourceShare)} %) | ${o === undefined ? '–' : `${o.accepted} / ${o.proposed}`} | ${e.accepted} / ${e.proposed} | ${f2(e.meanProbabilityBefore)} → ${f2(e.meanProbability)} |`);
    }
  }
  if (r.ablation.length > 0) {
    const epochs = [...new Set(r.ablation.map((a) => a.epochs))].join(', ');
    out.push(
      '',
      `**Ablation.** Whole synLt runs, ${epochs} epochs, synthesis every epoch from ⌊0.75·epochs⌋ (pool replaced each round, every class topped up to n_max); "plain cross-entropy" is the same run with nothing requested (same initial weights and batches). Balanced test accuracy %, mean over the seeds of the row (Δ: mean over those seeds of the difference to plain CE of the same seed).`,
      '',
      '| setting | seeds | balanced | Δ vs CE (same seeds) | many | medium | acceptance (all rounds) | last pool size | s / run |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    const ceOf = (seed: number): number | undefined => r.ablation.find((a) => a.setting === 'ce' && a.seed === seed)?.balanced;
    for (const setting of SETTINGS) {
      const as = r.ablation.filter((a) => a.setting === setting.id);
      if (as.length === 0) continue;
      const m = (k: keyof AblationRecord): number => mean(as.map((a) => a[k] as number));
      const deltas = as.flatMap((a) => {
        const ce = ceOf(a.seed);
        return ce === undefined ? [] : [a.balanced - ce];
      });
      const delta = setting.id === 'ce' || deltas.length === 0 ? '–' : `${mean(deltas) >= 0 ? '+' : ''}${f2(mean(deltas))}`;
      out.push(`| ${setting.label} | ${as.map((a) => a.seed).join(', ')} | ${f2(m('balanced'))} | ${delta} | ${f2(m('many'))} | ${f2(m('medium'))} | ${setting.id === 'ce' ? '–' : `${f2(100 * m('acceptanceRate'))} %`} | ${m('poolSize').toFixed(0)} | ${m('seconds').toFixed(0)} |`);
    }
    const old = r.ablation.filter((a) => a.setting === 'abs-0.1-0.9');
    const oldDeltas = old.flatMap((a) => {
      const ce = ceOf(a.seed);
      return ce === undefined ? [] : [Math.abs(a.balanced - ce)];
    });
    if (oldDeltas.length > 0) {
      out.push(
        '',
        `Noise floor: the old defaults accept almost nothing (mean pool ${mean(old.map((a) => a.poolSize)).toFixed(0)} latents), yet their score differs from plain CE by ${f2(mean(oldDeltas))} points — a handful of extra samples reshuffles every later batch. Differences of that size between single runs are noise.`,
      );
    }
  }
  out.push(...headTestMarkdown(r));
  return out.join('\n');
}

function headTestMarkdown(r: Records): string[] {
  const rows = r.headTest ?? [];
  if (rows.length === 0) return [];
  const seeds = [...new Set(rows.map((a) => a.seed))];
  const epochs = [...new Set(rows.map((a) => a.encoderEpochs))].join(', ');
  const encoders = (r.headTestEncoder ?? []).filter((e) => seeds.includes(e.seed));
  const out = [
    '',
    `**Head test: do the synthetic latents carry a re-balancing signal?** Per seed (${seeds.join(', ')}), the protocol's cross-entropy MLP trained for ${epochs} epochs (balanced test accuracy ${f2(mean(encoders.map((e) => e.balanced)))} %), then frozen; a re-initialised linear head trained for a third of those epochs (Adam 1e-3 + L2 5e-4, instance sampling) on its training latents with every class topped up to n_max by one source. Same head initialisation, optimizer and batches' seed for every source; balanced test accuracy %, mean over the seeds. p(target): mean probability of the added rows' class under the frozen model's own head.`,
    '',
    '| top-up source | added rows | p(target) | balanced | Δ vs real only | many | medium |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  const baseOf = (seed: number): number | undefined => rows.find((a) => a.source === 'none' && a.seed === seed)?.balanced;
  for (const { id, label } of HEAD_SOURCES) {
    const as = rows.filter((a) => a.source === id);
    if (as.length === 0) continue;
    const deltas = as.flatMap((a) => {
      const b = baseOf(a.seed);
      return b === undefined ? [] : [a.balanced - b];
    });
    const delta = id === 'none' || deltas.length === 0 ? '–' : `${mean(deltas) >= 0 ? '+' : ''}${f2(mean(deltas))}`;
    // JSON keeps NaN as null: a source without added rows has no p(target).
    const m = (k: 'balanced' | 'many' | 'medium' | 'added' | 'meanTargetProbability'): number => mean(as.map((a) => (a[k] === null ? Number.NaN : a[k])));
    out.push(`| ${label} | ${m('added').toFixed(0)} | ${f2(m('meanTargetProbability'))} | ${f2(m('balanced'))} | ${delta} | ${f2(m('many'))} | ${f2(m('medium'))} |`);
  }
  const of = (id: HeadSource): number => mean(rows.filter((a) => a.source === id).map((a) => a.balanced));
  const gain = (id: HeadSource): number => of(id) - of('none');
  const has = (id: HeadSource): boolean => rows.some((a) => a.source === id);
  if (has('duplicates') && has('ot')) {
    const shareOf = (id: HeadSource): number => (100 * gain(id)) / gain('duplicates');
    let read = `Read: duplicating real latents lifts the head by ${f2(gain('duplicates'))} points; OT-matched latents with synLt's defaults lift it by ${f2(gain('ot'))} (${shareOf('ot').toFixed(0)} % of that)`;
    if (has('otAdjusted')) read += `, and by ${f2(gain('otAdjusted'))} when steered and accepted on the logit-adjusted head`;
    if (has('otAcceptAll')) read += `; keeping every proposal but still steering with the head's cross-entropy lifts it by ${f2(gain('otAcceptAll'))} (${shareOf('otAcceptAll').toFixed(0)} %)`;
    if (has('otOnly')) read += `; the OT term alone, nothing rejected (as many rows), by ${f2(gain('otOnly'))} (${shareOf('otOnly').toFixed(0)} %)`;
    read += '.';
    if (has('otAcceptAll') && has('otOnly') && shareOf('ot') < 50 && shareOf('otAcceptAll') < 50 && shareOf('otOnly') > 2 * shareOf('otAcceptAll')) {
      read +=
        " So the cross-entropy steering term is what removes the re-balancing signal, not the acceptance test: proposals moved along the current (imbalanced) head's gradient carry little of it, proposals pulled towards the class's own latents by the OT term alone carry most of it.";
    }
    out.push('', read);
  }
  return out;
}

/**
 * Records of separate head-test runs merged: a run that adds one source retrains the same seeded encoder
 * and its baseline, so the same (source, seed) can appear twice; the runs are deterministic, so the first
 * is kept, and a differing repeat is an error (the runs were not comparable).
 */
function firstPerKey<T extends { readonly balanced: number }>(rows: readonly T[], key: (r: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const r of rows) {
    const k = key(r);
    const first = seen.get(k);
    if (first === undefined) seen.set(k, r);
    else if (first.balanced !== r.balanced) throw new Error(`head test records disagree for ${k}: ${first.balanced} vs ${r.balanced}`);
  }
  return [...seen.values()];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string' },
      'diag-epochs': { type: 'string' },
      cap: { type: 'string' },
      seeds: { type: 'string' },
      only: { type: 'string' },
      'skip-diagnosis': { type: 'boolean' },
      'skip-ablation': { type: 'boolean' },
      'head-test': { type: 'boolean' },
      'head-epochs': { type: 'string' },
      json: { type: 'string' },
      report: { type: 'string' },
      write: { type: 'boolean' },
    },
    strict: true,
  });
  let records: Records;
  if (values.report !== undefined) {
    // Records of separate runs (e.g. --skip-ablation and --skip-diagnosis) merged.
    const parts = values.report.split(',').map((f) => JSON.parse(readFileSync(f, 'utf8')) as Records);
    const withDiagnosis = parts.find((p) => p.scale !== null);
    records = {
      env: (parts[0] as Records).env,
      diagEpochs: withDiagnosis?.diagEpochs ?? 0,
      cap: withDiagnosis?.cap ?? 0,
      scale: withDiagnosis?.scale ?? null,
      diagnosis: withDiagnosis?.diagnosis ?? [],
      ablation: parts.flatMap((p) => p.ablation),
      headTest: firstPerKey(parts.flatMap((p) => p.headTest ?? []), (r) => `${r.source}:${r.seed}:${r.encoderEpochs}`),
      headTestEncoder: firstPerKey(parts.flatMap((p) => p.headTestEncoder ?? []), (r) => String(r.seed)),
    };
  } else {
    const epochs = Number(values.epochs ?? 8);
    const diagEpochs = Number(values['diag-epochs'] ?? 6);
    const cap = Number(values.cap ?? 200);
    const seeds = (values.seeds ?? '0').split(',').map(Number);
    const only = values.only?.split(',') ?? null;
    const info = await useBackend('wasm');
    records = { env: `${environmentLine()}, backend ${info.backend} (SIMD ${info.simd})`, diagEpochs, cap, scale: null, diagnosis: [], ablation: [] };
    const save = (): void => {
      if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(records, null, 1)}\n`);
    };
    const source = await loadSource(undefined);
    const split = await makeSplit('ir100', source, { splitsDir: splitsDir(undefined), epochs, batchSize: 256 });
    try {
      if (values['skip-diagnosis'] !== true) {
        await diagnose(split, seeds[0] ?? 0, diagEpochs, cap, records);
        save();
      }
      if (values['skip-ablation'] !== true) {
        for (const seed of seeds) {
          for (const setting of SETTINGS) {
            if (only !== null && !only.includes(setting.id)) continue;
            const a = await ablate(split, setting, seed, epochs);
            records.ablation.push(a);
            console.log(`ablation ${setting.id.padEnd(16)} seed ${seed}: balanced ${f2(a.balanced)} acceptance ${f2(100 * a.acceptanceRate)} % pool ${a.poolSize} ${a.seconds.toFixed(0)} s`);
            save();
          }
        }
      }
      if (values['head-test'] === true) {
        const headEpochs = Number(values['head-epochs'] ?? 30);
        const headSplit = headEpochs === epochs ? split : await makeSplit('ir100', source, { splitsDir: splitsDir(undefined), epochs: headEpochs, batchSize: 256 });
        try {
          for (const seed of seeds) {
            await headTest(headSplit, seed, headEpochs, records, only);
            save();
          }
        } finally {
          if (headSplit !== split) disposeSplit(headSplit);
        }
      }
    } finally {
      disposeSplit(split);
    }
  }
  const md = markdown(records);
  console.log(`\n${md}\n`);
  if (values.write === true) writeBenchSection('synlt-ablation', md);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
