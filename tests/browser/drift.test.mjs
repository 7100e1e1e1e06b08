// The widget's clock-drift estimate (js/src/drift.js) against RFC 6238
// Appendix B, in Node's WebCrypto (the same API the browser gives the widget).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { driftOf } from '../../js/src/drift.js';

const enc = (s) => new TextEncoder().encode(s);
// RFC 6238 keys: 20, 32 and 64 bytes of the ASCII digits for SHA1, SHA256 and SHA512.
const KEYS = {
  SHA1: enc('12345678901234567890'),
  SHA256: enc('12345678901234567890123456789012'),
  SHA512: enc('1234567890123456789012345678901234567890123456789012345678901234'),
};
// Codes at T = 59 s and T = 1111111109 s, 8 digits, 30 s steps.
const VECTORS = [
  [59, { SHA1: '94287082', SHA256: '46119246', SHA512: '90693936' }],
  [1111111109, { SHA1: '07081804', SHA256: '68084774', SHA512: '25091201' }],
];

test('codes of every algorithm are found at the offset of the phone clock', async () => {
  for (const [t, codes] of VECTORS) {
    for (const [algorithm, code] of Object.entries(codes)) {
      const params = { kind: 'totp', algorithm, digits: 8, period: 30 };
      // The page's clock two steps ahead of the phone that made the code.
      const ahead = await driftOf(KEYS[algorithm], params, code, (t + 60) * 1000, 10);
      assert.deepEqual(ahead, { offsetSteps: -2, offsetSeconds: -60, noticeable: true }, `${algorithm} at ${t}`);
      const same = await driftOf(KEYS[algorithm], params, code, t * 1000, 10);
      assert.deepEqual(same, { offsetSteps: 0, offsetSeconds: 0, noticeable: false }, `${algorithm} at ${t}`);
      if (t > 90) {
        // The page's clock behind the phone.
        const behind = await driftOf(KEYS[algorithm], params, code, (t - 90) * 1000, 10);
        assert.equal(behind.offsetSteps, 3, `${algorithm} at ${t}`);
      }
    }
  }
});

test('six-digit codes are the last six digits', async () => {
  const params = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 };
  const drift = await driftOf(KEYS.SHA1, params, '287082', 59_000, 1);
  assert.equal(drift.offsetSteps, 0);
});

test('no match, too far, HOTP keys and bad times give null', async () => {
  const params = { kind: 'totp', algorithm: 'SHA1', digits: 8, period: 30 };
  assert.equal(await driftOf(KEYS.SHA1, params, '00000000', 59_000, 10), null);
  assert.equal(await driftOf(KEYS.SHA1, params, '94287082', (59 + 300) * 1000, 3), null, 'beyond maxSteps');
  assert.equal(await driftOf(KEYS.SHA1, { ...params, kind: 'hotp', period: null }, '94287082', 59_000, 10), null);
  assert.equal(await driftOf(KEYS.SHA1, params, '94287082', Number.NaN, 10), null);
  assert.equal(await driftOf(KEYS.SHA1, { ...params, algorithm: 'MD5' }, '94287082', 59_000, 10), null);
});
