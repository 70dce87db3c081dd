import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DEBIAN_FASHION_MNIST_DIR,
  loadFashionMnist,
  parseIdx,
  readIdxFile,
  readIdxImagesLabels,
  writeIdxFile,
} from '../../src/data/idx.js';
import { loadFashionMnistLTSubset } from '../../src/data/shipped.js';
import { loadLongTailSplit } from '../../src/data/long-tail.js';

function idxBytes(magic: number, dims: number[], body: number[]): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(head.buffer);
  v.setUint32(0, magic);
  dims.forEach((d, a) => v.setUint32(4 + 4 * a, d));
  return Uint8Array.from([...head, ...body]);
}

describe('IDX', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-idx-'));

  it('parses a hand-made big-endian file: images from byte 16, labels from byte 8', () => {
    const img = parseIdx(idxBytes(2051, [2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), { expectedRank: 3 });
    expect(img.dims).toEqual([2, 2, 3]);
    expect(Array.from(img.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const lab = parseIdx(idxBytes(2049, [3], [9, 0, 4]), { expectedRank: 1 });
    expect(lab.dims).toEqual([3]);
    expect(Array.from(lab.data)).toEqual([9, 0, 4]);
  });

  it('write → read round-trips, gzip\'d and plain', async () => {
    for (const name of ['a-idx3-ubyte.gz', 'a-idx3-ubyte']) {
      const path = join(dir, name);
      const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 37) % 256);
      await writeIdxFile(path, { dims: [2, 3, 4], data });
      const back = await readIdxFile(path, { expectedRank: 3 });
      expect(back.dims).toEqual([2, 3, 4]);
      expect(Array.from(back.data)).toEqual(Array.from(data));
    }
  });

  it('corrupt, truncated or mismatched files give INVALID_DATA, not garbage', async () => {
    const good = idxBytes(2051, [2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => parseIdx(idxBytes(2049, [8], [1, 2, 3, 4, 5, 6, 7, 8]), { expectedRank: 3, source: 'x.idx' })).toThrow(
      'expected x.idx to be an IDX file with magic number 2051 (unsigned bytes, rank 3). Received: magic=2049',
    );
    expect(() => parseIdx(good.subarray(0, good.length - 1), { expectedRank: 3, source: 'x.idx' })).toThrow(
      'expected x.idx to be 16 header bytes + 8 data bytes for dims [2, 2, 2]. Received: 23 bytes',
    );
    expect(() => parseIdx(good.subarray(0, 10), { expectedRank: 3, source: 'x.idx' })).toThrow(
      'expected x.idx to be an IDX file with a 16-byte header. Received: 10 bytes',
    );
    // A gzip stream cut in the middle.
    const gz = gzipSync(Buffer.from(idxBytes(2051, [4, 8, 8], Array.from({ length: 256 }, (_, i) => i))));
    const cut = join(dir, 'cut-idx3-ubyte.gz');
    writeFileSync(cut, gz.subarray(0, gz.length - 12));
    await expect(readIdxFile(cut, { expectedRank: 3 })).rejects.toMatchObject({ code: 'INVALID_DATA' });
    await expect(readIdxFile(cut, { expectedRank: 3 })).rejects.toThrow(/expected .*cut-idx3-ubyte\.gz to be a complete gzip stream/);
    // Gzip header then garbage.
    const garbage = join(dir, 'garbage.gz');
    writeFileSync(garbage, Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    await expect(readIdxFile(garbage, { expectedRank: 1 })).rejects.toMatchObject({ code: 'INVALID_DATA' });
    // Images and labels that disagree on N.
    await writeIdxFile(join(dir, 'i.gz'), { dims: [2, 1, 1], data: Uint8Array.from([1, 2]) });
    await writeIdxFile(join(dir, 'l.gz'), { dims: [3], data: Uint8Array.from([1, 2, 3]) });
    await expect(readIdxImagesLabels({ images: join(dir, 'i.gz'), labels: join(dir, 'l.gz') })).rejects.toThrow(
      /expected .*l\.gz to be 2 labels \(one per image in .*i\.gz\)\. Received: 3 labels/,
    );
    await expect(readIdxFile(join(dir, 'nope.gz'), { expectedRank: 1 })).rejects.toMatchObject({ code: 'MISSING_INPUT' });
  });

  it('loadFashionMnist names the Debian package when the files are absent', async () => {
    await expect(loadFashionMnist({ split: 'train', dir: join(dir, 'empty') })).rejects.toMatchObject({ code: 'MISSING_INPUT' });
    await expect(loadFashionMnist({ split: 'train', dir: join(dir, 'empty') })).rejects.toThrow(
      /apt-get install dataset-fashion-mnist/,
    );
    await expect(loadFashionMnist({ split: 'val' as 'train' })).rejects.toThrow(
      'expected split to be one of "train", "test". Received: split="val"',
    );
  });

  it.runIf(existsSync(DEBIAN_FASHION_MNIST_DIR))('reads Debian\'s Fashion-MNIST test set (10,000 balanced images)', async () => {
    const test = await loadFashionMnist({ split: 'test' });
    expect(test.sampleShape).toEqual([28, 28, 1]);
    expect(test.y.length).toBe(10000);
    expect(test.x.length).toBe(10000 * 784);
    const counts = new Array(10).fill(0);
    for (const v of test.y) counts[v]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });
});

describe('shipped Fashion-MNIST-LT subset', () => {
  it('is found from the package root and has the documented counts; it matches its split files', async () => {
    const { train, test, classNames, dir } = await loadFashionMnistLTSubset();
    expect(classNames[9]).toBe('Ankle boot');
    const count = (y: Int32Array): number[] => {
      const c = new Array(10).fill(0);
      for (const v of y) c[v]++;
      return c;
    };
    expect(count(train.y)).toEqual([600, 359, 215, 129, 77, 46, 27, 16, 10, 6]);
    expect(count(test.y)).toEqual(new Array(10).fill(200));
    expect(train.x.length).toBe(1485 * 784);
    const split = await loadLongTailSplit(join(dir, 'train-split.json'));
    expect(Array.from(split.counts)).toEqual(count(train.y));
    expect(new Set(split.indices).size).toBe(1485);
    // Pixels are real images, not zeros: mean intensity of Fashion-MNIST is about 73/255.
    let s = 0;
    for (const v of test.x) s += v;
    expect(s / test.x.length).toBeGreaterThan(50);
    expect(s / test.x.length).toBeLessThan(100);
    await expect(loadFashionMnistLTSubset({ dir: join(tmpdir(), 'no-such-dir') })).rejects.toMatchObject({ code: 'MISSING_INPUT' });
  });

  it('is never shipped in the npm tarball (package.json files)', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files.some((f) => f.startsWith('data'))).toBe(false);
  });
});
