/**
 * Bounded gzip decompression (RFC 1952) for formats whose header states the payload size: the header is
 * inflated from a small prefix of the compressed bytes first, then the whole stream with an output limit
 * equal to the size that header implies, so a gzip bomb stops after at most that many bytes.
 */
import { LongTailError } from '../core/errors.js';

/** The subset of Node's `zlib.gunzipSync` this module uses (passed in, so no Node import happens here). */
export type GunzipSync = (bytes: Uint8Array, options: { readonly maxOutputLength?: number; readonly finishFlush?: number }) => Uint8Array;

/** zlib.h's Z_SYNC_FLUSH: inflate a truncated stream and return what it decoded, without an error. */
const Z_SYNC_FLUSH = 2;

/** Deflate cannot expand beyond 1032:1 (258-byte matches in ~2 bits), so a prefix of k bytes inflates to < 1040·k. */
const MAX_RATIO = 1040;

/** Compressed-prefix sizes tried (after the gzip member header) until the format header is decoded. */
const PREFIXES = [1024, 16384];

/** What {@link gunzipLimited} needs to know of the format. */
export interface GunzipLimitedSpec {
  readonly gunzip: GunzipSync;
  /** Bytes of the format header that fix the payload size. */
  readonly headerLength: number;
  /** Total decompressed length implied by the header (it throws for a header it rejects). */
  readonly totalLength: (header: Uint8Array) => number;
  /** A name for messages. */
  readonly source: string;
}

function corrupt(source: string, what: string, received: string): LongTailError {
  return new LongTailError('INVALID_DATA', `expected ${source} to be ${what}. Received: ${received}`, { source });
}

/** Offset of the deflate data after a gzip member header: 10 bytes plus FEXTRA, FNAME, FCOMMENT, FHCRC. */
function deflateStart(raw: Uint8Array, source: string): number {
  const truncated = (): LongTailError => corrupt(source, 'a complete gzip stream', 'a truncated gzip header');
  if (raw.length < 10) throw truncated();
  const flags = raw[3] as number;
  let at = 10;
  if (flags & 4) {
    if (raw.length < at + 2) throw truncated();
    at += 2 + ((raw[at] as number) | ((raw[at + 1] as number) << 8));
  }
  for (const bit of [8, 16]) {
    if (flags & bit) {
      while (at < raw.length && raw[at] !== 0) at++;
      at++;
    }
  }
  if (flags & 2) at += 2;
  if (at > raw.length) throw truncated();
  return at;
}

/**
 * Decompresses gzip bytes whose decompressed form starts with a header that fixes its total length.
 *
 * @throws LongTailError `INVALID_DATA` when the stream is corrupt, its header cannot be decoded from the
 *   first 16 KiB of compressed data, `totalLength` rejects the header, or the stream inflates to more
 *   than `totalLength(header)` bytes (decompression stops there).
 */
export function gunzipLimited(raw: Uint8Array, spec: GunzipLimitedSpec): Uint8Array {
  const { gunzip, headerLength, totalLength, source } = spec;
  const start = deflateStart(raw, source);
  let head: Uint8Array | undefined;
  for (const k of PREFIXES) {
    const end = Math.min(raw.length, start + k);
    let out: Uint8Array;
    try {
      out = gunzip(raw.subarray(0, end), { finishFlush: Z_SYNC_FLUSH, maxOutputLength: MAX_RATIO * k });
    } catch (e) {
      throw corrupt(source, 'a complete gzip stream', (e as Error).message);
    }
    if (out.length >= headerLength) {
      head = out.subarray(0, headerLength);
      break;
    }
    if (end === raw.length) break;
  }
  if (head === undefined) {
    throw corrupt(source, `a gzip stream starting with a ${headerLength}-byte header`, `none within the first ${PREFIXES[PREFIXES.length - 1]} compressed bytes`);
  }
  const total = totalLength(head);
  try {
    return gunzip(raw, { maxOutputLength: Math.max(total, 1) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw corrupt(source, `${total} bytes after decompression (as its header states)`, `more (decompression stopped at ${total})`);
    }
    throw corrupt(source, 'a complete gzip stream', (e as Error).message);
  }
}
