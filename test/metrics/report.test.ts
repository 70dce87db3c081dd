import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluatePredictions, formatReport, perClassAccuracySvg, writePerClassAccuracySvg } from '../../src/metrics/index.js';
import type { EvaluationReport } from '../../src/metrics/index.js';

/**
 * A strict, small XML well-formedness check: balanced and properly nested tags, quoted attributes with
 * unique names, and no raw '<' or unescaped '&' in text or attribute values. Returns the element names in
 * document order.
 */
function checkWellFormedXml(xml: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const entity = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const checkText = (t: string, where: string): void => {
    if (t.includes('<')) throw new Error(`raw < in ${where}`);
    if (t.replace(entity, '').includes('&')) throw new Error(`unescaped & in ${where}: ${t}`);
  };
  let pos = 0;
  let roots = 0;
  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    if (lt < 0) {
      checkText(xml.slice(pos), 'trailing text');
      if (xml.slice(pos).trim() !== '') throw new Error('text after the root element');
      break;
    }
    const text = xml.slice(pos, lt);
    checkText(text, 'text');
    if (stack.length === 0 && text.trim() !== '') throw new Error('text outside the root element');
    const gt = xml.indexOf('>', lt);
    if (gt < 0) throw new Error('unterminated tag');
    const tag = xml.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      if (stack.pop() !== name) throw new Error(`mismatched </${name}>`);
    } else {
      const selfClosing = tag.endsWith('/');
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const m = /^([A-Za-z][\w:.-]*)((?:\s+[A-Za-z][\w:.-]*="[^"]*")*)\s*$/.exec(body);
      if (m === null) throw new Error(`malformed tag <${tag}>`);
      const attrs = [...(m[2] ?? '').matchAll(/([A-Za-z][\w:.-]*)="([^"]*)"/g)];
      const attrNames = attrs.map((a) => a[1]);
      if (new Set(attrNames).size !== attrNames.length) throw new Error(`duplicate attribute in <${tag}>`);
      for (const a of attrs) checkText(a[2] ?? '', `attribute ${a[1]}`);
      const name = m[1] as string;
      if (stack.length === 0) roots++;
      names.push(name);
      if (!selfClosing) stack.push(name);
    }
    pos = gt + 1;
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (roots !== 1) throw new Error(`expected one root element, found ${roots}`);
  return names;
}

const TRAIN = [600, 359, 215, 129, 77, 46, 27, 16, 10, 6];
const NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle <boot> & "co"'];

function makeReport(): EvaluationReport {
  // 10 test samples per class; class j gets 10 − j right, except class 4 which has no test samples.
  const labels: number[] = [];
  const predictions: number[] = [];
  for (let j = 0; j < 10; j++) {
    if (j === 4) continue;
    for (let k = 0; k < 10; k++) {
      labels.push(j);
      predictions.push(k < 10 - j ? j : (j + 1) % 10);
    }
  }
  return evaluatePredictions({ numClasses: 10, trainCounts: TRAIN, labels, predictions });
}

describe('formatReport', () => {
  it('prints the summary, the shot groups and one row per class', () => {
    const report = makeReport();
    const text = formatReport(report, { classNames: NAMES, title: 'demo' });
    const lines = text.split('\n');
    expect(lines[0]).toBe('demo');
    expect(lines[1]).toBe(`top-1 ${(100 * report.top1).toFixed(2)}%   balanced ${(100 * report.balancedAccuracy).toFixed(2)}%   (90 samples, 10 classes)`);
    // many: classes 0–3 → (1 + .9 + .8 + .7)/4; medium: 5, 6 (4 absent) → (.5 + .4)/2; few: 7–9 → (.3 + .2 + .1)/3
    expect(lines[2]).toBe('many 85.00% (4 classes)   medium 45.00% (2 classes)   few 20.00% (3 classes)');
    expect(lines).toHaveLength(4 + 10);
    expect(lines[4]).toMatch(/^T-shirt\/top\s+600\s+many\s+10\s+100\.00%$/);
    expect(lines[8]).toMatch(/^Coat\s+77\s+medium\s+0\s+—$/);
    expect(lines[13]).toMatch(/^Ankle <boot> & "co"\s+6\s+few\s+10\s+10\.00%$/);
    expect(formatReport(report, { perClass: false }).split('\n')).toHaveLength(2);
  });

  it('shows ECE when probabilities were given, and no groups without training counts', () => {
    const r = evaluatePredictions({ numClasses: 2, labels: [0, 1], probabilities: [0.8, 0.2, 0.3, 0.7] });
    const text = formatReport(r);
    expect(text.split('\n')[0]).toBe('top-1 100.00%   balanced 100.00%   ECE 0.2500   (2 samples, 2 classes)');
    expect(text).not.toMatch(/many/);
  });
});

