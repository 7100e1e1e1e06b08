// The engine (mfa-web, wasm-bindgen `--target web` output in ../pkg), loaded
// once per page and only when first needed, so the elements render first.
import init, * as wasm from '../pkg/mfa_web.js';
import { MfaError } from './api.js';

let loading = null;

/** The engine's functions, once its wasm module is instantiated. */
export function engine() {
  if (!loading) {
    loading = init().then(
      () => wasm,
      (e) => {
        loading = null; // a later call tries again (e.g. after a network blip)
        throw new MfaError('engine', String((e && e.message) || e));
      },
    );
  }
  return loading;
}
