// Type declarations of @mfa-wasm/widget.

/** A method type as the server names it. */
export type MethodType = 'authenticator_app' | 'text' | 'call' | 'email';

/** A registered method as the server lists it (no secrets). */
export interface Method {
  id: number;
  method_type: MethodType;
  kind:
    | { type: 'totp'; params: { algorithm: string; digits: number; period: number } }
    | { type: 'hotp'; params: { algorithm: string; digits: number } }
    | { type: 'phone'; masked: string; channel: 'text' | 'call' }
    | { type: 'email'; masked: string };
  is_default: boolean;
  added_at: number;
  last_used_at: number | null;
}

/** An error the widget can explain. */
export class MfaError extends Error {
  constructor(code: string, message: string, extra?: { status?: number; retryAfter?: number | null; clockOffset?: number | null; check?: string | null });
  /** The server's stable code (`wrong_code`, `code_expired`, `retry_later`, `locked`, …), or `network` / `engine` / `server`. */
  readonly code: string;
  /** HTTP status (0 when the server was not reached). */
  readonly status: number;
  /** Seconds to wait before trying again (`retry_later`, `locked`). */
  readonly retryAfter: number | null;
  /** `clock_drift`: seconds the phone’s clock is off (negative: behind). */
  readonly clockOffset: number | null;
  /** `passkey_refused`: the engine's check that failed (`origin_not_allowed`, `sign_count_regressed`, …). */
  readonly check: string | null;
  /** When that wait ends, in `Date.now()` milliseconds. */
  readonly until: number | null;
}

/** The client of the server's `/api/v1` the elements use; cookies carry the sign-in. */
export class ApiClient {
  constructor(base?: string);
  readonly base: string;
  /** A raw request; resolves to the JSON body (null for 204), rejects with `MfaError`. */
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  session(): Promise<{
    user: string;
    mfa: boolean;
    state: 'disabled' | 'enabled' | 'enforced';
    next: { next: 'continue' | 'register' | 'reregister' | 'verify' | 'replace' | 'locked' | 'locked_out' | 'done'; [k: string]: unknown };
    methods: Method[];
    recovery_codes_left: number;
    app_passwords_allowed: boolean;
  }>;
  /** Start a passwordless sign-in: request options any of the site's passkeys may answer, and the signed ceremony. */
  passwordlessOptions(): Promise<PasswordlessStart>;
  /** Finish it with the browser's answer (`PublicKeyCredential.toJSON()`); the session cookies are set. */
  passwordlessSignIn(ceremony: string, response: unknown, remember?: boolean): Promise<PasswordlessSignedIn>;
}

/** The start of a passwordless sign-in. */
export interface PasswordlessStart {
  type: 'passkey';
  /** `PublicKeyCredentialRequestOptionsJSON`: no `allowCredentials`, `userVerification: 'required'`. */
  options: { rpId: string; challenge: string; [k: string]: unknown };
  expires_at: number;
  ceremony: string;
}

/** A finished passwordless sign-in. */
export interface PasswordlessSignedIn {
  user: string;
  next: { next: 'done' };
  /** RFC 8176 values of the key: `hwk` or `swk`, and `user`. */
  amr: string[];
  session_expires_at: number;
  stay_signed_in: 'ask' | 'yes' | 'no';
}

/**
 * Sign in with one of the site's passkeys, no user name or password. With
 * `conditional`, waits for the person to pick a passkey in the autofill of a
 * field marked `autocomplete="username webauthn"`. Rejects with `MfaError`
 * (`passkey_cancelled` when stopped through `signal` or timed out).
 */
export function signInWithPasskey(api: ApiClient, start: PasswordlessStart, options?: { conditional?: boolean; signal?: AbortSignal }): Promise<PasswordlessSignedIn>;
/** Whether this browser can use passkeys at all. */
export function passkeysSupported(): boolean;
/** Whether the browser offers passkeys in a field's autofill (conditional mediation). */
export function autofillSupported(): Promise<boolean>;
/** Whether passkeys of the relying party `rpId` work at this page's address. */
export function siteFits(rpId: string): boolean;

/** `detail` of `mfa-enrolled`: a method was proven and now counts. */
export interface MfaEnrolledDetail {
  methodId: number;
  type: MethodType;
  methods: Method[];
  /** Whether recovery codes were issued (they are shown to the user, never put in events). */
  recoveryCodesIssued: boolean;
  /** Offset in time steps of the authenticator's clock, when known. */
  clockSkewSteps: number | null;
}

/** `detail` of `mfa-done`: the user left the final enrolment screen. */
export interface MfaDoneDetail {
  methods: Method[];
}

/** `detail` of `mfa-verified`: the second factor was accepted (session cookie set). */
export interface MfaVerifiedDetail {
  user: string;
  /** True when the visitor was already verified and nothing was asked. */
  already?: boolean;
  amr?: string[];
  methodId?: number | null;
  rememberedDeviceUntil?: number | null;
  sessionExpiresAt?: number | null;
  recoveryCodesLeft?: number | null;
  /** The answer to "Stay signed in?" (or the one kept on this browser): the session cookie outlives the browser. */
  staySignedIn?: boolean;
}

