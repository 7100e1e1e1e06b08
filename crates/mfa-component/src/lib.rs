//! The mfa-wasm engine as a WebAssembly component.
//!
//! Built for `wasm32-wasip2`, this crate exports the world `mfa:engine/component`
//! from `wit/` over [`mfa_core`]. It only translates: WIT types into engine
//! types and back, engine errors into the WIT `error` variant (all in
//! `convert`). Every rule lives in `mfa-core`. Time is an argument of every
//! call; randomness for new secrets comes from WASI (`getrandom`).
//!
//! Build: `cargo build -p mfa-component --target wasm32-wasip2 --release`
//! (the output, `target/wasm32-wasip2/release/mfa_component.wasm`, is a component).
#![deny(unsafe_code)]

mod convert;
mod exports_impl;
mod gateway;
mod passwords;
mod sign_in;
mod webauthn;

/// Bindings generated from `wit/`; the only unsafe code of the crate is in
/// what `wit_bindgen` generates for the canonical ABI.
#[allow(unsafe_code, missing_docs, reason = "generated canonical-ABI glue")]
mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "mfa:engine/component",
    });

    use super::Component;
    export!(Component);
}

struct Component;

#[cfg(feature = "misbehave")]
mod misbehave;
