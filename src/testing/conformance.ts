/**
 * Loss conformance suite: the checks every library loss passes, runnable on user losses (optax's
 * common optimizer tests, Keras' serialization test, torchmetrics' tester). Framework-agnostic: the
 * results are plain data, and {@link expectLossConformance} throws one `Error` listing every failure.
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendName } from '../backends/index.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { disposeAll } from '../core/tensors.js';
import { toConfig, type SerializedComponent } from '../core/registry.js';
import { lossRegistry } from '../losses/registry.js';
import { sumLosses } from '../losses/combinators.js';
import type { Loss, LossContext, LossInputs, LossTerms } from '../losses/types.js';
import type { ForwardOutput, Model, Requirement } from '../models/types.js';
import { trainer } from '../train/trainer.js';
import { backendsUnderTest } from './index.js';

/** The checks, by name. */
export type LossCheckName =
  | 'terms'
  | 'finiteValue'
  | 'finiteGradients'
  | 'noLeak'
  | 'inputsUnchanged'
  | 'deterministic'
  | 'configRoundTrip'
  | 'sumOfOne'
  | 'trainerStep'
  | 'backendsAgree';

/** Every check, in the order it runs. */
export const LOSS_CHECKS: readonly LossCheckName[] = [
  'terms',
  'finiteValue',
  'finiteGradients',
  'noLeak',
  'inputsUnchanged',
  'deterministic',
  'configRoundTrip',
  'sumOfOne',
  'trainerStep',
  'backendsAgree',
];

/** Outcome of one check on one backend. */
export interface LossCheckResult {
  readonly check: LossCheckName;
  readonly backend: string;
  readonly ok: boolean;
  readonly message: string;
}

/** Options of {@link checkLossConformance}. */
export interface LossConformanceOptions<R extends Requirement> {
  /**
   * Makes fresh inputs (called once per check and backend, on the active backend); the suite disposes
   * every tensor it returns.
   */
  readonly inputs: () => LossInputs<R>;
  /** Rebuilds a loss from `{ kind, config }`; register your kind in `lossRegistry` or pass your own. @defaultValue lossRegistry */
  readonly registry?: {
    /** Rebuilds a loss from `{ kind, config }`. */
    fromConfig(serialized: SerializedComponent): Loss;
  };
  /** @defaultValue backendsUnderTest() (cpu and wasm) */
  readonly backends?: readonly BackendName[];
  /** Tolerance between backends and for the rebuilt loss. @defaultValue 1e-4 */
  readonly rtol?: number;
  /** @defaultValue 1e-5 */
  readonly atol?: number;
  /** Checks to leave out (e.g. `configRoundTrip` for a loss with a schedule function). */
  readonly skip?: readonly LossCheckName[];
}

const CONFORMANCE_KEYS: OptionKeys<LossConformanceOptions<Requirement>> = { inputs: true, registry: true, backends: true, rtol: true, atol: true, skip: true };

type AnyInputs = Record<string, unknown> & { labels: tf.Tensor1D };

function tensorsOf(inputs: AnyInputs): [string, tf.Tensor][] {
  return Object.entries(inputs).filter((e): e is [string, tf.Tensor] => e[1] instanceof tf.Tensor);
}

function close(a: number, b: number, rtol: number, atol: number): boolean {
  return a === b || Math.abs(a - b) <= atol + rtol * Math.abs(b);
}

/** The float tensors among the loss's required inputs: what gradients are taken with respect to. */
function differentiable<R extends Requirement>(loss: Loss<R>, inputs: AnyInputs): string[] {
  return loss.requires.filter((r) => {
    const t = inputs[r];
    return t instanceof tf.Tensor && t.dtype === 'float32';
  });
}

function gradients<R extends Requirement>(loss: Loss<R>, inputs: AnyInputs): { value: number; grads: Float32Array[] } {
  const names = differentiable(loss, inputs);
  const xs = names.map((n) => inputs[n] as tf.Tensor);
  const f = (...args: tf.Tensor[]): tf.Scalar => {
    const replaced: AnyInputs = { ...inputs };
    names.forEach((n, i) => (replaced[n] = args[i]));
    return loss.compute(replaced as unknown as LossInputs<R>);
  };
  if (xs.length === 0) {
    const v = f();
    const value = v.dataSync()[0] as number;
    v.dispose();
    return { value, grads: [] };
  }
  const { value, grads } = tf.valueAndGrads(f)(xs);
  const out = { value: value.dataSync()[0] as number, grads: grads.map((g) => g.dataSync() as Float32Array) };
  tf.dispose([value, ...grads]);
  return out;
}