/** `detail` of `mfa-next`: the element cannot go on; the server wants another step. */
export interface MfaNextDetail {
  next: 'continue' | 'register' | 'reregister' | 'verify' | 'replace' | 'locked' | 'locked_out' | 'done';
  until?: number;
}

/** `detail` of `mfa-error`: an error was shown to the user. */
export interface MfaErrorDetail {
  code: string;
  /** The words shown. */
  message: string;
  status: number;
  retryAfter: number | null;
}

/** `detail` of `mfa-app-password-created` (the password itself is never in an event). */
export interface MfaAppPasswordCreatedDetail {
  id: string;
  name: string;
  createdAt: number;
}

/** `detail` of `mfa-app-password-deleted`. */
export interface MfaAppPasswordDeletedDetail {
  id: string;
  name: string;
}

export interface MfaMethodAddedDetail {
  methods: Method[];
}

export interface MfaMethodRemovedDetail {
  methodId: number;
  type: MethodType;
}

export interface MfaDefaultChangedDetail {
  methodId: number;
}

export interface MfaRecoveryCodesIssuedDetail {
  /** How many new codes were shown (never the codes). */
  count: number;
}

export interface MfaSignedOutDetail {
  everywhere: true;
}

/** What the elements share. */
declare class MfaElement extends HTMLElement {
  /** The API root (`api` attribute); default `/api/v1`. */
  api: string;
  /** Start over from the server's current state. */
  refresh(): void;
}

/**
 * `<mfa-enroll api="/api/v1" methods="authenticator_app text" account="…" default-country="GB" autofocus>`:
 * "Set it up now", re-registration, and adding a method. Fires `mfa-enrolled`, `mfa-done`, `mfa-next`, `mfa-error`.
 */
export class MfaEnrollElement extends MfaElement {}

/**
 * `<mfa-verify api="/api/v1" no-remember no-stay-signed-in autofocus>`: the second-factor
 * prompt, then "Stay signed in?" unless this browser kept an answer (or `no-stay-signed-in`).
 * Fires `mfa-verified`, `mfa-next`, `mfa-error`.
 */
export class MfaVerifyElement extends MfaElement {}

/**
 * `<mfa-app-passwords api="/api/v1">`: create (optionally limited to scopes and
 * with an expiry date), list, delete app passwords.
 * Fires `mfa-app-password-created`, `mfa-app-password-deleted`, `mfa-error`.
 */
export class MfaAppPasswordsElement extends MfaElement {}

/**
 * `<mfa-security-info api="/api/v1" methods="…" default-country="GB" account="…">`:
 * the registered methods with the default marked; change the default, add
 * (an embedded `<mfa-enroll>`; the attributes are passed on) or delete a
 * method, new recovery codes, "Sign out everywhere". Fires `mfa-method-added`,
 * `mfa-method-removed`, `mfa-default-changed`, `mfa-recovery-codes-issued`,
 * `mfa-signed-out`, `mfa-error`.
 */
export class MfaSecurityInfoElement extends MfaElement {}

/** Every text the widget shows, by key; assign to reword or translate (`{name}` placeholders are filled in). */
export const messages: Record<string, string>;

/** The words the widget shows for an error. */
export function describe(err: MfaError | { code: string; message?: string; status?: number }): string;

/** The engine (wasm), loaded once. */
export function engine(): Promise<{
  parseOtpauth(uri: string): {
    kind: 'totp' | 'hotp';
    issuer: string | null;
    account: string;
    algorithm: string;
    digits: number;
    period: number | null;
    counter: number | null;
    manualKey: string;
    warnings: string[];
  };
  qrSvg(text: string, label: string): string;
  normalizeCode(code: string, digits: number): string;
  checkPhone(countryCode: string, number: string): { countryCode: string; national: string; e164: string; masked: string };
  checkEmail(address: string): string;
  appPasswordId(presented: string): string;
  formatAppPassword(presented: string, separator: string): string;
  engineVersion(): string;
}>;

declare global {
  interface HTMLElementTagNameMap {
    'mfa-enroll': MfaEnrollElement;
    'mfa-verify': MfaVerifyElement;
    'mfa-app-passwords': MfaAppPasswordsElement;
    'mfa-security-info': MfaSecurityInfoElement;
  }
  interface HTMLElementEventMap {
    'mfa-enrolled': CustomEvent<MfaEnrolledDetail>;
    'mfa-done': CustomEvent<MfaDoneDetail>;
    'mfa-verified': CustomEvent<MfaVerifiedDetail>;
    'mfa-next': CustomEvent<MfaNextDetail>;
    'mfa-error': CustomEvent<MfaErrorDetail>;
    'mfa-app-password-created': CustomEvent<MfaAppPasswordCreatedDetail>;
    'mfa-app-password-deleted': CustomEvent<MfaAppPasswordDeletedDetail>;
    'mfa-method-added': CustomEvent<MfaMethodAddedDetail>;
    'mfa-method-removed': CustomEvent<MfaMethodRemovedDetail>;
    'mfa-default-changed': CustomEvent<MfaDefaultChangedDetail>;
    'mfa-recovery-codes-issued': CustomEvent<MfaRecoveryCodesIssuedDetail>;
    'mfa-signed-out': CustomEvent<MfaSignedOutDetail>;
  }
}
