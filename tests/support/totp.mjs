// TOTP (RFC 6238) with node:crypto: what an authenticator app computes,
// independently of the engine, for the Node tests (browser and README).
import { createHmac } from 'node:crypto';

/** Decode base32 (RFC 4648; spaces, dashes and padding ignored). */
export function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/[\s=-]+/g, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The TOTP code of `secret` (base32) at `unixSeconds`. */
export function totp(secret, unixSeconds = Date.now() / 1000, digits = 6, period = 30, algorithm = 'sha1') {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / period)));
  const mac = createHmac(algorithm, base32(secret)).update(counter).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const bin = (mac.readUInt32BE(off) & 0x7fffffff) % 10 ** digits;
  return String(bin).padStart(digits, '0');
}

/** The code an authenticator app shows for an `otpauth://totp/…` URI at `nowMs`. */
export function totpFromUri(uri, nowMs = Date.now()) {
  const url = new URL(uri);
  const secret = url.searchParams.get('secret');
  if (!secret) throw new Error('the otpauth URI has no secret');
  const algorithm = (url.searchParams.get('algorithm') || 'SHA1').toLowerCase();
  const digits = Number(url.searchParams.get('digits') || 6);
  const period = Number(url.searchParams.get('period') || 30);
  return totp(secret, nowMs / 1000, digits, period, algorithm);
}
