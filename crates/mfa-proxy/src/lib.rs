//! `mfa-proxy`: a proxy-wasm filter for Envoy (and other proxy-wasm hosts) that
//! protects upstreams with the mfa-wasm engine.
//!
//! Clients that cannot do MFA (mail clients, SMTP/IMAP bridges, scripts) present
//! `Authorization: Basic user:app-password`; browsers present the MFA session
//! token the server issued after the second factor. Per route the filter
//! accepts app passwords, sessions, either one, or lets the route through as
//! public; it refuses, redirects to the verify page, or passes a verified
//! identity upstream in `x-mfa-user`, `x-mfa-method` and
//! `x-mfa-app-password-id` (always overwritten, so a client cannot forge them).
//!
//! # Layout
//! Everything that decides is plain Rust and tested natively:
//! - [`config`]: the JSON configuration, parsed and checked once;
//! - [`gate`]: `request facts → decision`, over the small [`gate::SharedStore`]
//!   and [`gate::Metrics`] traits the host provides;
//! - [`cache`], [`remote`]: the shared-data names of the verified-credential
//!   cache and the address counters, and the verify-endpoint contract. What
//!   counts, when an address is blocked and how long a cached answer holds
//!   are the engine's gateway rules ([`mfa_core::gateway`]).
//!
//! The proxy-wasm glue (`filter`, built only for `wasm32`) translates host
//! calls into those types and back and decides nothing. Every decision about a
//! credential or a token is made by `mfa-core`.
#![forbid(unsafe_code)]

mod bypass;
pub mod cache;
pub mod config;
pub mod gate;
mod http;
pub mod remote;

#[cfg(target_arch = "wasm32")]
mod filter;
