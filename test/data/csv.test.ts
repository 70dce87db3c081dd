import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCsv, parseCsv, type CsvOptions } from '../../src/data/csv.js';

function thrown(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected a throw');
}

function expectError(code: string, fn: () => unknown, message: string | RegExp): void {
  const e = thrown(fn);
  expect(e.code, e.message).toBe(code);
  if (typeof message === 'string') expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
}

describe('CSV basics', () => {
  const text = 'f1,label,f2\n1.5,2,-3\n0,0,4e-1\n\n7,1,8\n';

  it('parses features and a named or indexed label column; integer labels work as before', () => {
    const d = parseCsv(text, { labelColumn: 'label' });
    expect(Array.from(d.y)).toEqual([2, 0, 1]);
    expect(Array.from(d.x)).toEqual([1.5, -3, 0, 0.4, 7, 8].map(Math.fround));
    expect(d.sampleShape).toEqual([2]);
    expect(d.featureNames).toEqual(['f1', 'f2']);
    expect(d.classNames).toBeUndefined();
    expect(Array.from(parseCsv('a,y\n1,3.0\n2,1e1\n3,+2', { labelColumn: 'y' }).y)).toEqual([3, 10, 2]);
    const byIndex = parseCsv('1;a;2\n3;b;4', { labelColumn: 1, header: false, delimiter: ';', classNames: ['b', 'a'] });
    expect(Array.from(byIndex.y)).toEqual([1, 0]);
    expect(Array.from(byIndex.x)).toEqual([1, 2, 3, 4]);
    expect(byIndex.classNames).toEqual(['b', 'a']);
    expect(byIndex.featureNames).toEqual(['x0', 'x2']);
  });

  it('rejects ragged rows, non-numeric features and bad labels, naming line and column', async () => {
    expectError('INVALID_DATA', () => parseCsv('a,label\n1,2\n3', { labelColumn: 'label' }), 'expected 2 fields in CSV line 3. Received: 1 fields');
    expectError('INVALID_DATA', () => parseCsv('a,label\nx,2', { labelColumn: 'label' }), 'expected a decimal number in CSV line 2, column "a". Received: "x"');
    expectError('LABEL_OUT_OF_RANGE', () => parseCsv('a,label\n1,-2', { labelColumn: 'label' }), /^expected a non-negative integer label .*in CSV line 2, column "label"\. Received: "-2"$/);
    expectError('LABEL_OUT_OF_RANGE', () => parseCsv('a,label\n1,cat', { labelColumn: 'label' }), /labelEncoding: 'sorted' \| 'firstSeen' for class names/);
    expectError('LABEL_OUT_OF_RANGE', () => parseCsv('a,label\n1,0x1', { labelColumn: 'label' }), /Received: "0x1"$/);
    expectError('LABEL_OUT_OF_RANGE', () => parseCsv('a,label\n1,dog', { labelColumn: 'label', classNames: ['cat'] }), 'expected a label in classNames in CSV line 2, column "label". Received: "dog"');
    expectError('INVALID_DATA', () => parseCsv('a,label\n1,', { labelColumn: 'label', labelEncoding: 'sorted' }), /expected a non-empty label in CSV line 2/);
    expectError('INVALID_OPTION', () => parseCsv('a,label\n1,2', { labelColumn: 'y' }), 'expected labelColumn to name a header column (a, label). Received: labelColumn="y"');
    expectError('INVALID_OPTION', () => parseCsv('1,2', { labelColumn: 2, header: false }), 'expected labelColumn in [0, 2). Received: labelColumn=2');
    await expect(loadCsv(join(tmpdir(), 'no-such.csv'), { labelColumn: 0 })).rejects.toMatchObject({ code: 'MISSING_INPUT' });
    const dir = mkdtempSync(join(tmpdir(), 'lt-csv-'));
    writeFileSync(join(dir, 'ok.csv'), text);
    expect(Array.from((await loadCsv(join(dir, 'ok.csv'), { labelColumn: 'label' })).y)).toEqual([2, 0, 1]);
    writeFileSync(join(dir, 'hex.csv'), 'a,label\n0x1F,1\n');
    await expect(loadCsv(join(dir, 'hex.csv'), { labelColumn: 'label' })).rejects.toThrow(/hex\.csv line 2, column "a"\. Received: "0x1F"/);
  });
});

