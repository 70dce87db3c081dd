/**
 * Writes the tiny ONNX models the ONNX encoder tests run (no download, no Python): the protobuf messages
 * of onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto) are encoded by hand.
 *
 *   tiny-mlp.onnx     x [batch, 4]    → features = Relu(x·W + b) [batch, 3]
 *   tiny-tokens.onnx  x [batch, 3, 4] → tokens   = Relu(x·W + b) [batch, 3, 3] (MatMul broadcasts)
 *   tiny-image.onnx   x [batch, 2, 1, 4] (NCHW) → embeds = Flatten(Relu(x·W + b)) [batch, 6]
 *
 * W ∈ ℝ^{4×3} and b ∈ ℝ^3 are fixed numbers, written beside the models as tiny-weights.json so the tests
 * compute the same network with a naive loop.
 *
 * Run: npx tsx scripts/make-tiny-onnx.ts   (writes test/fixtures/onnx/)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Weights of both tiny models: W row-major [4, 3], b [3]. Exactly representable in float32. */
export const TINY_WEIGHTS = {
  w: [
    [0.5, -0.25, 1],
    [-1, 0.75, 0.25],
    [0.125, 0.5, -0.5],
    [1.5, -1, 0.0625],
  ],
  b: [0.25, -0.5, 0.125],
} as const;

// --- protobuf wire format (varint = 0, length-delimited = 2, fixed32 = 5) -------------------------

function varint(value: number): number[] {
  const out: number[] = [];
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

const key = (field: number, wire: number): number[] => varint((field << 3) | wire);
const int = (field: number, value: number): number[] => [...key(field, 0), ...varint(value)];
const bytes = (field: number, payload: readonly number[]): number[] => [...key(field, 2), ...varint(payload.length), ...payload];
const str = (field: number, s: string): number[] => bytes(field, [...new TextEncoder().encode(s)]);

function float32Bytes(values: readonly number[]): number[] {
  const buf = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((v, i) => buf.setFloat32(4 * i, v, true));
  return [...new Uint8Array(buf.buffer)];
}

const FLOAT = 1; // TensorProto.DataType.FLOAT

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian float32). */
function tensor(name: string, dims: readonly number[], values: readonly number[]): number[] {
  return [...dims.flatMap((d) => int(1, d)), ...int(2, FLOAT), ...str(8, name), ...bytes(9, float32Bytes(values))];
}

/** ValueInfoProto { name = 1, type = 2 { tensor_type = 1 { elem_type = 1, shape = 2 { dim = 1 } } } }. */
function valueInfo(name: string, dims: readonly (number | string)[]): number[] {
  const dim = (d: number | string): number[] => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d));
  const shape = dims.flatMap(dim);
  return [...str(1, name), ...bytes(2, bytes(1, [...int(1, FLOAT), ...bytes(2, shape)]))];
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4. */
function node(op: string, inputs: readonly string[], outputs: readonly string[], name: string): number[] {
  return [...inputs.flatMap((s) => str(1, s)), ...outputs.flatMap((s) => str(2, s)), ...str(3, name), ...str(4, op)];
}

/**
 * A ModelProto (ir_version = 1, producer_name = 2, graph = 7, opset_import = 8) of
 * `output = Relu(MatMul(x, W) + b)` with the given input and output shapes.
 */
export function tinyModel(options: {
  readonly inputShape: readonly (number | string)[];
  readonly outputShape: readonly (number | string)[];
  readonly output: string;
  /** Appends Flatten (axis 1, its default). */
  readonly flatten?: boolean;
}): Uint8Array {
  const { w, b } = TINY_WEIGHTS;
  const flatten = options.flatten ?? false;
  const graph = [
    ...bytes(1, node('MatMul', ['x', 'W'], ['xw'], 'matmul')),
    ...bytes(1, node('Add', ['xw', 'b'], ['z'], 'add')),
    ...bytes(1, node('Relu', ['z'], [flatten ? 'r' : options.output], 'relu')),
    ...(flatten ? bytes(1, node('Flatten', ['r'], [options.output], 'flatten')) : []),
    ...str(2, 'tiny'),
    ...bytes(5, tensor('W', [4, 3], w.flat())),
    ...bytes(5, tensor('b', [3], [...b])),
    ...bytes(11, valueInfo('x', options.inputShape)),
    ...bytes(12, valueInfo(options.output, options.outputShape)),
  ];
  const opset = [...str(1, ''), ...int(2, 13)];
  const model = [...int(1, 8), ...str(2, 'longtail scripts/make-tiny-onnx.ts'), ...bytes(7, graph), ...bytes(8, opset)];
  return Uint8Array.from(model);
}

/** The files this script writes, by name. */
export function tinyOnnxFiles(): Record<string, Uint8Array> {
  return {
    'tiny-mlp.onnx': tinyModel({ inputShape: ['batch', 4], outputShape: ['batch', 3], output: 'features' }),
    'tiny-tokens.onnx': tinyModel({ inputShape: ['batch', 3, 4], outputShape: ['batch', 3, 3], output: 'tokens' }),
    'tiny-image.onnx': tinyModel({ inputShape: ['batch', 2, 1, 4], outputShape: ['batch', 6], output: 'embeds', flatten: true }),
    'tiny-weights.json': new TextEncoder().encode(`${JSON.stringify(TINY_WEIGHTS, null, 2)}\n`),
  };
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'onnx');
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(tinyOnnxFiles())) {
    writeFileSync(join(dir, name), data);
    console.log(`wrote ${join('test/fixtures/onnx', name)} (${data.length} bytes)`);
  }
}
