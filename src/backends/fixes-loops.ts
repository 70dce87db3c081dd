/**
 * Wasm fixes written as plain loops over the wasm heap (no copies): kernels that stock tfjs-wasm 4.22 lacks
 * or gets wrong and that are rarely hot enough to need XNNPACK.
 *
 * - `MaxPoolGrad`: stock gives zero gradient to windows whose maximum is negative.
 * - `DepthwiseConv2dNativeBackpropFilter`, `DepthwiseConv2dNativeBackpropInput`: missing.
 * - `UnsortedSegmentSum` (the gradient of `gather`): missing.
 *
 * Each follows the cpu backend's semantics, including its tie-breaking (first maximum in row-major window
 * order) so gradients match it exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { shape4, sizeOf, type KernelArgs, type WasmBackendLike } from './kernel-utils.js';

/** Allocates a zero-filled output; heap views must be taken after this call (allocation can grow the heap). */
function zeros(backend: WasmBackendLike, shape: number[], dtype: tf.DataType): tf.TensorInfo {
  const out = backend.makeOutput(shape, dtype);
  backend.typedArrayFromHeap(out).fill(0);
  return out;
}

/**
 * `MaxPoolGrad`: each dy[b,p,q,c] flows to the first position (row-major) holding the window maximum of
 * the input; positions outside the input (padding) never win.
 */
export function maxPoolGradFix(): tf.KernelConfig {
  return {
    kernelName: 'MaxPoolGrad',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, attrs } = args as KernelArgs;
      const backend = args.backend as WasmBackendLike;
      const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
      const input = inputs['input'] as tf.TensorInfo;
      const dyInfo = inputs['dy'] as tf.TensorInfo;
      const info = tf.backend_util.computePool2DInfo(shape4(input.shape), filterSize, strides, 1, pad, dimRoundingMode);
      const out = zeros(backend, input.shape.slice(), 'float32');
      const x = backend.typedArrayFromHeap(input);
      const dy = backend.typedArrayFromHeap(dyInfo);
      const dx = backend.typedArrayFromHeap(out);
      const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth } = info;
      const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
      const { top, left } = info.padInfo;
      for (let b = 0; b < batchSize; b++) {
        const xBase = b * inHeight * inWidth * ch;
        for (let p = 0; p < outHeight; p++) {
          const r0 = p * sh - top;
          const rLo = Math.max(0, r0);
          const rHi = Math.min(inHeight, r0 + fh);
          for (let q = 0; q < outWidth; q++) {
            const c0 = q * sw - left;
            const cLo = Math.max(0, c0);
            const cHi = Math.min(inWidth, c0 + fw);
            const dyBase = ((b * outHeight + p) * outWidth + q) * ch;
            for (let c = 0; c < ch; c++) {
              let best = -Infinity;
              let where = -1;
              for (let r = rLo; r < rHi; r++) {
                for (let s = cLo; s < cHi; s++) {
                  const k = xBase + (r * inWidth + s) * ch + c;
                  const v = x[k] as number;
                  if (v > best) {
                    best = v;
                    where = k;
                  }
                }
              }
              if (where >= 0) dx[where] = (dx[where] as number) + (dy[dyBase + c] as number);
            }
          }
        }
      }
      return out;
    },
  };
}

/** Geometry shared by both depthwise gradients. */
function depthwiseInfo(
  inputShape: number[],
  filterShape: number[],
  attrs: { strides: [number, number] | number; dilations: [number, number] | number; pad: tf.MaxPoolGradAttrs['pad']; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    shape4(inputShape),
    shape4(filterShape),
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
}

/**
 * Calls `visit(xIndex, dyIndex, wIndex)` for every (input, output, filter) triple of a depthwise
 * convolution, one channel-run at a time: y[n,p,q,c·m+k] += x[n, p·s_h + i·d_h − pad_t, q·s_w + j·d_w − pad_l, c] · W[i,j,c,k].
 */
function forEachDepthwiseTap(
  info: tf.backend_util.Conv2DInfo,
  visit: (xAt: number, dyAt: number, wAt: number, channels: number, multiplier: number) => void,
): void {
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth, outChannels } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const mult = outChannels / ch;
  for (let n = 0; n < batchSize; n++) {
    for (let p = 0; p < outHeight; p++) {
      for (let q = 0; q < outWidth; q++) {
        const dyAt = ((n * outHeight + p) * outWidth + q) * outChannels;
        for (let i = 0; i < fh; i++) {
          const r = p * sh + i * dh - top;
          if (r < 0 || r >= inHeight) continue;
          for (let j = 0; j < fw; j++) {
            const s = q * sw + j * dw - left;
            if (s < 0 || s >= inWidth) continue;
            visit(((n * inHeight + r) * inWidth + s) * ch, dyAt, (i * fw + j) * ch * mult, ch, mult);
          }
        }
      }
    }
  }
}

