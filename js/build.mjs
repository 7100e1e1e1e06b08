#!/usr/bin/env node
// Build the widget: mfa-web for wasm32-unknown-unknown (release, optimised
// for size), wasm-bindgen --target web into js/pkg, wasm-opt -Oz --converge from the npm
// `binaryen` package, then one minified ES module in js/dist (esbuild) beside
// a copy of the wasm, for pages without a bundler. The last two steps need
// `npm ci` in js/ and are skipped (with a note) without it.
// Usage: node js/build.mjs [--no-opt]     (from anywhere; needs cargo and wasm-bindgen-cli)
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const js = dirname(fileURLToPath(import.meta.url));
const root = dirname(js);
const pkg = join(js, 'pkg');
const noOpt = process.argv.includes('--no-opt') || process.env.MFA_WASM_OPT === '0';

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

function run(cmd, args, env = {}) {
  try {
    return execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } }).toString();
  } catch (e) {
    if (e.code === 'ENOENT') fail(`${cmd} was not found`);
    fail(`${cmd} ${args.join(' ')} failed (exit ${e.status})`);
  }
}

// wasm-bindgen-cli must be exactly the version the crate links.
const lock = readFileSync(join(root, 'Cargo.lock'), 'utf8');
const want = (/name = "wasm-bindgen"\nversion = "([^"]+)"/.exec(lock) || [])[1];
if (!want) fail('wasm-bindgen is not in Cargo.lock');
const candidates = [process.env.WASM_BINDGEN, join(homedir(), '.cargo', 'bin', 'wasm-bindgen'), 'wasm-bindgen'].filter(Boolean);
const bindgen = candidates.find((c) => !c.includes('/') || existsSync(c));
let have = '';
try {
  have = execFileSync(bindgen, ['--version']).toString().trim();
} catch {
  fail(`wasm-bindgen ${want} is needed: cargo install wasm-bindgen-cli --version ${want}`);
}
if (!have.endsWith(` ${want}`)) {
  fail(`${bindgen} is "${have}" but the crate uses wasm-bindgen ${want}: cargo install wasm-bindgen-cli --version ${want} --force`);
}

console.log('build: cargo build -p mfa-web --release --target wasm32-unknown-unknown (opt-level z)');
// Not stripped: wasm-bindgen reads the `target_features` section to use
// reference types (a smaller glue); it drops the names itself and wasm-opt
// shrinks the rest.
run('cargo', ['build', '--quiet', '-p', 'mfa-web', '--release', '--target', 'wasm32-unknown-unknown'], {
  CARGO_PROFILE_RELEASE_OPT_LEVEL: 'z',
  CARGO_PROFILE_RELEASE_PANIC: 'abort',
  CARGO_PROFILE_RELEASE_STRIP: 'false',
});
const targetDir = process.env.CARGO_TARGET_DIR || join(root, 'target');
const wasmIn = join(targetDir, 'wasm32-unknown-unknown', 'release', 'mfa_web.wasm');
if (!existsSync(wasmIn)) fail(`${wasmIn} was not produced`);

console.log(`build: ${have} --target web --out-dir js/pkg`);
mkdirSync(pkg, { recursive: true });
run(bindgen, ['--target', 'web', '--out-dir', pkg, '--out-name', 'mfa_web', wasmIn]);

const wasm = join(pkg, 'mfa_web_bg.wasm');
// Only binaryen from npm: Debian's wasm-opt 108 breaks wasm-bindgen's externref table.
const opt = process.env.WASM_OPT || join(js, 'node_modules', '.bin', 'wasm-opt');
if (noOpt) console.log('build: wasm-opt skipped (--no-opt)');
else if (!existsSync(opt)) console.log('build: wasm-opt skipped (run `npm ci` in js/ to get binaryen)');
else {
  const features = ['bulk-memory', 'nontrapping-float-to-int', 'sign-ext', 'mutable-globals', 'reference-types', 'multivalue'];
  run(opt, ['-Oz', '--converge', ...features.map((f) => `--enable-${f}`), wasm, '-o', `${wasm}.opt`]);
  renameSync(`${wasm}.opt`, wasm);
  console.log(`build: ${execFileSync(opt, ['--version']).toString().trim()} -Oz`);
}

// One file for pages without a bundler: the elements and the glue, minified.
const dist = join(js, 'dist');
const esbuild = join(js, 'node_modules', '.bin', 'esbuild');
if (!existsSync(esbuild)) console.log('build: dist/ skipped (run `npm ci` in js/ to get esbuild)');
else {
  mkdirSync(dist, { recursive: true });
  run(esbuild, [join(js, 'src', 'index.js'), '--bundle', '--format=esm', '--minify', '--target=es2022', `--outfile=${join(dist, 'mfa-widget.min.js')}`]);
  run(esbuild, [join(js, 'theme.css'), '--minify', `--outfile=${join(dist, 'theme.min.css')}`]);
  copyFileSync(wasm, join(dist, 'mfa_web_bg.wasm'));
  // The admin elements: their own bundle, without the engine.
  run(esbuild, [join(js, 'src', 'admin', 'index.js'), '--bundle', '--format=esm', '--minify', '--target=es2022', `--outfile=${join(dist, 'mfa-admin.min.js')}`]);
  run(esbuild, [join(js, 'admin-theme.css'), '--minify', `--outfile=${join(dist, 'mfa-admin.min.css')}`]);
  console.log('build: esbuild --bundle --minify into js/dist');
}

// Sizes of what a browser downloads (the .d.ts files are not).
function measure(files) {
  const sizes = files.filter(existsSync).map((f) => {
    const data = readFileSync(f);
    return { file: f.slice(js.length + 1), bytes: statSync(f).size, gzip: gzipSync(data, { level: 9 }).length };
  });
  const total = sizes.reduce((a, x) => ({ bytes: a.bytes + x.bytes, gzip: a.gzip + x.gzip }), { bytes: 0, gzip: 0 });
  return { files: sizes, total };
}
const modules = measure([
  wasm,
  join(pkg, 'mfa_web.js'),
  ...readdirSync(join(js, 'src')).filter((f) => f.endsWith('.js')).map((f) => join(js, 'src', f)),
  join(js, 'theme.css'),
]);
const bundle = existsSync(join(dist, 'mfa-widget.min.js'))
  ? measure([join(dist, 'mfa_web_bg.wasm'), join(dist, 'mfa-widget.min.js'), join(dist, 'theme.min.css')])
  : null;
const admin = existsSync(join(dist, 'mfa-admin.min.js'))
  ? measure([join(dist, 'mfa-admin.min.js'), join(dist, 'mfa-admin.min.css')])
  : null;
writeFileSync(join(pkg, 'sizes.json'), `${JSON.stringify({ modules, bundle, admin }, null, 2)}\n`);
for (const [name, m, budget] of [['ES modules (src/, pkg/)', modules, 61440], ['bundle (dist/)', bundle, 61440], ['admin bundle (dist/, loaded with the user bundle\'s theme.min.css)', admin, 0]]) {
  if (!m) continue;
  console.log(`build: ${name}`);
  for (const x of m.files) console.log(`build:   ${x.file.padEnd(26)} ${String(x.bytes).padStart(7)} B  ${String(x.gzip).padStart(6)} B gzip`);
  console.log(`build:   total ${m.total.bytes} B, ${m.total.gzip} B gzip${budget ? ` (budget ${budget} B gzip)` : ''}`);
}
