// Clock drift during enrolment: which time step near the page's clock the code
// typed from the authenticator app belongs to (RFC 6238), so the widget can say
// "your phone's clock seems 2 minutes behind" when the server refuses the code.
// The codes are computed with the browser's WebCrypto HMAC (SHA-1, SHA-256 and
// SHA-512 alike) rather than in the engine, which keeps the hash functions out
// of the wasm download. Advisory only: the server decides whether a code is right.

const HASHES = { SHA1: 'SHA-1', SHA256: 'SHA-256', SHA512: 'SHA-512' };

/** The RFC 4226 code of `key` (an HMAC CryptoKey) at `counter`, `digits` long. */
async function hotp(key, counter, digits) {
  const msg = new DataView(new ArrayBuffer(8));
  msg.setUint32(0, Math.floor(counter / 2 ** 32));
  msg.setUint32(4, counter >>> 0);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, msg.buffer));
  const o = mac[mac.length - 1] & 0x0f;
  const bin = (((mac[o] & 0x7f) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3]) >>> 0;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/**
 * The step offset within `±maxSteps` of `nowMs` whose code equals `code`
 * (the nearest one first), as `{offsetSteps, offsetSeconds, noticeable}`, or
 * `null` when none matches, the key is not time-based, or the page has no
 * WebCrypto (pages not served over https).
 * @param {Uint8Array} secret the otpauth secret
 * @param {{kind: string, algorithm: string, digits: number, period: number|null}} params from `parseOtpauth`
 */
export async function driftOf(secret, params, code, nowMs, maxSteps) {
  const hash = HASHES[params.algorithm];
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (params.kind !== 'totp' || !hash || !subtle || !Number.isFinite(nowMs) || nowMs < 0) return null;
  const key = await subtle.importKey('raw', secret, { name: 'HMAC', hash }, false, ['sign']);
  const period = params.period || 30;
  const step = Math.floor(nowMs / 1000 / period);
  for (let i = 0; i <= Math.min(maxSteps, 20); i++) {
    for (const offset of i ? [-i, i] : [0]) {
      if (step + offset < 0 || (await hotp(key, step + offset, params.digits)) !== code) continue;
      return { offsetSteps: offset, offsetSeconds: offset * period, noticeable: Math.abs(offset) >= 2 };
    }
  }
  return null;
}
