import { describe, expect, it } from 'vitest';
import { ERROR_CODES, LongTailError, formatValue, invalid, isLongTailError } from '../../src/core/errors.js';
import {
  checkAllFinite,
  checkClassCounts,
  checkFinite,
  checkInteger,
  checkLabels,
  checkNonNegative,
  checkOneOf,
  checkPositive,
  checkRange,
  checkRank,
  checkSameSize,
} from '../../src/core/validate.js';
import { DisposeGuard } from '../../src/core/tensors.js';
import { Registry, toConfig } from '../../src/core/registry.js';
import { checkOptions, editDistance, nearestName, type OptionKeys } from '../../src/core/options.js';

function thrown(fn: () => unknown): LongTailError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LongTailError) return e;
    throw e;
  }
  throw new Error('expected a LongTailError, nothing was thrown');
}

describe('LongTailError', () => {
  it('is an Error with a stable code, details and a working instanceof', () => {
    const e = invalid('INVALID_OPTION', 'temperature > 0', 'temperature', 0);
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(LongTailError);
    expect(e.name).toBe('LongTailError');
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toBe('expected temperature > 0. Received: temperature=0');
    expect(e.details).toEqual({ name: 'temperature' });
    expect(isLongTailError(e)).toBe(true);
    expect(isLongTailError(e, 'SHAPE_MISMATCH')).toBe(false);
    expect(isLongTailError(new Error('x'))).toBe(false);
  });

  it('lists every code once', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    expect(ERROR_CODES).toContain('DISPOSED');
  });

  it('formats values compactly', () => {
    expect(formatValue('a')).toBe('"a"');
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(new Float32Array([1, 2]))).toBe('[1, 2]');
    expect(formatValue(Array.from({ length: 20 }, (_, i) => i))).toBe('[0, 1, 2, 3, 4, 5, 6, 7, … (20 items)]');
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
  });
});

describe('validation helpers pin their messages', () => {
  const cases: [() => unknown, string, string][] = [
    [() => checkFinite('x', NaN), 'INVALID_OPTION', 'expected x to be a finite number. Received: x=NaN'],
    [() => checkPositive('temperature', 0), 'INVALID_OPTION', 'expected temperature > 0. Received: temperature=0'],
    [() => checkNonNegative('gamma', -1), 'INVALID_OPTION', 'expected gamma >= 0. Received: gamma=-1'],
    [() => checkRange('beta', 1, { min: 0, max: 1, maxExclusive: true }), 'INVALID_OPTION', 'expected beta in [0, 1). Received: beta=1'],
    [() => checkRange('p', -0.5, { min: 0, minExclusive: true }), 'INVALID_OPTION', 'expected p in (0, inf). Received: p=-0.5'],
    [() => checkInteger('k', 2.5), 'INVALID_OPTION', 'expected k to be an integer. Received: k=2.5'],
    [() => checkInteger('k', 0, { min: 1 }), 'INVALID_OPTION', 'expected k >= 1. Received: k=0'],
    [() => checkOneOf('method', 'fast' as 'plain' | 'log', ['plain', 'log']), 'INVALID_OPTION', 'expected method to be one of "plain", "log". Received: method="fast"'],
    [() => checkAllFinite('features', [1, Infinity]), 'NON_FINITE', 'expected features to be finite everywhere. Received: features[1]=Infinity'],
    [() => checkClassCounts('classCounts', [3, -1]), 'INVALID_OPTION', 'expected every classCounts entry to be a finite number >= 0. Received: classCounts[1]=-1'],
    [() => checkClassCounts('classCounts', []), 'INVALID_OPTION', 'expected classCounts to be a non-empty array of class counts. Received: classCounts=[]'],
    [() => checkLabels('labels', [0, 3], 3), 'LABEL_OUT_OF_RANGE', 'expected labels in [0, 3). Received: labels[1]=3'],
    [() => checkLabels('labels', [0.5]), 'LABEL_OUT_OF_RANGE', 'expected labels to be integers. Received: labels[0]=0.5'],
    [() => checkSameSize('feature width', 4, 'features.shape[1]', 5), 'SHAPE_MISMATCH', 'expected feature width = 4. Received: features.shape[1]=5'],
    [() => checkRank('logits', [2, 3, 4], 2), 'SHAPE_MISMATCH', 'expected logits of rank 2. Received: logits.shape=[2, 3, 4]'],
  ];
  for (const [fn, code, message] of cases) {
    it(message, () => {
      const e = thrown(fn);
      expect(e.code).toBe(code);
      expect(e.message).toBe(message);
    });
  }

  it('returns validated values', () => {
    expect(checkClassCounts('c', [1, 0, 2])).toEqual(new Float64Array([1, 0, 2]));
    const labels = new Int32Array([0, 1]);
    expect(checkLabels('labels', labels, 2)).toBe(labels);
  });
});

