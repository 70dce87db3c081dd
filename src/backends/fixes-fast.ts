/**
 * The hot training kernels of the wasm fixes, rewritten as compositions of fast stock wasm kernels
 * (XNNPACK matmul and convolution, Transpose, Reverse, PadV2), so they stay on the fast path:
 *
 * - `BatchMatMul` with `transposeA`/`transposeB`: transpose explicitly (the operands, or the operands'
 *   complement and the result, whichever moves fewer elements), then multiply untransposed.
 * - `Conv2DBackpropFilter` (missing in stock 4.22): one forward convolution with batch and channel axes
 *   swapped.
 * - `Conv2DBackpropInput` (stock is a naive loop): one forward convolution of the stride-dilated `dy`
 *   with the spatially flipped, in/out-transposed filter.
 *
 * Written against tfjs-backend-wasm 4.22 internals (kernel names, attribute shapes, `BackendWasm`).
 */
import * as tf from '@tensorflow/tfjs';
import { runKernel, runWasmKernel, Scratch, shape4, type KernelArgs, type WasmBackendLike } from './kernel-utils.js';

/** Keeps the stock kernel's setup (it binds the C++ entry point for each new backend instance). */
function withSetup(stock: tf.KernelConfig | undefined): Pick<tf.KernelConfig, 'setupFunc'> {
  return stock?.setupFunc === undefined ? {} : { setupFunc: stock.setupFunc };
}

/** Permutation swapping the last two axes of a rank-`rank` tensor. */
function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/**
 * `BatchMatMul` that never hands a transposed operand to XNNPACK: the stock kernel's transposed path is
 * 10–20× slower than its plain one, and every matmul gradient is transposed.
 */
export function fastBatchMatMul(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    ...withSetup(stock),
    kernelFunc: (args) => {
      const { inputs, attrs } = args as KernelArgs;
      const backend = args.backend as WasmBackendLike;
      const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
      const a = inputs['a'] as tf.TensorInfo;
      const b = inputs['b'] as tf.TensorInfo;
      if (!transposeA && !transposeB) return stock.kernelFunc(args);
      const scratch = new Scratch(backend);
      const transpose = (x: tf.TensorInfo): tf.TensorInfo => runWasmKernel('Transpose', backend, { x }, { perm: swapLastTwo(x.shape.length) });
      try {
        // C = op(A)·op(B) can also be computed as (op(B)ᵀ·op(A)ᵀ)ᵀ; pick the form that moves fewer elements
        // (for the weight gradient xᵀ·g of a wide layer, transposing g and the result beats transposing x).
        const sizeA = tf.util.sizeFromShape(a.shape);
        const sizeB = tf.util.sizeFromShape(b.shape);
        const rows = a.shape[a.shape.length - (transposeA ? 1 : 2)] as number;
        const cols = b.shape[b.shape.length - (transposeB ? 2 : 1)] as number;
        const sizeC = (sizeA / (a.shape[a.shape.length - 1] as number) / (a.shape[a.shape.length - 2] as number)) * rows * cols;
        const direct = (transposeA ? sizeA : 0) + (transposeB ? sizeB : 0);
        const viaOutput = (transposeA ? 0 : sizeA) + (transposeB ? 0 : sizeB) + sizeC;
        if (viaOutput < direct) {
          const bT = transposeB ? b : scratch.keep(transpose(b));
          const aT = transposeA ? a : scratch.keep(transpose(a));
          const cT = scratch.keep(runKernel(stock, backend, { a: bT, b: aT }, { transposeA: false, transposeB: false }));
          return transpose(cT);
        }
        const a2 = transposeA ? scratch.keep(transpose(a)) : a;
        const b2 = transposeB ? scratch.keep(transpose(b)) : b;
        return runKernel(stock, backend, { a: a2, b: b2 }, { transposeA: false, transposeB: false });
      } finally {
        scratch.free();
      }
    },
  };
}