/**
 * A model whose forward pass returns the given inputs' float fields (plus 0·v for one scalar variable v,
 * so the trainer has something to differentiate): with it, a trainer step sees exactly the tensors
 * `compute` sees.
 */
function fixedOutputsModel<R extends Requirement>(loss: Loss<R>, inputs: AnyInputs, numClasses: number): Model {
  const v = tf.tidy(() => tf.variable(tf.scalar(0), true));
  const fields = loss.requires.filter((r) => inputs[r] instanceof tf.Tensor);
  return {
    kind: 'fixedOutputs',
    numClasses,
    featureDim: 1,
    provides: fields,
    trainableVariables: [v],
    variables: [v],
    forward(): ForwardOutput {
      const out: Record<string, tf.Tensor> = {};
      for (const r of fields) out[r] = tf.add(inputs[r] as tf.Tensor, tf.mul(v, 0));
      return out as unknown as ForwardOutput;
    },
    head(): tf.Tensor2D {
      throw new Error('fixedOutputsModel has no head');
    },
    dispose(): void {
      v.dispose();
    },
  };
}

/** The value `trainer.step` reports on the inputs, and the value `compute` gives with the trainer's context. */
function stepAndCompute<R extends Requirement>(loss: Loss<R>, inputs: AnyInputs): { step: number; compute: number } {
  const labels = inputs.labels;
  const labelValues = Int32Array.from(labels.dataSync());
  const logits = inputs['logits'];
  const numClasses = logits instanceof tf.Tensor ? (logits.shape[1] as number) : Math.max(0, ...labelValues) + 1;
  const given = inputs['ctx'] as LossContext | undefined;
  const epochs = given?.totalEpochs ?? 1;
  const model = fixedOutputsModel(loss, inputs, numClasses);
  const counts = given?.classCounts;
  const loop = trainer({
    model,
    loss: loss as Loss,
    seed: 0,
    epochs,
    batchSize: labelValues.length,
    optimizer: { kind: 'sgd', learningRate: 1e-3 },
    progress: 'none',
    ...(counts === undefined || counts.length !== numClasses ? {} : { classCounts: counts }),
  });
  try {
    const x = tf.zeros([labelValues.length, 1]);
    const targets = inputs['targets'];
    let step: number;
    try {
      step = loop.step(x, labelValues, targets instanceof tf.Tensor ? { targets: targets as tf.Tensor2D } : {}).loss;
    } finally {
      x.dispose();
    }
    const ctx: LossContext = {
      epoch: 0,
      step: 0,
      totalEpochs: epochs,
      ...(counts === undefined || counts.length !== numClasses ? {} : { classCounts: counts }),
    };
    const c = loss.compute({ ...inputs, ctx } as unknown as LossInputs<R>);
    const compute = c.dataSync()[0] as number;
    c.dispose();
    return { step, compute };
  } finally {
    loop.dispose();
    model.dispose();
  }
}

function inspectTerms(terms: LossTerms): string | null {
  const names = Object.keys(terms);
  if (names.length === 0) return 'expected at least one term. Received: {}';
  for (const [name, term] of Object.entries(terms)) {
    if (term.kind === 'reduced') {
      if (term.value.rank !== 0) return `expected term ${name} to be a scalar. Received: shape=[${term.value.shape.join(', ')}]`;
    } else if (term.kind === 'perSample') {
      if (term.values.rank !== 1) return `expected term ${name}.values of rank 1. Received: shape=[${term.values.shape.join(', ')}]`;
      const n = term.values.shape[0];
      for (const extra of [term.labels, term.weights]) {
        if (extra !== undefined && (extra.rank !== 1 || extra.shape[0] !== n)) {
          return `expected term ${name} labels/weights of shape [${n}]. Received: shape=[${extra.shape.join(', ')}]`;
        }
      }
    } else {
      return `expected term ${name} of kind 'perSample' or 'reduced'. Received: kind=${String((term as { kind: unknown }).kind)}`;
    }
  }
  return null;
}

