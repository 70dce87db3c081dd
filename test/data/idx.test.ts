import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { IDX_MAX_BYTES, loadFashionMnist, parseIdx, readIdxFile, readIdxImagesLabels, writeIdxFile } from '../../src/data/idx.js';
import { gunzipLimited, type GunzipSync } from '../../src/data/gzip-limit.js';

const dir = mkdtempSync(join(tmpdir(), 'lt-idx2-'));

function header(dims: number[]): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h.writeUInt32BE(0x0800 + dims.length, 0);
  dims.forEach((d, a) => h.writeUInt32BE(d, 4 + 4 * a));
  return h;
}

const MiB = 1 << 20;
/** `members` gzip members of 1 MiB of zeros each, the first one preceded by `prefix`: a small file that inflates to `members` MiB. */
function bomb(prefix: Buffer, members: number): Buffer {
  const zeros = gzipSync(Buffer.alloc(MiB), { level: 9 });
  const first = gzipSync(Buffer.concat([prefix, Buffer.alloc(MiB)]), { level: 9 });
  return Buffer.concat([first, ...Array.from({ length: members - 1 }, () => zeros)]);
}

/** gunzipSync that records the output limit of every call and the bytes it returned. */
function spyGunzip(): { gunzip: GunzipSync; limits: (number | undefined)[]; produced: number[] } {
  const limits: (number | undefined)[] = [];
  const produced: number[] = [];
  const gunzip: GunzipSync = (bytes, options) => {
    limits.push(options.maxOutputLength);
    const out = gunzipSync(bytes, options);
    produced.push(out.length);
    return out;
  };
  return { gunzip, limits, produced };
}

async function rejection(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe('IDX writer and readers agree', () => {
  it('writeIdxFile output reads back with readIdxFile and parseIdx, for every rank, gzip\'d and plain', async () => {
    for (const dims of [[7], [3, 5], [2, 3, 4], [2, 2, 3, 2], [0, 28, 28]]) {
      const n = dims.reduce((a, b) => a * b, 1);
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) % 256);
      for (const ext of ['', '.gz']) {
        const path = join(dir, `rt-${dims.join('x')}${ext}`);
        await writeIdxFile(path, { dims, data });
        const back = await readIdxFile(path, { expectedRank: dims.length });
        expect(back.dims, path).toEqual(dims);
        expect(Array.from(back.data), path).toEqual(Array.from(data));
        const file = readFileSync(path);
        const plain = ext === '.gz' ? gunzipSync(file) : file;
        const parsed = parseIdx(new Uint8Array(plain), { expectedRank: dims.length });
        expect(parsed.dims).toEqual(dims);
        expect(Array.from(parsed.data)).toEqual(Array.from(data));
      }
    }
  });

  it('parseIdx given gzip bytes says to gunzip first', async () => {
    await writeIdxFile(join(dir, 'g.gz'), { dims: [2], data: Uint8Array.from([1, 2]) });
    const gz = new Uint8Array(readFileSync(join(dir, 'g.gz')));
    expect(() => parseIdx(gz, { expectedRank: 1, source: 'g.gz' })).toThrow(
      /^expected g\.gz to be uncompressed IDX bytes \(gunzip first: readIdxFile does, or DecompressionStream\('gzip'\) in a browser\)\. Received: gzip data/,
    );
  });

  it('writeIdxFile refuses what the readers would reject, and writes nothing', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ dims: [2, 2], data: new Uint8Array(3) }, 'SHAPE_MISMATCH', /expected data\.length = Π dims = 4\. Received: data\.length=3/],
      [{ dims: [2], data: Float32Array.from([1, 300]) }, 'INVALID_OPTION', /expected data to be a Uint8Array/],
      [{ dims: [2], data: [1, 2] }, 'INVALID_OPTION', /expected data to be a Uint8Array/],
      [{ dims: [], data: new Uint8Array(1) }, 'INVALID_OPTION', /expected dims to be an array of 1 to 255 sizes/],
      [{ dims: [1.5], data: new Uint8Array(1) }, 'INVALID_OPTION', /Received: dims\[0\]=1\.5/],
      [{ dims: [-1], data: new Uint8Array(0) }, 'INVALID_OPTION', /Received: dims\[0\]=-1/],
      [{ dims: [2 ** 32], data: new Uint8Array(0) }, 'INVALID_OPTION', /Received: dims\[0\]=4294967296/],
      [{ dims: [1], data: new Uint8Array(1), shape: [1] }, 'UNKNOWN_OPTION', /writeIdxFile array .*Received: shape/],
      [null, 'INVALID_OPTION', /expected writeIdxFile array to be an object/],
    ];
    for (const [array, code, message] of cases) {
      const path = join(dir, `refused-${code}.gz`);
      const e = await rejection(writeIdxFile(path, array as never));
      expect(e.code, message.source).toBe(code);
      expect(e.message).toMatch(message);
      expect(existsSync(path)).toBe(false);
    }
  });

  it('reads gzip members with a file name, extra field and comment (what the gzip tool writes)', async () => {
    const body = Buffer.concat([header([3]), Buffer.from([4, 5, 6])]);
    const gz = gzipSync(body);
    const name = Buffer.from('train-labels-idx1-ubyte\0');
    const extra = Buffer.from([4, 0, 1, 2, 3, 4]);
    const comment = Buffer.from(`${'c'.repeat(3000)}\0`);
    const head = Buffer.from(gz.subarray(0, 10));
    head[3] = 4 | 8 | 16;
    const path = join(dir, 'named.gz');
    writeFileSync(path, Buffer.concat([head, extra, name, comment, gz.subarray(10)]));
    expect(Array.from((await readIdxFile(path, { expectedRank: 1 })).data)).toEqual([4, 5, 6]);
  });
});