/** Explicit padding tuple for a channels-last convolution. */
function explicitPad(top: number, bottom: number, left: number, right: number): tf.backend_util.ExplicitPadding {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/**
 * `Conv2DBackpropFilter`: dW[i,j,c,o] = Σ_{n,p,q} x[n, p·s_h + i − pad_t, q·s_w + j − pad_l, c] · dy[n,p,q,o].
 * Read with c as the batch axis and n as the channel axis, this is a forward convolution of
 * x' = x^T[c,h,w,n] with the "filter" dy'[p,q,n,o], stride 1 and dilation s (the forward stride),
 * whose output rows are the filter rows i. tfjs only takes this gradient with dilation 1.
 */
export function fastConv2DBackpropFilter(): tf.KernelConfig {
  return {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, attrs } = args as KernelArgs;
      const backend = args.backend as WasmBackendLike;
      const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      const scratch = new Scratch(backend);
      try {
        let x = inputs['x'] as tf.TensorInfo;
        let dy = inputs['dy'] as tf.TensorInfo;
        const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
        const info = tf.backend_util.computeConv2DInfo(shape4(x.shape), filterShape, strides, 1, pad, dimRoundingMode, false, format);
        if (format === 'channelsFirst') {
          x = scratch.keep(runWasmKernel('Transpose', backend, { x }, { perm: [0, 2, 3, 1] }));
          dy = scratch.keep(runWasmKernel('Transpose', backend, { x: dy }, { perm: [0, 2, 3, 1] }));
        }
        const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, inHeight, inWidth } = info;
        const { outHeight, outWidth } = info;
        const top = info.padInfo.top;
        const left = info.padInfo.left;
        // Rows of padding below that make the output exactly fh rows; when negative the input has unused
        // trailing rows, so convolve without bottom padding and cut the extra output rows afterwards.
        const bottom = fh - 1 + (outHeight - 1) * sh + 1 - inHeight - top;
        const right = fw - 1 + (outWidth - 1) * sw + 1 - inWidth - left;
        const xT = scratch.keep(runWasmKernel('Transpose', backend, { x }, { perm: [3, 1, 2, 0] }));
        const dyT = scratch.keep(runWasmKernel('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] }));
        let grad = scratch.keep(
          runWasmKernel(
            'Conv2D',
            backend,
            { x: xT, filter: dyT },
            {
              strides: [1, 1],
              pad: explicitPad(top, Math.max(bottom, 0), left, Math.max(right, 0)),
              dataFormat: 'NHWC',
              dilations: [sh, sw],
            },
          ),
        );
        if (bottom < 0 || right < 0) {
          const [c, , , o] = grad.shape as [number, number, number, number];
          grad = scratch.keep(runWasmKernel('Slice', backend, { x: grad }, { begin: [0, 0, 0, 0], size: [c, fh, fw, o] }));
        }
        return runWasmKernel('Transpose', backend, { x: grad }, { perm: [1, 2, 0, 3] });
      } finally {
        scratch.free();
      }
    },
  };
}

/**
 * Inserts s−1 zeros after every row/column of `dy` (the stride dilation of a transposed convolution),
 * keeping the trailing zeros: [n, p, q, c] → [n, p·s_h, q·s_w, c].
 */
function dilateSpatial(backend: WasmBackendLike, scratch: Scratch, dy: tf.TensorInfo, sh: number, sw: number): tf.TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [n, p, q, c] = dy.shape as [number, number, number, number];
  const six = scratch.keep(runWasmKernel('Reshape', backend, { x: dy }, { shape: [n, p, 1, q, 1, c] }));
  const padded = scratch.keep(
    runWasmKernel(
      'PadV2',
      backend,
      { x: six },
      { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 },
    ),
  );
  return scratch.keep(runWasmKernel('Reshape', backend, { x: padded }, { shape: [n, p * sh, q * sw, c] }));
}

/**
 * `Conv2DBackpropInput`: dx[n,h,w,c] = Σ_{i,j,o} dyₛ[n, h + pad_t − i, w + pad_l − j, o] · W[i,j,c,o], with
 * dyₛ the stride-dilated dy. Substituting i → fh−1−i turns it into a forward correlation of dyₛ with the
 * flipped filter W[fh−1−i, fw−1−j, o, c], top padding fh−1−pad_t. Channels-first data and padding larger
 * than the filter (never produced by 'same'/'valid') go to the stock kernel, which is correct but slower.
 */
export function fastConv2DBackpropInput(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    ...withSetup(stock),
    kernelFunc: (args) => {
      const { inputs, attrs } = args as KernelArgs;
      const backend = args.backend as WasmBackendLike;
      const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
      const dy = inputs['dy'] as tf.TensorInfo;
      const filter = inputs['filter'] as tf.TensorInfo;
      const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
      if (format !== 'channelsLast') return stock.kernelFunc(args);
      const info = tf.backend_util.computeConv2DInfo(inputShape, shape4(filter.shape), strides, 1, pad, dimRoundingMode, false, format);
      const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, inHeight, inWidth } = info;
      const top = fh - 1 - info.padInfo.top;
      const left = fw - 1 - info.padInfo.left;
      if (top < 0 || left < 0) return stock.kernelFunc(args);
      const scratch = new Scratch(backend);
      try {
        const dyS = dilateSpatial(backend, scratch, dy, sh, sw);
        const rows = dyS.shape[1] as number;
        const cols = dyS.shape[2] as number;
        const bottom = inHeight + fh - 1 - rows - top;
        const right = inWidth + fw - 1 - cols - left;
        const flipped = scratch.keep(runWasmKernel('Reverse', backend, { x: filter }, { dims: [0, 1] }));
        const kernel = scratch.keep(runWasmKernel('Transpose', backend, { x: flipped }, { perm: [0, 1, 3, 2] }));
        const convAttrs = {
          strides: [1, 1],
          pad: explicitPad(top, Math.max(bottom, 0), left, Math.max(right, 0)),
          dataFormat: 'NHWC',
          dilations: [1, 1],
        };
        if (bottom >= 0 && right >= 0) return runWasmKernel('Conv2D', backend, { x: dyS, filter: kernel }, convAttrs);
        // Trailing zeros of the dilation reach past the input: cut the extra output rows/columns.
        const full = scratch.keep(runWasmKernel('Conv2D', backend, { x: dyS, filter: kernel }, convAttrs));
        return runWasmKernel('Slice', backend, { x: full }, { begin: [0, 0, 0, 0], size: inputShape });
      } finally {
        scratch.free();
      }
    },
  };
}
