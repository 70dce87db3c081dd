/**
 * The recipe rows of the demo (ltls, sau, synLT, decoupled, ...). Kept apart from demo.ts so each recipe
 * adds its row here without touching the trainer-level methods.
 */
import type { DemoContext, DemoRow } from './demo.js';

/** Runs every recipe row on the demo data. */
export async function demoRecipeRows(_ctx: DemoContext): Promise<DemoRow[]> {
  return [];
}