/** `DepthwiseConv2dNativeBackpropFilter`: dW[i,j,c,k] = Σ_{n,p,q} x[n, r(p,i), s(q,j), c] · dy[n,p,q,c·m+k]. */
export function depthwiseBackpropFilterFix(): tf.KernelConfig {
  return {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, attrs } = args as KernelArgs;
      const backend = args.backend as WasmBackendLike;
      const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
      const xInfo = inputs['x'] as tf.TensorInfo;
      const dyInfo = inputs['dy'] as tf.TensorInfo;
      const info = depthwiseInfo(xInfo.shape, a.filterShape, a);
      const out = zeros(backend, a.filterShape.slice(), 'float32');
      const x = backend.typedArrayFromHeap(xInfo);
      const dy = backend.typedArrayFromHeap(dyInfo);
      const dW = backend.typedArrayFromHeap(out);
      forEachDepthwiseTap(info, (xAt, dyAt, wAt, ch, mult) => {
        for (let c = 0; c < ch; c++) {
          const xv = x[xAt + c] as number;
          for (let k = 0; k < mult; k++) {
            const o = c * mult + k;
            dW[wAt + o] = (dW[wAt + o] as number) + xv * (dy[dyAt + o] as number);
          }
        }
      });
      return out;
    },
  };
}

/** `DepthwiseConv2dNativeBackpropInput`: dx[n,r,s,c] = Σ over taps reaching (r,s) of dy[n,p,q,c·m+k] · W[i,j,c,k]. */
export function depthwiseBackpropInputFix(): tf.KernelConfig {
  return {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, attrs } = args as KernelArgs;
      const backend = args.backend as WasmBackendLike;
      const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
      const dyInfo = inputs['dy'] as tf.TensorInfo;
      const wInfo = inputs['filter'] as tf.TensorInfo;
      const info = depthwiseInfo(a.inputShape, wInfo.shape, a);
      const out = zeros(backend, a.inputShape.slice(), 'float32');
      const dy = backend.typedArrayFromHeap(dyInfo);
      const w = backend.typedArrayFromHeap(wInfo);
      const dx = backend.typedArrayFromHeap(out);
      forEachDepthwiseTap(info, (xAt, dyAt, wAt, ch, mult) => {
        for (let c = 0; c < ch; c++) {
          let acc = 0;
          for (let k = 0; k < mult; k++) {
            const o = c * mult + k;
            acc += (dy[dyAt + o] as number) * (w[wAt + o] as number);
          }
          dx[xAt + c] = (dx[xAt + c] as number) + acc;
        }
      });
      return out;
    },
  };
}

/**
 * `UnsortedSegmentSum`: out[id, …] = Σ_{i : segmentIds[i] = id} x[i, …], where i runs over the leading
 * `segmentIds.rank` axes of x. Ids outside [0, numSegments) are dropped, as in TensorFlow.
 */
export function unsortedSegmentSumFix(): tf.KernelConfig {
  return {
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, attrs } = args as KernelArgs;
      const backend = args.backend as WasmBackendLike;
      const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
      const xInfo = inputs['x'] as tf.TensorInfo;
      const idsInfo = inputs['segmentIds'] as tf.TensorInfo;
      const inner = xInfo.shape.slice(idsInfo.shape.length);
      const width = sizeOf(inner);
      const out = zeros(backend, [numSegments, ...inner], xInfo.dtype);
      const x = backend.typedArrayFromHeap(xInfo);
      const ids = backend.typedArrayFromHeap(idsInfo);
      const y = backend.typedArrayFromHeap(out);
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i] as number;
        if (id < 0 || id >= numSegments) continue;
        const from = i * width;
        const to = id * width;
        for (let k = 0; k < width; k++) y[to + k] = (y[to + k] as number) + (x[from + k] as number);
      }
      return out;
    },
  };
}
