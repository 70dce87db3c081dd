/**
 * The shipped Fashion-MNIST-LT subset as the recipe tests use it (flattened to [784] and standardised), and
 * the plain cross-entropy baseline the recipes are compared with.
 */
import type { Rng } from '../../src/core/rng.js';
import { featureStats, fromArrays, loadFashionMnistLTSubset, standardizeArrays, type LabeledArrays, type LabeledData } from '../../src/data/index.js';
import { crossEntropyLoss } from '../../src/losses/index.js';
import { classifier, linearHead, mlpBackbone } from '../../src/models/index.js';
import { trainer, type TrainerBaseConfig } from '../../src/train/trainer.js';

/** Train and test arrays, flattened to 784 features and standardised with the training set's statistics. */
export async function standardizedSubsetArrays(): Promise<{ train: LabeledArrays; test: LabeledArrays }> {
  const sub = await loadFashionMnistLTSubset();
  const flat = (a: LabeledArrays): LabeledArrays => ({ ...a, sampleShape: [784] });
  const stats = featureStats(flat(sub.train), { scale: 1 / 255 });
  return { train: standardizeArrays(flat(sub.train), stats), test: standardizeArrays(flat(sub.test), stats) };
}

/** {@link standardizedSubsetArrays} as tensors [N, 784] (the caller disposes `x`). */
export async function standardizedSubset(): Promise<{ train: LabeledData; test: LabeledData }> {
  const { train, test } = await standardizedSubsetArrays();
  return { train: fromArrays(train), test: fromArrays(test) };
}

/** Options of {@link plainCrossEntropy}. */
export interface PlainCrossEntropyOptions {
  readonly train: LabeledData;
  readonly test: LabeledData;
  /** The stream of the MLP's weights (its 'backbone' and 'head' forks), as the recipe under test draws them. */
  readonly rng: Rng;
  /** The one hidden width of the MLP 784 → hidden → numClasses. */
  readonly hidden: number;
  readonly numClasses: number;
  /** The trainer's schedule (seed, epochs, batch size, optimizer, ...); cross-entropy, no progress output. */
  readonly trainer: Omit<TrainerBaseConfig, 'model' | 'progress'>;
}

/**
 * The baseline the recipes must beat: balanced accuracy on `test` of an MLP trained on `train` with plain
 * cross-entropy. Frees the model and the trainer.
 */
export async function plainCrossEntropy(o: PlainCrossEntropyOptions): Promise<number> {
  const model = classifier({
    backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [o.hidden], rng: o.rng.fork('backbone') }),
    head: linearHead({ inputDim: o.hidden, numClasses: o.numClasses, rng: o.rng.fork('head') }),
  });
  const loop = trainer({ model, loss: crossEntropyLoss(), ...o.trainer, progress: 'none' });
  await loop.fit(o.train);
  const ba = loop.evaluate(o.test).balancedAccuracy;
  loop.dispose();
  model.dispose();
  return ba;
}