describe('CSV numbers: decimal only, finite as float32', () => {
  const one = (cell: string): (() => unknown) => () => parseCsv(`f,y\n${cell},0`, { labelColumn: 'y' });

  it('accepts the decimal forms pandas and numpy write', () => {
    for (const [cell, v] of [['1', 1], ['-2.5', -2.5], ['.5', 0.5], ['5.', 5], ['+3e-2', 0.03], ['1E3', 1000], ['3.4e38', 3.4e38], ['1e-50', 0]] as const) {
      expect(parseCsv(`f,y\n${cell},0`, { labelColumn: 'y' }).x[0], cell).toBe(Math.fround(v));
    }
  });

  it('rejects hexadecimal, binary, octal, separators, empty cells and words as INVALID_DATA', () => {
    for (const cell of ['0x1F', '0X1f', '0b101', '0o17', '1_000', '1,5', '', ' ', 'e5', '1e', '.', '--1', '1.2.3', 'abc']) {
      expectError('INVALID_DATA', cell === '1,5' ? () => parseCsv('f;y\n1,5;0', { labelColumn: 'y', delimiter: ';' }) : one(cell), /expected a decimal number in CSV line 2, column "f"/);
    }
  });

  it('rejects NaN and infinities, and values that overflow float32, as NON_FINITE', () => {
    for (const cell of ['NaN', 'nan', 'inf', '-inf', 'Infinity', '-Infinity']) {
      expectError('NON_FINITE', one(cell), `expected a finite number in CSV line 2, column "f". Received: ${JSON.stringify(cell)}`);
    }
    expectError('NON_FINITE', one('1e39'), 'expected a number within float32 range (±3.4e38; "1e39" becomes Infinity) in CSV line 2, column "f". Received: "1e39"');
    expectError('NON_FINITE', one('-3.5e38'), /"-3\.5e38" becomes -Infinity/);
    expectError('NON_FINITE', one('1e400'), /line 2, column "f"/);
    expectError('NON_FINITE', () => parseCsv('1,2\n3,1e39', { labelColumn: 0, header: false }), /line 2, column 1\./);
  });
});

describe('CSV label encoding that discovers the classes', () => {
  const text = 'id,f1,species,f2\n7,1.5,setosa,-3\n8,0,Virginica,.4\n9,7,versicolor,8e0\n10,2,setosa,1\n11,3,Ärger,2\n';

  it("'sorted' is scikit-learn's LabelEncoder (code-point order; numeric when every label is a number)", () => {
    // sklearn: LabelEncoder().fit_transform(['setosa','Virginica','versicolor','setosa','Ärger']) → [1 0 2 1 3],
    // classes_ ['Virginica', 'setosa', 'versicolor', 'Ärger']; on [10, 2, 3, 2] → [2 0 1 0], classes_ [2, 3, 10].
    const d = parseCsv(text, { labelColumn: 'species', labelEncoding: 'sorted', ignoreColumns: ['id'] });
    expect(d.classNames).toEqual(['Virginica', 'setosa', 'versicolor', 'Ärger']);
    expect(Array.from(d.y)).toEqual([1, 0, 2, 1, 3]);
    expect(d.featureNames).toEqual(['f1', 'f2']);
    const numeric = parseCsv('a,y\n1,10\n2,2\n3,3\n4,2', { labelColumn: 'y', labelEncoding: 'sorted' });
    expect(numeric.classNames).toEqual(['2', '3', '10']);
    expect(Array.from(numeric.y)).toEqual([2, 0, 1, 0]);
    // Code points, not UTF-16 units: U+1F600 (a surrogate pair) sorts after U+FF5E.
    const astral = parseCsv('a,y\n1,😀\n2,～', { labelColumn: 'y', labelEncoding: 'sorted' });
    expect(astral.classNames).toEqual(['～', '😀']);
  });

  it("'firstSeen' is pd.factorize; given classNames are returned as given", () => {
    const d = parseCsv(text, { labelColumn: 2, labelEncoding: 'firstSeen', featureColumns: ['f2', 1] });
    expect(d.classNames).toEqual(['setosa', 'Virginica', 'versicolor', 'Ärger']);
    expect(Array.from(d.y)).toEqual([0, 1, 2, 0, 3]);
    expect(d.featureNames).toEqual(['f2', 'f1']);
    expect(Array.from(d.x)).toEqual([-3, 1.5, 0.4, 0, 8, 7, 1, 2, 2, 3].map(Math.fround));
    const given = parseCsv(text, { labelColumn: 'species', classNames: ['Ärger', 'setosa', 'versicolor', 'Virginica', 'unused'], featureColumns: ['f1'] });
    expect(Array.from(given.y)).toEqual([1, 3, 2, 1, 0]);
    expect(given.classNames).toEqual(['Ärger', 'setosa', 'versicolor', 'Virginica', 'unused']);
    expect(Array.from(parseCsv(text, { labelColumn: 'id', labelEncoding: 'integer', featureColumns: ['f1'] }).y)).toEqual([7, 8, 9, 10, 11]);
  });

  it('column selection ignores the other columns, whatever they hold', () => {
    const d = parseCsv('name,f,y,note\nalice,1,0,n/a\nbob,2,1,0x1F', { labelColumn: 'y', featureColumns: ['f'] });
    expect(Array.from(d.x)).toEqual([1, 2]);
    expect(Array.from(parseCsv('name,f,y\nalice,1,0', { labelColumn: 'y', ignoreColumns: [0] }).x)).toEqual([1]);
  });
});

