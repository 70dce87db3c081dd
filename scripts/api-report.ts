/**
 * `npm run api:report`: writes api-report.json, the public surface of `longtail`, `longtail/advanced` and
 * `longtail/testing`: every runtime export with its kind, and every exported type name with its kind
 * (interface, type alias, enum; read with the TypeScript compiler API, as api-extractor does).
 * test/api/report.test.ts fails when the surface differs from it, so adding, removing or renaming an
 * export is a deliberate change to this file.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The entry points and their source files. */
export const ENTRY_POINTS = {
  longtail: 'src/index.ts',
  'longtail/advanced': 'src/advanced.ts',
  'longtail/testing': 'src/testing/index.ts',
} as const;

/** One entry point's surface: runtime exports `{ name: kind }` and type exports `{ name: kind }`, sorted. */
export interface EntrySurface {
  readonly values: Record<string, string>;
  readonly types: Record<string, string>;
}

/** `{ name: kind }` for every runtime export of a module, sorted by name. */
export function surface(mod: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(mod).sort()) {
    const v = mod[name];
    out[name] = typeof v === 'function' ? (/^class\s/.test(Function.prototype.toString.call(v)) ? 'class' : 'function') : Array.isArray(v) ? 'array' : typeof v;
  }
  return out;
}

/** `{ name: 'interface' | 'type' | 'enum' }` for every type-only export of each entry file (TypeScript compiler API). */
export function typeSurfaces(files: readonly string[]): Record<string, string>[] {
  const program = ts.createProgram(files.map((f) => join(ROOT, f)), {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  return files.map((f) => {
    const source = program.getSourceFile(join(ROOT, f));
    const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    if (module === undefined) throw new Error(`expected ${f} to be a module. Received: no module symbol`);
    const out: Record<string, string> = {};
    for (const exported of checker.getExportsOfModule(module)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const f2 = target.flags;
      const kind = f2 & ts.SymbolFlags.Enum ? 'enum' : f2 & ts.SymbolFlags.Interface ? 'interface' : f2 & ts.SymbolFlags.TypeAlias ? 'type' : f2 & ts.SymbolFlags.Class ? 'class' : null;
      // Classes are runtime exports (listed in values) unless exported with `export type`.
      if (kind === 'class' && !exported.declarations?.some((d) => ts.isTypeOnlyImportOrExportDeclaration(d))) continue;
      if (kind !== null) out[exported.name] = kind;
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/** The report of every entry point. */
export async function apiReport(): Promise<Record<keyof typeof ENTRY_POINTS, EntrySurface>> {
  const names = Object.keys(ENTRY_POINTS) as (keyof typeof ENTRY_POINTS)[];
  const types = typeSurfaces(names.map((n) => ENTRY_POINTS[n]));
  const out = {} as Record<keyof typeof ENTRY_POINTS, EntrySurface>;
  for (const [i, name] of names.entries()) {
    const mod = (await import(join(ROOT, ENTRY_POINTS[name]))) as Record<string, unknown>;
    out[name] = { values: surface(mod), types: types[i] as Record<string, string> };
  }
  return out;
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  void apiReport().then((report) => {
    writeFileSync(join(ROOT, 'api-report.json'), `${JSON.stringify(report, null, 2)}\n`);
    for (const [name, s] of Object.entries(report)) console.log(`${name}: ${Object.keys(s.values).length} runtime exports, ${Object.keys(s.types).length} types`);
  });
}