describe('gzip bombs fail fast with INVALID_DATA, inflating only what the header allows', () => {
  it('200 MiB of zeros (~200 KB of gzip): rejected from its first bytes (magic 0), never inflated', async () => {
    const raw = bomb(Buffer.alloc(0), 200);
    expect(raw.length).toBeLessThan(400_000);
    const path = join(dir, 'zeros-bomb.gz');
    writeFileSync(path, raw);
    const e = await rejection(readIdxFile(path, { expectedRank: 3 }));
    expect(e.code).toBe('INVALID_DATA');
    expect(e.message).toMatch(/to be an IDX file with magic number 2051 .*Received: magic=0$/);
    const spy = spyGunzip();
    expect(() => gunzipLimited(raw, { gunzip: spy.gunzip, headerLength: 16, totalLength: () => 16, source: 'b' })).toThrow(/more/);
    expect(spy.limits.every((l) => l !== undefined && l <= 1040 * 1024)).toBe(true);
  });

  it('a valid header for one 28×28 image followed by 200 MiB of zeros stops at 800 bytes', async () => {
    const raw = bomb(header([1, 28, 28]), 200);
    const path = join(dir, 'tail-bomb.gz');
    writeFileSync(path, raw);
    const e = await rejection(readIdxFile(path, { expectedRank: 3 }));
    expect(e.code).toBe('INVALID_DATA');
    expect(e.message).toMatch(/to be 800 bytes after decompression \(as its header states\)\. Received: more \(decompression stopped at 800\)$/);
    const spy = spyGunzip();
    expect(() =>
      gunzipLimited(raw, { gunzip: spy.gunzip, headerLength: 16, totalLength: (h) => 16 + new DataView(h.buffer, h.byteOffset).getUint32(4) * 784, source: 'b' }),
    ).toThrow(/stopped at 800/);
    expect(spy.limits).toEqual([1040 * 1024, 800]);
    expect(spy.produced.every((n) => n <= 1040 * 1024)).toBe(true);
  });

  it('a header that claims more than maxBytes is rejected before the body is inflated', async () => {
    const raw = bomb(header([100_000, 1000, 1000]), 2);
    const path = join(dir, 'claim-bomb.gz');
    writeFileSync(path, raw);
    const e = await rejection(readIdxFile(path, { expectedRank: 3 }));
    expect(e.code).toBe('INVALID_DATA');
    expect(e.message).toMatch(
      new RegExp(`at most maxBytes=${IDX_MAX_BYTES} bytes after decompression \\(pass a larger maxBytes for a larger file\\)\\. Received: dims \\[100000, 1000, 1000\\] = 100000000016 bytes`),
    );
    // maxBytes is a real limit both ways.
    await writeIdxFile(join(dir, 'small.gz'), { dims: [10, 10], data: new Uint8Array(100) });
    expect((await rejection(readIdxFile(join(dir, 'small.gz'), { expectedRank: 2, maxBytes: 111 }))).code).toBe('INVALID_DATA');
    expect((await readIdxFile(join(dir, 'small.gz'), { expectedRank: 2, maxBytes: 112 })).dims).toEqual([10, 10]);
  });

  it('a stream with no decodable header in its first 16 KiB is INVALID_DATA', () => {
    const e = (() => {
      try {
        gunzipLimited(gzipSync(Buffer.alloc(5)), { gunzip: gunzipSync, headerLength: 16, totalLength: () => 16, source: 's' });
      } catch (err) {
        return err as { code?: string; message: string };
      }
      return undefined;
    })();
    expect(e?.code).toBe('INVALID_DATA');
    expect(e?.message).toBe('expected s to be a gzip stream starting with a 16-byte header. Received: none within the first 16384 compressed bytes');
  });
});

describe('IDX options', () => {
  it('unknown keys and bad values are rejected before any file is read', async () => {
    expect(() => parseIdx(new Uint8Array(8), { expectedRank: 1, sourc: 'x' } as never)).toThrow(
      'expected parseIdx options to be among expectedRank, source. Received: sourc (did you mean source?)',
    );
    expect(() => parseIdx(new Uint8Array(8), { expectedRank: 0 })).toThrow('expected expectedRank >= 1. Received: expectedRank=0');
    expect(() => parseIdx(new Uint8Array(8), { expectedRank: 256 })).toThrow(/expectedRank <= 255/);
    const absent = join(dir, 'absent.gz');
    expect((await rejection(readIdxFile(absent, { expectedRank: 1, maxByte: 1 } as never))).code).toBe('UNKNOWN_OPTION');
    expect((await rejection(readIdxFile(absent, { expectedRank: 1, maxBytes: NaN }))).message).toBe(
      'expected maxBytes to be an integer. Received: maxBytes=NaN',
    );
    expect((await rejection(readIdxImagesLabels({ images: absent, labels: absent, extra: 1 } as never))).code).toBe('UNKNOWN_OPTION');
    expect((await rejection(loadFashionMnist({ split: 'train', dri: '/tmp' } as never))).message).toMatch(/Received: dri \(did you mean dir\?\)/);
  });
});
