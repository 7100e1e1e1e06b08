// The engine component under jco: find the .wasm, transpile it to JavaScript
// in a fresh temporary directory with jco's transpiler installed in
// js/node_modules (`npm ci --prefix js`; `@bytecodealliance/jco-transpile`
// is the part of jco that `jco transpile` runs), and import the generated module.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const jsModules = join(root, 'js', 'node_modules');
const require = createRequire(join(root, 'js', 'package.json'));
const NAME = 'mfa_component';

/** `MFA_COMPONENT_WASM`, or the release build in the workspace's target directory. */
export function componentPath() {
  const path = process.env.MFA_COMPONENT_WASM
    ? resolve(process.env.MFA_COMPONENT_WASM)
    : join(root, 'target', 'wasm32-wasip2', 'release', 'mfa_component.wasm');
  if (!existsSync(path)) {
    throw new Error(
      `the engine component ${path} is missing: build it with ` +
        '`cargo build -p mfa-component --release --target wasm32-wasip2` (or set MFA_COMPONENT_WASM)',
    );
  }
  return path;
}

/** jco's transpiler, from js/node_modules (never a global install). */
async function jco() {
  let entry;
  try {
    entry = require.resolve('@bytecodealliance/jco-transpile');
  } catch {
    throw new Error('@bytecodealliance/jco-transpile is not in js/node_modules: run `npm ci --prefix js`');
  }
  return import(pathToFileURL(entry).href);
}

/**
 * Transpile the component at `wasmPath` and import it. Returns the module's
 * exports (one camel-cased object per exported interface), the directory the
 * JavaScript was written to, and `dispose()` to remove it.
 */
export async function loadComponent(wasmPath) {
  const { transpileBytes } = await jco();
  const dir = await mkdtemp(join(tmpdir(), 'mfa-jco-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const { files } = await transpileBytes(await readFile(wasmPath), {
      name: NAME,
      emitTypescriptDeclarations: false,
      // WIT errors arrive as thrown `ComponentError`s carrying the variant in `payload`.
      noComponentErrorWrapping: false,
    });
    for (const [name, bytes] of Object.entries(files)) {
      const path = join(dir, name);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
    }
    // The generated module imports the WASI shims by package name
    // (`@bytecodealliance/preview2-shim/...`): resolve them from js/node_modules.
    await symlink(jsModules, join(dir, 'node_modules'), 'dir');
    const exports = await import(pathToFileURL(join(dir, `${NAME}.js`)).href);
    return { exports, dir, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}