describe('per-class accuracy SVG', () => {
  it('is well-formed XML with one bar per evaluated class, ordered by training count, and a count line', () => {
    const report = makeReport();
    const svg = perClassAccuracySvg(report, { classNames: NAMES, title: 'Fashion-MNIST-LT & co' });
    const names = checkWellFormedXml(svg);
    expect(names[0]).toBe('svg');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const bars = [...svg.matchAll(/<rect [^>]*fill="#4a7db3"><title>([^<]*)<\/title>/g)].map((m) => m[1] as string);
    expect(bars).toHaveLength(9);
    expect(bars[0]).toBe('T-shirt/top: accuracy 100.0%, training count 600');
    expect(bars[8]).toBe('Ankle &lt;boot&gt; &amp; &quot;co&quot;: accuracy 10.0%, training count 6');
    expect(names.filter((n) => n === 'circle')).toHaveLength(10);
    // Bars get shorter as accuracy falls (heights read back from the SVG).
    const heights = [...svg.matchAll(/<rect [^>]*height="([\d.]+)" fill="#4a7db3"/g)].map((m) => Number(m[1]));
    for (let k = 1; k < heights.length; k++) expect(heights[k]).toBeLessThan(heights[k - 1] as number);
    // The count line falls monotonically (y grows) from head to tail on the log axis.
    const pts = (/<polyline points="([^"]+)"/.exec(svg)?.[1] ?? '').split(' ').map((p) => Number(p.split(',')[1]));
    for (let k = 1; k < pts.length; k++) expect(pts[k]).toBeGreaterThan(pts[k - 1] as number);
    expect(() => checkWellFormedXml('<svg><g></svg>')).toThrow();
    expect(() => checkWellFormedXml('<svg><text>a & b</text></svg>')).toThrow();
  });

  it('draws a baseline beside each bar with a legend when comparing two reports', () => {
    const report = makeReport();
    const base = evaluatePredictions({
      numClasses: report.numClasses,
      trainCounts: report.trainCounts as number[],
      labels: Array.from({ length: report.numClasses }, (_, j) => j),
      predictions: Array.from({ length: report.numClasses }, () => 0),
    });
    const svg = perClassAccuracySvg(report, { classNames: NAMES, label: 'logit-adjusted', baseline: { label: 'cross-entropy', report: base } });
    checkWellFormedXml(svg);
    const grey = [...svg.matchAll(/<rect [^>]*fill="#b8b8b8"><title>([^<]*)<\/title>/g)].map((m) => m[1] as string);
    const blue = [...svg.matchAll(/<rect [^>]*fill="#4a7db3"><title>([^<]*)<\/title>/g)].map((m) => m[1] as string);
    expect(grey[0]).toBe('T-shirt/top (cross-entropy): accuracy 100.0%, training count 600');
    expect(grey[1]).toBe('Trouser (cross-entropy): accuracy 0.0%, training count 359');
    expect(blue[0]).toBe('T-shirt/top (logit-adjusted): accuracy 100.0%, training count 600');
    expect(svg).toContain('>cross-entropy</text>');
    expect(svg).toContain('>logit-adjusted</text>');
    const other = evaluatePredictions({ numClasses: 2, trainCounts: [5, 1], labels: [0, 1], predictions: [0, 1] });
    expect(() => perClassAccuracySvg(report, { baseline: { label: 'x', report: other } })).toThrow(
      `expected baseline.report.numClasses = report.numClasses = ${report.numClasses}. Received: baseline.report.numClasses=2`,
    );
  });

  it('writes the file, and needs training counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-svg-'));
    const path = join(dir, 'chart.svg');
    await writePerClassAccuracySvg(path, makeReport());
    expect(readFileSync(path, 'utf8')).toBe(perClassAccuracySvg(makeReport()));
    const noCounts = evaluatePredictions({ numClasses: 2, labels: [0, 1], predictions: [0, 1] });
    expect(() => perClassAccuracySvg(noCounts)).toThrow(
      'expected a report with trainCounts (pass trainCounts to evaluatePredictions or ClassificationMetrics). Received: report.trainCounts=undefined',
    );
    expect(() => perClassAccuracySvg(makeReport(), { width: 10 })).toThrow('expected width >= 200. Received: width=10');
  });
});