/**
 * Runs the loss conformance checks and returns one result per check and backend (it never throws for
 * a failing check). Checks: `terms` (well-formed unreduced terms), `finiteValue`, `finiteGradients`
 * (tf.valueAndGrads through `compute` w.r.t. every float input the loss requires), `noLeak`
 * (tf.memory().numTensors unchanged after compute + gradients), `inputsUnchanged` (values and
 * liveness), `deterministic`, `configRoundTrip` (plain JSON; the registry rebuilds an equal config and
 * the same value), `sumOfOne` (`sumLosses([{ loss }])` gives the loss's value), `trainerStep` (the value
 * `trainer.step` reports on a model that outputs the inputs equals `compute` with the trainer's context),
 * `backendsAgree` (the value on each backend matches the first one's). Restores the backend that was
 * active on entry.
 *
 * @example
 * ```ts
 * const results = await checkLossConformance(myLoss, { inputs: () => ({ logits: tf.randomNormal([8, 4], 0, 1, 'float32', 1), labels: tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32') }) });
 * ```
 */
export async function checkLossConformance<R extends Requirement>(
  loss: Loss<R>,
  options: LossConformanceOptions<R>,
): Promise<LossCheckResult[]> {
  checkOptions('checkLossConformance options', options, CONFORMANCE_KEYS as OptionKeys<LossConformanceOptions<R>>);
  const skip = new Set(options.skip ?? []);
  const rtol = options.rtol ?? 1e-4;
  const atol = options.atol ?? 1e-5;
  const registry = options.registry ?? lossRegistry;
  const backends = options.backends ?? backendsUnderTest();
  await tf.ready();
  const original = tf.getBackend();
  const results: LossCheckResult[] = [];
  let reference: { backend: string; value: number } | undefined;

  const withInputs = <T>(fn: (inputs: AnyInputs) => T): T => {
    const inputs = options.inputs() as unknown as AnyInputs;
    try {
      return fn(inputs);
    } finally {
      disposeAll(inputs as unknown as Record<string, unknown>);
    }
  };

  try {
    for (const backend of backends) {
      await useBackend(backend);
      const run = (check: LossCheckName, body: () => string | null): void => {
        if (skip.has(check)) return;
        try {
          const failure = body();
          results.push({ check, backend, ok: failure === null, message: failure ?? 'ok' });
        } catch (e) {
          results.push({ check, backend, ok: false, message: `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` });
        }
      };

      run('terms', () =>
        withInputs((inputs) => {
          let failure: string | null = null;
          tf.tidy(() => {
            failure = inspectTerms(loss.terms(inputs as unknown as LossInputs<R>));
          });
          return failure;
        }),
      );

      let value = Number.NaN;
      run('finiteValue', () =>
        withInputs((inputs) => {
          const v = loss.compute(inputs as unknown as LossInputs<R>);
          try {
            if (v.rank !== 0) return `expected compute() to return a scalar. Received: shape=[${v.shape.join(', ')}]`;
            value = v.dataSync()[0] as number;
          } finally {
            v.dispose();
          }
          return Number.isFinite(value) ? null : `expected a finite loss. Received: ${value}`;
        }),
      );

      run('finiteGradients', () =>
        withInputs((inputs) => {
          const { grads } = gradients(loss, inputs);
          const names = differentiable(loss, inputs);
          for (let i = 0; i < grads.length; i++) {
            const g = grads[i] as Float32Array;
            const bad = g.findIndex((x) => !Number.isFinite(x));
            if (bad >= 0) return `expected finite gradients w.r.t. ${names[i]}. Received: grad[${bad}]=${g[bad]}`;
          }
          return null;
        }),
      );

      run('noLeak', () =>
        withInputs((inputs) => {
          const before = tf.memory().numTensors;
          const v = loss.compute(inputs as unknown as LossInputs<R>);
          v.dispose();
          gradients(loss, inputs);
          tf.tidy(() => {
            loss.terms(inputs as unknown as LossInputs<R>);
          });
          const after = tf.memory().numTensors;
          return after === before ? null : `expected tf.memory().numTensors to stay at ${before}. Received: numTensors=${after}`;
        }),
      );

      run('inputsUnchanged', () =>
        withInputs((inputs) => {
          const snapshot = tensorsOf(inputs).map(([name, t]) => [name, t, Array.from(t.dataSync())] as const);
          const v = loss.compute(inputs as unknown as LossInputs<R>);
          v.dispose();
          gradients(loss, inputs);
          for (const [name, t, data] of snapshot) {
            if (t.isDisposed) return `expected input ${name} to stay alive. Received: ${name} disposed`;
            const now = t.dataSync();
            for (let i = 0; i < data.length; i++) {
              if (!Object.is(now[i], data[i])) return `expected input ${name} unchanged. Received: ${name}[${i}]=${now[i]} (was ${data[i]})`;
            }
          }
          return null;
        }),
      );

      run('deterministic', () =>
        withInputs((inputs) => {
          const a = gradients(loss, inputs);
          const b = gradients(loss, inputs);
          if (!Object.is(a.value, b.value)) return `expected the same value twice. Received: ${a.value} then ${b.value}`;
          return null;
        }),
      );

      if (reference === undefined) {
        run('configRoundTrip', () => {
          const serialized = toConfig(loss);
          const json = JSON.stringify({ kind: loss.kind, config: loss.config });
          if (JSON.stringify(serialized) !== json) return 'expected config to be plain JSON (it changed through JSON.stringify/parse)';
          const rebuilt = registry.fromConfig(serialized);
          const again = JSON.stringify(toConfig(rebuilt));
          if (again !== json) return `expected fromConfig(toConfig(loss)) to have the same config. Received: ${again} (was ${json})`;
          if (JSON.stringify(rebuilt.requires) !== JSON.stringify(loss.requires)) {
            return `expected the same requires. Received: ${JSON.stringify(rebuilt.requires)}`;
          }
          return withInputs((inputs) => {
            const x = loss.compute(inputs as unknown as LossInputs<R>);
            const y = rebuilt.compute(inputs as unknown as LossInputs<Requirement>);
            const [vx, vy] = [x.dataSync()[0] as number, y.dataSync()[0] as number];
            tf.dispose([x, y]);
            return close(vy, vx, rtol, atol) ? null : `expected the rebuilt loss to give ${vx}. Received: ${vy}`;
          });
        });
      }

      run('sumOfOne', () =>
        withInputs((inputs) => {
          const single = loss.compute(inputs as unknown as LossInputs<R>);
          const summed = sumLosses([{ loss }]).compute(inputs as unknown as LossInputs<R>);
          const [a, b] = [single.dataSync()[0] as number, summed.dataSync()[0] as number];
          tf.dispose([single, summed]);
          return close(b, a, 1e-6, 1e-7) ? null : `expected sumLosses([{ loss }]) to give the loss's ${a}. Received: ${b}`;
        }),
      );

      run('trainerStep', () =>
        withInputs((inputs) => {
          const before = tf.memory().numTensors;
          const { step, compute } = stepAndCompute(loss, inputs);
          const after = tf.memory().numTensors;
          if (after !== before) return `expected a trainer step to leave tf.memory().numTensors at ${before}. Received: numTensors=${after}`;
          return close(step, compute, rtol, atol) ? null : `expected trainer.step to report compute's ${compute} on the same batch. Received: ${step}`;
        }),
      );

      if (reference === undefined) {
        if (Number.isFinite(value)) reference = { backend, value };
      } else {
        const ref = reference;
        run('backendsAgree', () =>
          close(value, ref.value, rtol, atol) ? null : `expected ${backend} to match ${ref.backend} (${ref.value}). Received: ${value}`,
        );
      }
    }
  } finally {
    if (tf.getBackend() !== original) await tf.setBackend(original);
  }
  return results;
}

/**
 * Runs {@link checkLossConformance} and throws one `Error` listing every failed check.
 *
 * @example
 * ```ts
 * it('my loss conforms', () => expectLossConformance(myLoss, { inputs: makeInputs }));
 * ```
 */
export async function expectLossConformance<R extends Requirement>(loss: Loss<R>, options: LossConformanceOptions<R>): Promise<void> {
  checkOptions('expectLossConformance options', options, CONFORMANCE_KEYS as OptionKeys<LossConformanceOptions<R>>);
  const results = await checkLossConformance(loss, options);
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    throw new Error(
      `loss ${loss.kind} failed ${failed.length} conformance check(s):\n${failed.map((r) => `  ${r.check} [${r.backend}]: ${r.message}`).join('\n')}`,
    );
  }
}
