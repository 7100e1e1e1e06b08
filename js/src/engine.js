// The engine (mfa-web, wasm-bindgen `--target web` output in ../pkg), loaded
// once per page and only when first needed, so the elements render first.
import init, * as wasm from '../pkg/mfa_web.js';
import { MfaError } from './api.js';
import { driftOf } from './drift.js';

let loading = null;

/**
 * Estimate the phone's clock drift from a code typed during enrolment (see
 * drift.js). Resolves to `{offsetSteps, offsetSeconds, noticeable}` or `null`.
 */
async function estimateDrift(uri, code, nowMs, maxSteps) {
  return driftOf(wasm.otpauthSecret(uri), wasm.parseOtpauth(uri), code, nowMs, maxSteps);
}

/** The engine's functions, once its wasm module is instantiated. */
export function engine() {
  if (!loading) {
    loading = init().then(
      () => ({ ...wasm, estimateDrift }),
      (e) => {
        loading = null; // a later call tries again (e.g. after a network blip)
        throw new MfaError('engine', String((e && e.message) || e));
      },
    );
  }
  return loading;
}