describe('DisposeGuard', () => {
  it('throws DISPOSED after dispose and disposes once', () => {
    const g = new DisposeGuard('synthesizer');
    g.check();
    expect(g.markDisposed()).toBe(true);
    expect(g.markDisposed()).toBe(false);
    const e = thrown(() => g.check());
    expect(e.code).toBe('DISPOSED');
    expect(e.message).toBe('expected a live synthesizer. Received: a synthesizer after dispose()');
  });
});

describe('Registry', () => {
  interface Thing {
    readonly kind: string;
    readonly config: { readonly size: number };
  }
  const registry = new Registry<Thing>('thing').register('box', (c) => ({ kind: 'box', config: { size: Number(c['size']) } }));

  it('round-trips toConfig → fromConfig', () => {
    const box: Thing = { kind: 'box', config: { size: 3 } };
    expect(registry.fromConfig(toConfig(box))).toEqual(box);
    expect(registry.kinds()).toEqual(['box']);
  });

  it('rejects unknown kinds with UNKNOWN_KIND', () => {
    const e = thrown(() => registry.fromConfig({ kind: 'bag', config: {} }));
    expect(e.code).toBe('UNKNOWN_KIND');
    expect(e.message).toBe('expected a thing kind, one of box. Received: kind="bag"');
  });
});

describe('checkOptions', () => {
  interface Opts {
    readonly gamma?: number;
    readonly reducer?: string;
    readonly temperature?: number;
  }
  const KEYS: OptionKeys<Opts> = { gamma: true, reducer: true, temperature: true };

  it('passes known keys through and turns undefined into {}', () => {
    const o = { gamma: 1 };
    expect(checkOptions('focalLoss options', o, KEYS)).toBe(o);
    expect(checkOptions('focalLoss options', undefined, KEYS)).toEqual({});
  });

  it('rejects an unknown key with UNKNOWN_OPTION, the list and the nearest valid key', () => {
    const e = thrown(() => checkOptions('focalLoss options', { gama: 0 } as Opts, KEYS));
    expect(e.code).toBe('UNKNOWN_OPTION');
    expect(e.message).toBe('expected focalLoss options to be among gamma, reducer, temperature. Received: gama (did you mean gamma?)');
    expect(e.details).toMatchObject({ key: 'gama', suggestion: 'gamma' });
    expect(thrown(() => checkOptions('x', { temprature: 1 } as Opts, KEYS)).message).toContain('did you mean temperature?');
    expect(thrown(() => checkOptions('x', { Gamma: 1 } as Opts, KEYS)).message).toContain('did you mean gamma?');
  });

  it('names no suggestion when nothing is close, and rejects keys whose value is undefined too', () => {
    const e = thrown(() => checkOptions('x', { zzzzzzzz: 1 } as Opts, KEYS));
    expect(e.message).toBe('expected x to be among gamma, reducer, temperature. Received: zzzzzzzz');
    expect(thrown(() => checkOptions('x', { gama: undefined } as Opts, KEYS)).code).toBe('UNKNOWN_OPTION');
  });

  it('rejects non-objects with INVALID_OPTION', () => {
    for (const bad of [null, 3, 'a', [1], new Float32Array(2)]) {
      expect(thrown(() => checkOptions('x', bad as unknown as Opts, KEYS)).code).toBe('INVALID_OPTION');
    }
  });

  it('edit distance counts transpositions as one edit and ignores case', () => {
    expect(editDistance('gamma', 'gmama')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('ABC', 'abc')).toBe(0);
    expect(nearestName('epoch', ['epochs', 'batchSize'])).toBe('epochs');
    expect(nearestName('q', ['epochs', 'batchSize'])).toBeUndefined();
  });
});
