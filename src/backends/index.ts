/**
 * Backend selection. Minimal first version: 'cpu' and 'wasm' (stock). The training-kernel fixes,
 * threads, optional native peers and capabilities() land in the backends module proper.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError } from '../core/errors.js';

/** Backend names the library knows. */
export type BackendName = 'cpu' | 'wasm' | 'tensorflow' | 'tensorflow-gpu' | 'webgl';

/** A backend name or an options object tagged by name. */
export type BackendSpec = BackendName | { readonly name: BackendName };

/** Activates a backend and waits until it is ready. */
export async function useBackend(spec: BackendSpec): Promise<string> {
  const name = typeof spec === 'string' ? spec : spec.name;
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (name !== 'cpu' && name !== 'wasm') {
    throw new LongTailError('BACKEND_UNAVAILABLE', `expected backend 'cpu' or 'wasm'. Received: name=${name}`);
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new LongTailError('BACKEND_UNAVAILABLE', `expected backend ${name} to initialise. Received: name=${name}`);
  await tf.ready();
  return tf.getBackend();
}
