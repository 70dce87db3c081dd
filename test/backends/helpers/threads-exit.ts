/** Child process for the threads test: a script that uses 2 wasm threads must exit on its own when done. */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../../src/index.js';
async function main() {
  await useBackend({ name: 'wasm', threads: 2 });
  const a = tf.randomNormal([256, 256]);
  console.log('done', tf.matMul(a, a).dataSync()[0] !== undefined);
}
main();