describe('CSV options are checked before parsing', () => {
  const text = 'a,b,y\n1,2,0';
  const cases: [CsvOptions, string, RegExp][] = [
    [{ labelColumn: 'y', labelEncodng: 'sorted' } as never, 'UNKNOWN_OPTION', /Received: labelEncodng \(did you mean labelEncoding\?\)/],
    [{ labelColumn: 'y', labelEncoding: 'alphabetical' as never }, 'INVALID_OPTION', /expected labelEncoding to be one of "integer", "sorted", "firstSeen"/],
    [{ labelColumn: 'y', labelEncoding: 'sorted', classNames: ['a'] }, 'INVALID_OPTION', /either labelEncoding or classNames/],
    [{ labelColumn: 'y', classNames: [] }, 'INVALID_OPTION', /classNames to be a non-empty array of strings/],
    [{ labelColumn: 'y', classNames: ['a', 'a'] }, 'INVALID_OPTION', /distinct classNames\. Received: classNames="a"/],
    [{ labelColumn: 'y', featureColumns: ['a'], ignoreColumns: ['b'] }, 'INVALID_OPTION', /featureColumns or ignoreColumns, not both/],
    [{ labelColumn: 'y', featureColumns: ['a', 'y'] }, 'INVALID_OPTION', /featureColumns without the label column\. Received: featureColumns\[1\]="y"/],
    [{ labelColumn: 'y', featureColumns: ['a', 0] }, 'INVALID_OPTION', /distinct featureColumns/],
    [{ labelColumn: 'y', featureColumns: [] }, 'INVALID_OPTION', /at least one feature column/],
    [{ labelColumn: 'y', featureColumns: ['c'] }, 'INVALID_OPTION', /featureColumns\[0\] to name a header column \(a, b, y\)/],
    [{ labelColumn: 'y', ignoreColumns: ['a', 'b'] }, 'INVALID_OPTION', /at least one feature column besides the label/],
    [{ labelColumn: 'y', ignoreColumns: ['y'] }, 'INVALID_OPTION', /ignoreColumns without the label column/],
    [{ labelColumn: 1, header: false, featureColumns: ['a'] }, 'INVALID_OPTION', /featureColumns\[0\] to be a column index \(names need header: true\)/],
    [{ labelColumn: 'y', delimiter: '' }, 'INVALID_OPTION', /delimiter to be a non-empty string/],
    [{ labelColumn: 1.5 }, 'INVALID_OPTION', /labelColumn in \[0, 3\)\. Received: labelColumn=1\.5/],
    [{ labelColumn: null as never }, 'INVALID_OPTION', /labelColumn to be a column name or index/],
  ];
  it.each(cases.map((c, i) => [i, ...c] as const))('case %i', (_i, options, code, message) => {
    expectError(code, () => parseCsv(text, options), message);
  });

  it('duplicate header names must be addressed by index', () => {
    expectError('INVALID_OPTION', () => parseCsv('a,a,y\n1,2,0', { labelColumn: 'y', featureColumns: ['a'] }), /unique header column/);
    expect(Array.from(parseCsv('a,a,y\n1,2,0', { labelColumn: 'y', featureColumns: [1] }).x)).toEqual([2]);
  });

  it('loadCsv checks options before reading the file', async () => {
    await expect(loadCsv(join(tmpdir(), 'no-such.csv'), { labelColumn: 0, header: 'yes' } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});
