/**
 * Keeps the Emscripten runtime of tfjs-backend-wasm from taking over Node's error reporting.
 *
 * When its module starts under Node, Emscripten adds `process.on('uncaughtException', e => { throw e })`
 * and `process.on('unhandledRejection', r => { throw r })`. A throw inside such a handler makes Node print
 * the handler's source line (about 39 KB of minified Emscripten code) instead of the user's stack, and
 * exit with code 7 instead of 1. tfjs-backend-wasm 4.22 means to remove them (post.js) but its filter
 * (`!before.indexOf(l) > -1`) never selects, and it only runs on dispose.
 */
import { isNode } from '../core/node.js';

/** The process events Emscripten's Node runtime handles. */
export const EMSCRIPTEN_PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

type ProcessEvent = (typeof EMSCRIPTEN_PROCESS_EVENTS)[number];
type Listener = (...args: unknown[]) => void;
/** `process` as an untyped event emitter: Node's typings overload each event name separately. */
type Emitter = { listeners(event: string): Listener[]; removeListener(event: string, listener: Listener): unknown };

/**
 * Runs `start` (which may instantiate an Emscripten module) and then removes exactly the
 * `uncaughtException` / `unhandledRejection` listeners that appeared while it ran, whether it succeeded
 * or threw. Listeners present before (the user's, a test runner's) are left alone. No-op outside Node.
 */
export async function withoutAddedProcessHandlers<T>(start: () => Promise<T>): Promise<T> {
  if (!isNode() || typeof process.listeners !== 'function') return start();
  const emitter = process as unknown as Emitter;
  const before = new Map<ProcessEvent, readonly Listener[]>(EMSCRIPTEN_PROCESS_EVENTS.map((e) => [e, emitter.listeners(e)]));
  try {
    return await start();
  } finally {
    for (const event of EMSCRIPTEN_PROCESS_EVENTS) {
      const kept = before.get(event) ?? [];
      for (const listener of emitter.listeners(event)) {
        if (!kept.includes(listener)) emitter.removeListener(event, listener);
      }
    }
  }
}
