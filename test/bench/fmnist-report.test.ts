import { describe, expect, it } from 'vitest';
import { gapClosure, gridTable, mergeRecordFiles, recipeVerdicts, RecordFileError, summarize, type RunRecord } from '../../bench/fmnist-report.js';
import type { BenchRow } from '../../bench/fmnist-rows.js';

const never = (): Promise<never> => Promise.reject(new Error('not run in this test'));

function row(id: string, model: string, method: string, table = 'parity'): BenchRow {
  return { id, table, model, method, splits: ['ir100', 'full'], run: never };
}

function rec(rowId: string, split: RunRecord['split'], seed: number, top1: number): RunRecord {
  return { row: rowId, split, seed, epochs: 1, seconds: 1, top1, balanced: top1, many: null, medium: null, few: null, perClass: [] };
}

const file = (name: string, backend: string | undefined, records: RunRecord[]) => ({
  name,
  text: JSON.stringify(backend === undefined ? { records } : { backend, records }),
});

describe('bench:fmnist records', () => {
  it('merges the record files of separate runs in order', () => {
    const a = [rec('linear/ce', 'ir100', 0, 77), rec('linear/ce', 'ir100', 1, 78)];
    const b = [rec('linear/upper', 'full', 0, 84)];
    const merged = mergeRecordFiles([file('a.json', 'wasm', a), file('b.json', 'wasm', b)]);
    expect(merged.backend).toBe('wasm');
    expect(merged.records).toEqual([...a, ...b]);
  });

  it('refuses a run present in two files, another backend, and a file without records', () => {
    const r = [rec('linear/ce', 'ir100', 0, 77)];
    expect(() => mergeRecordFiles([file('a.json', 'wasm', r), file('b.json', 'wasm', r)])).toThrow(
      new RecordFileError('run linear/ce on ir100, seed 0 is in both a.json and b.json.'),
    );
    expect(() => mergeRecordFiles([file('a.json', 'wasm', []), file('b.json', 'cpu', [])])).toThrow(
      new RecordFileError('b.json was run on cpu, an earlier file on wasm.'),
    );
    expect(() => mergeRecordFiles([{ name: 'c.json', text: '{"rows": []}' }])).toThrow(
      new RecordFileError('c.json has no "records" array (write one with --json).'),
    );
  });

  it('computes the share of the CE-to-balanced gap closed per architecture, from the rows present', () => {
    const rows = [
      row('lin/ce', 'linear', 'cross-entropy'),
      row('lin/la', 'linear', 'LA loss'),
      row('lin/upper', 'linear', 'cross-entropy', 'upper'),
      row('mlp/ce', 'MLP', 'cross-entropy'),
    ];
    const records = [
      rec('lin/ce', 'ir100', 0, 76),
      rec('lin/ce', 'ir100', 1, 78),
      rec('lin/la', 'ir100', 0, 81),
      rec('lin/la', 'ir100', 1, 81),
      rec('lin/upper', 'full', 0, 85),
      rec('lin/upper', 'full', 1, 85),
      rec('mlp/ce', 'ir100', 0, 80),
    ];
    const gaps = gapClosure(rows, records);
    // (81 − 77) / (85 − 77) = 0.5; the MLP has no upper-bound row, so no line for it.
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ model: 'linear', ce: 77, upper: 85, best: 81, bestMethod: 'LA loss' });
    expect(gaps[0]?.fraction).toBeCloseTo(0.5, 12);
  });

  it('judges the best recipe against the logit-adjusted loss of its own schedule group, and each group\'s gap apart', () => {
    const rows = [
      row('mlp/ce', 'MLP 256', 'cross-entropy'),
      row('mlp/la-loss', 'MLP 256', 'logit-adjusted loss'),
      row('mlp/decoupled', 'MLP 256', 'decoupled cRT', 'recipes'),
      row('mlp/upper', 'MLP 256', 'cross-entropy', 'upper'),
      row('mlp-cos/ce', 'MLP 256, cosine lr', 'cross-entropy', 'schedule'),
      row('mlp-cos/la-loss', 'MLP 256, cosine lr', 'logit-adjusted loss', 'schedule'),
      row('mlp-cos/selected', 'MLP 256, cosine lr', 'chosen', 'schedule'),
      row('mlp-cos/upper', 'MLP 256, cosine lr', 'cross-entropy', 'upper'),
    ];
    const records = [
      rec('mlp/ce', 'ir100', 0, 81),
      rec('mlp/la-loss', 'ir100', 0, 83.5),
      rec('mlp/decoupled', 'ir100', 0, 83.75),
      rec('mlp/upper', 'full', 0, 88),
      rec('mlp-cos/ce', 'ir100', 0, 81),
      rec('mlp-cos/la-loss', 'ir100', 0, 84.25),
      rec('mlp-cos/selected', 'ir100', 0, 84.75),
      rec('mlp-cos/upper', 'full', 0, 89),
    ];
    const lines = recipeVerdicts(rows, records);
    // The cosine group's 84.75 is +1.25 over the protocol's LA loss, but only +0.50 over LA with its own schedule.
    expect(lines).toContain('best library recipe on the MLP 256: decoupled cRT 83.75 vs the logit-adjusted loss 83.50 (+0.25; goal ≥ +1.00: not met); it closes 39 % of the CE → balanced gap (81.00 → 88.00; goal ≥ 50 %)');
    expect(lines).toContain('MLP 256, cosine lr: best chosen 84.75 vs the logit-adjusted loss with the same schedule 84.25 (+0.50; margin ≥ +1.00: not met); against the protocol\'s logit-adjusted loss 83.50: +1.25');
    const gaps = gapClosure(rows, records);
    expect(gaps.map((g) => [g.model, g.bestMethod, Number(g.fraction.toFixed(3))])).toEqual([
      ['MLP 256', 'decoupled cRT', 0.393],
      ['MLP 256, cosine lr', 'chosen', 0.469],
    ]);
  });

  it('marks a model × method cell without a row as –', () => {
    const rows = [row('lin/ce', 'linear', 'cross-entropy'), row('mlp/la', 'MLP', 'LA loss')];
    const grid = gridTable({ id: 'parity', title: '{split}' }, rows, [rec('lin/ce', 'ir100', 0, 77), rec('mlp/la', 'ir100', 0, 82)], 'ir100');
    expect(grid).toContain('| linear | 77.00 | – |');
    expect(grid).toContain('| MLP | – | 82.00 |');
  });

  it('summarises with the sample standard deviation and skips missing values', () => {
    const s = summarize([1, 2, null, 3]);
    expect(s.n).toBe(3);
    expect(s.mean).toBe(2);
    expect(s.std).toBeCloseTo(1, 12);
    expect(Number.isNaN(summarize([5]).std)).toBe(true);
  });
});
