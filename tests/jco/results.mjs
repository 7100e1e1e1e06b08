// Between the vector file and the component's JavaScript bindings: the file's
// inputs as WIT values (u64 as BigInt, bytes from hex), and the component's
// answers as the file's results, `{ok: …}` or `{error: "<code>"}`, compared
// the way crates/mfa-host/tests/vectors.rs compares them.

/** A field every case of the section has. */
export function field(c, key) {
  if (c[key] === undefined) throw new Error(`field ${key} missing in case ${JSON.stringify(c.name)}`);
  return c[key];
}

/** A non-negative integer field (the file keeps numbers at most 2^53 - 1). */
export function int(c, key) {
  const n = field(c, key);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`field ${key} of ${JSON.stringify(c.name)} is not a u64: ${n}`);
  }
  return n;
}

/** A u64 field as the BigInt the bindings take. */
export const u64 = (c, key) => BigInt(int(c, key));

/** A string field. */
export function str(c, key) {
  const s = field(c, key);
  if (typeof s !== 'string') throw new Error(`field ${key} of ${JSON.stringify(c.name)} is not a string`);
  return s;
}

/** Lowercase hex (`secret_hex`) to bytes; refuses what Buffer would silently truncate. */
export function hexBytes(hex) {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`not hex: ${hex.length} characters`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export const hex = (bytes) => Buffer.from(bytes).toString('hex');

/** A WIT u64 or s64 (BigInt) as a Number, when it fits exactly. */
export function num(big) {
  const n = Number(big);
  if (typeof big !== 'bigint' || !Number.isSafeInteger(n)) {
    throw new Error(`not a 64-bit integer within 2^53: ${big}`);
  }
  return n;
}

const ALGORITHMS = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

/** The file's `"SHA1"` as the WIT `algorithm` enum (`'sha1'`). */
export function algorithm(name) {
  const a = ALGORITHMS[name.toUpperCase()];
  if (!a) throw new Error(`unknown algorithm ${name} in vector file`);
  return a;
}

/** The WIT `algorithm` enum as the file writes it. */
export function algorithmName(a) {
  const name = Object.keys(ALGORITHMS).find((k) => ALGORITHMS[k] === a);
  if (!name) throw new Error(`unknown WIT algorithm ${a}`);
  return name;
}

/**
 * The engine's stable code (`Error::code()`) of a WIT `error` value: its
 * reason's case name in snake_case, or for `other` the code it carries (the
 * component's `convert::into_error`, and `Refusal::code` in mfa-host).
 */
export function errorCode(error) {
  if (error.reason.tag === 'other') return error.reason.val;
  return error.reason.tag.replaceAll('-', '_');
}

/**
 * jco throws the `error` of a top-level `result<_, error>` as an object with a
 * `payload`: the reason and the engine's message, which is never empty.
 */
function isWitError(e) {
  return (
    e !== null &&
    typeof e === 'object' &&
    typeof e.payload?.reason?.tag === 'string' &&
    typeof e.payload.message === 'string' &&
    e.payload.message.length > 0
  );
}

/**
 * Call into the component: `{ok: ok(value)}`, or `{error: code}` for a WIT
 * error. Anything else thrown (a trap, a binding failure) is not an engine
 * answer and propagates.
 */
export function outcome(call, ok) {
  let value;
  try {
    value = call();
  } catch (e) {
    if (isWitError(e)) return { error: errorCode(e.payload) };
    throw e;
  }
  return { ok: ok(value) };
}

/**
 * The actual result as the file records it (mfa-host's `project`): of an `ok`
 * object only the keys the expected `ok` has; a contact recorded by its value
 * alone (`"ok": "+44…"`) compared by its `e164` or `address`.
 */
export function project(actual, expected) {
  const [a, e] = [actual.ok, expected.ok];
  if (a === undefined || e === undefined) return actual;
  if (isObject(e)) {
    const kept = Object.keys(e).filter((k) => isObject(a) && k in a);
    return { ok: Object.fromEntries(kept.map((k) => [k, a[k]])) };
  }
  if (typeof e === 'string' && isObject(a)) {
    const key = ['e164', 'address'].find((k) => k in a);
    return key ? { ok: a[key] } : actual;
  }
  return actual;
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
