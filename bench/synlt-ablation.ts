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
 *
 * Options: --epochs N (default 8) --diag-epochs N (default 6) --cap N (default 200) --seeds 0[,1]
 *   --only ID[,ID] (ablation settings) --skip-diagnosis --skip-ablation --json FILE --report FILE[,FILE] (no training; records merged) --write
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import {
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

interface Records {
  env: string;
  diagEpochs: number;
  cap: number;
  scale: LatentScale | null;
  diagnosis: DiagnosisEntry[];
  ablation: AblationRecord[];
}

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

async function diagnose(split: BenchSplit, seed: number, epochs: number, cap: number, records: Records): Promise<void> {
  const model = referenceModel('mlp', seed);
  const loop = trainer({ model, loss: crossEntropyLoss(), seed, epochs, batchSize: split.batchSize, optimizer: ADAM, progress: 'none' });
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
  return out.join('\n');
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
