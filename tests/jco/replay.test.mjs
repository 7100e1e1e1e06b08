// Replays tests/vectors/engine.json through the engine component under jco,
// a host independent of wasmtime: the component is transpiled to JavaScript
// and called from Node. Every case must give the recorded result, as it does
// through mfa-host (crates/mfa-host/tests/vectors.rs), whose inputs and
// comparison this file follows section by section.
//
//   MFA_COMPONENT_WASM=target/wasm32-wasip2/release/mfa_component.wasm node --test tests/jco/
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { componentPath, loadComponent, root } from './component.mjs';
import {
  algorithm, algorithmName, field, hex, hexBytes, int, num, outcome, project, str, u64,
} from './results.mjs';

const doc = JSON.parse(readFileSync(join(root, 'tests', 'vectors', 'engine.json'), 'utf8'));

const started = performance.now();
const component = await loadComponent(componentPath());
const transpileMs = performance.now() - started;
after(() => component.dispose());
const { otp, appPasswords, tokens, contacts } = component.exports;

const hotpParams = (c) => ({ algorithm: algorithm(str(c, 'algorithm')), digits: int(c, 'digits') });
const totpParams = (c) => ({ ...hotpParams(c), period: int(c, 'period') });
const secret = (c) => hexBytes(str(c, 'secret_hex'));
const otpMatch = (m) => ({ counter: num(m.counter), offset: num(m.offset) });

/** A WIT `uri-warning` as the file writes it (mfa-core's serde form). */
function warning(w) {
  switch (w.tag) {
    case 'short-secret':
      return { warning: 'short_secret', bits: w.val };
    case 'often-ignored':
    case 'unknown-parameter':
      return { warning: w.tag.replaceAll('-', '_'), parameter: w.val };
    case 'other':
      return { warning: w.val };
    default:
      return { warning: w.tag.replaceAll('-', '_') };
  }
}

/** Each section: a case to `[expected, actual]`, both as the file writes results. */
const sections = {
  totp: (c) => [
    { ok: field(c, 'code') },
    outcome(() => otp.totpCode(secret(c), totpParams(c), u64(c, 'time')), (code) => code),
  ],

  hotp: (c) => [
    { ok: field(c, 'code') },
    outcome(() => otp.hotpCode(secret(c), hotpParams(c), u64(c, 'counter')), (code) => code),
  ],

  totp_checks: (c) => [
    field(c, 'result'),
    outcome(
      () => otp.checkTotp(secret(c), totpParams(c), str(c, 'code'), u64(c, 'time'), int(c, 'window')),
      otpMatch,
    ),
  ],

  // mfa-host leaves the warnings to mfa-core's own replay; the component
  // returns them too, so here they are compared with the rest.
  otpauth: (c) => [
    field(c, 'result'),
    outcome(
      () => otp.parseOtpauth(str(c, 'uri')),
      (p) => ({
        kind: p.kind.tag,
        issuer: p.issuer ?? null,
        account: p.account,
        algorithm: algorithmName(p.algorithm),
        digits: p.digits,
        secret_hex: hex(p.secret),
        period: p.kind.tag === 'totp' ? p.kind.val : null,
        counter: p.kind.tag === 'hotp' ? num(p.kind.val) : null,
        warnings: p.warnings.map(warning),
      }),
    ),
  ],

  app_password_parse: (c) => [
    field(c, 'result'),
    outcome(() => appPasswords.parse(str(c, 'input')), (id) => ({ id })),
  ],

  // The policy's argon2 parameters come from the case, as mfa-core's replay
  // passes them (mfa-host passes the defaults); they only decide
  // `needs_rehash`, which the file does not record.
  app_password_verify: (c) => {
    const cred = field(c, 'credential');
    const argon2 = field(c, 'argon2');
    const credential = {
      user: str(cred, 'user'),
      id: str(cred, 'id'),
      hash: str(cred, 'hash'),
      scopes: field(cred, 'scopes'),
      expiresAt: cred.expires_at === null ? undefined : u64(cred, 'expires_at'),
    };
    const scope = field(c, 'scope') ?? undefined;
    const params = { mKib: int(argon2, 'm_kib'), t: int(argon2, 't'), p: int(argon2, 'p') };
    return [
      field(c, 'result'),
      outcome(
        () => appPasswords.verifyCredential(credential, str(c, 'password'), scope, u64(c, 'now'), params),
        (m) => ({ id: m.id, needs_rehash: m.needsRehash }),
      ),
    ];
  },

  tokens: (c) => {
    const jwks = typeof c.jwks === 'string' ? c.jwks : JSON.stringify(field(c, 'jwks'));
    const kind = str(c, 'kind');
    assert.ok(kind === 'session' || kind === 'device', `tokens: ${c.name}: unknown token kind ${kind}`);
    return [
      field(c, 'result'),
      outcome(
        () => tokens.verifyWithJwks(jwks, str(c, 'issuer'), str(c, 'audience'), kind, str(c, 'token'), u64(c, 'now')),
        (cl) => ({ sub: cl.sub, amr: cl.amr, jti: cl.jti }),
      ),
    ];
  },

  phone: (c) => {
    const phone = (p) => ({ e164: p.e164, masked: p.masked });
    const actual = typeof c.input === 'string'
      ? outcome(() => contacts.parseE164(c.input), phone)
      : outcome(() => contacts.parsePhone(str(c, 'country_code'), str(c, 'national')), phone);
    return [field(c, 'result'), actual];
  },

  email: (c) => {
    const address = c.address ?? c.input;
    assert.equal(typeof address, 'string', `email: ${c.name}: needs address or input`);
    const domains = (c.organisation_domains ?? []).filter((d) => typeof d === 'string');
    return [
      field(c, 'result'),
      outcome(() => contacts.parseEmail(address, domains), (a) => ({ address: a.address, masked: a.masked })),
    ];
  },
};

const names = Object.keys(doc).filter((k) => k !== 'version');
const total = names.reduce((n, name) => n + (Array.isArray(doc[name]) ? doc[name].length : 0), 0);
let replayed = 0;
let replayMs = 0;

test('vector file version', () => {
  assert.equal(doc.version, 1, 'unknown vector file version');
});

for (const name of names) {
  test(name, () => {
    const replay = sections[name];
    assert.ok(replay, `section ${name} of the vector file has no replay here`);
    assert.ok(Array.isArray(doc[name]) && doc[name].length > 0, `section ${name} holds no cases`);
    const t0 = performance.now();
    for (const c of doc[name]) {
      const [expected, actual] = replay(c);
      assert.deepEqual(project(actual, expected), expected, `${name}: ${c.name}: result differs from the vector file`);
      replayed += 1;
    }
    replayMs += performance.now() - t0;
  });
}

test('every case of the file was replayed', (t) => {
  assert.equal(replayed, total, `replayed ${replayed} of the ${total} cases in the vector file`);
  t.diagnostic(
    `jco transpile and import ${transpileMs.toFixed(0)} ms; ${replayed} cases replayed in ${replayMs.toFixed(0)} ms`,
  );
});
