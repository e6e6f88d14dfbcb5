import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Celeriac } from '../app/celeriac.ts';
import { CliError, UsageError } from './errors.ts';

/**
 * Loads the app a module exports (`-A tasks.ts`, `-A dist/tasks.js`, `-A tasks.ts:myApp`), relative
 * to the working directory. It takes the export named after the colon, else `app`, else the default
 * export, else the first export that is a Celeriac app.
 */
export async function loadApp(spec: string, cwd = process.cwd()): Promise<Celeriac> {
  const { path, exportName } = splitSpec(spec);
  const file = resolve(cwd, path);
  if (!existsSync(file)) {
    throw new UsageError(`-A ${spec}: no such file ${file} (give a .ts or .js module that exports the app)`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(`-A ${spec}: the module failed to load: ${(error as Error).message}`, {
      code: 'APP_LOAD',
      cause: error,
    });
  }
  if (exportName !== undefined) {
    const named = mod[exportName];
    if (!isCeleriacApp(named))
      throw new UsageError(`-A ${spec}: export ${JSON.stringify(exportName)} is not a Celeriac app`);
    return named;
  }
  // A CommonJS module (a .ts file outside a `"type": "module"` package) arrives as `default`.
  const cjs =
    typeof mod.default === 'object' && mod.default !== null ? (mod.default as Record<string, unknown>) : {};
  for (const candidate of [mod.app, mod.default, cjs.app]) if (isCeleriacApp(candidate)) return candidate;
  const first = [...Object.values(mod), ...Object.values(cjs)].find(isCeleriacApp);
  if (first) return first;
  throw new UsageError(
    `-A ${spec}: the module exports no Celeriac app (export it as \`export const app = new Celeriac(...)\` or as the default export)`,
  );
}

function splitSpec(spec: string): { path: string; exportName: string | undefined } {
  // `tasks.ts:app`, but not a Windows drive letter (`C:\...`).
  const colon = spec.lastIndexOf(':');
  if (colon > 1 && /^[A-Za-z_$][\w$]*$/.test(spec.slice(colon + 1))) {
    return { path: spec.slice(0, colon), exportName: spec.slice(colon + 1) };
  }
  return { path: spec, exportName: undefined };
}

/**
 * A Celeriac app, also one from another copy of the package (a user's own node_modules), where
 * `instanceof` would say no.
 */
export function isCeleriacApp(value: unknown): value is Celeriac {
  if (value instanceof Celeriac) return true;
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.tasks instanceof Map &&
    typeof v.sendTask === 'function' &&
    typeof v.connection === 'function' &&
    'conf' in v
  );
}
