//! A misbehaving guest is stopped (deadline, memory limit) and the host keeps
//! serving; bad inputs through the boundary get typed errors.
mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{NOW, host_policy, keys_json, test_policy};
use mfa_host::{Error, MfaHost, Record, TotpParams};

fn params() -> TotpParams {
    TotpParams {
        algorithm: mfa_host::Algorithm::Sha1,
        digits: 6,
        period: 30,
    }
}

fn misbehaving_host(timeout: Duration, memory: usize) -> MfaHost {
    MfaHost::builder()
        .component_file(common::misbehaving_component())
        .cache_dir(common::cache_dir())
        .keys(keys_json(b"limits"))
        .policy(host_policy(&test_policy()))
        .max_instances(2)
        .call_timeout(timeout)
        .memory_limit(memory)
        .build()
        .expect("host builds")
}

/// Runs `f` on another thread; fails the test if it does not return within
/// `limit` (a hung host), instead of hanging the suite.
fn returns_within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("the call did not return: the runaway guest was not stopped")
}

#[test]
fn endless_loop_is_stopped_and_the_host_serves_on() {
    let host = misbehaving_host(Duration::from_millis(200), 64 << 20);
    let h = host.clone();
    let err = returns_within(Duration::from_secs(30), move || {
        h.totp_code(b"misbehave:spin", params(), NOW).unwrap_err()
    });
    assert_eq!(
        err,
        Error::Timeout {
            limit: Duration::from_millis(200)
        }
    );
    assert!(err.to_string().contains("200 ms deadline"), "{err}");
    // The next calls are served by fresh or other instances.
    for _ in 0..3 {
        let code = host
            .totp_code(b"12345678901234567890", params(), 59)
            .expect("host still serves");
        assert_eq!(code.expose(), "287082");
    }
}

#[test]
fn memory_bomb_is_refused_and_the_host_serves_on() {
    let host = misbehaving_host(Duration::from_secs(10), 32 << 20);
    let h = host.clone();
    let err = returns_within(Duration::from_secs(60), move || {
        h.totp_code(b"misbehave:grow", params(), NOW).unwrap_err()
    });
    assert_eq!(
        err,
        Error::MemoryLimit {
            limit_bytes: 32 << 20
        }
    );
    let code = host
        .totp_code(b"12345678901234567890", params(), 59)
        .expect("host still serves");
    assert_eq!(code.expose(), "287082");
    // A record operation on the same host works too.
    let out = host
        .set_mfa_state(
            Record::New {
                user_id: "zoe",
                now: NOW,
            },
            mfa_host::MfaState::Enabled,
            "admin",
            NOW,
        )
        .expect("served");
    assert_eq!(out.saved.revision, 1);
}

#[test]
fn argon2_default_parameters_need_more_than_a_tiny_memory_limit() {
    // A limit below what argon2id m=19456 needs: creating an app password is
    // refused as a memory limit, never a crash of the host.
    let host = MfaHost::builder()
        .component_file(common::component())
        .cache_dir(common::cache_dir())
        .keys(keys_json(b"limits"))
        .memory_limit(8 << 20)
        .build()
        .expect("host builds");
    let result = host.create_app_password(
        Record::New {
            user_id: "yann",
            now: NOW,
        },
        &mfa_host::AppPasswordRequest {
            name: "Mail".into(),
            scopes: vec![],
            expires_at: None,
        },
        NOW,
    );
    // Either the guest's allocation traps at the limit (a host error), or the
    // argon2 backend sees the failed allocation and the engine answers with a
    // typed error; never a stored password, never a crash.
    match result {
        Err(err) => assert_eq!(
            err,
            Error::MemoryLimit {
                limit_bytes: 8 << 20
            }
        ),
        Ok(outcome) => {
            let msg = format!("{outcome:?}");
            assert!(
                msg.contains("InvalidHash") && msg.contains("stored: None"),
                "{msg}"
            );
        }
    }
}

fn host() -> MfaHost {
    common::host_with(&test_policy(), b"limits")
}

fn engine_code(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(Error::Engine(e)) => e.code().to_string(),
        other => panic!("expected an engine error, got {other:?}"),
    }
}

#[test]
fn corrupt_records_get_typed_errors() {
    let host = host();
    for bytes in [
        &b"\xff\xfe not utf-8"[..],
        b"",
        b"{",
        b"[]",
        br#"{"schema": 99, "revision": 0, "user_id": "a", "created_at": 0}"#,
        br#"{"schema": 1, "revision": 0, "user_id": "a", "created_at": 0, "state": "bogus"}"#,
        br#"{"schema": 1, "revision": 0, "user_id": "", "created_at": 0}"#,
    ] {
        let err = host
            .verify(Record::Stored(bytes), None, "123456", NOW)
            .unwrap_err();
        assert_eq!(
            engine_code(Err::<(), _>(err.clone())),
            "corrupt_record",
            "{bytes:?}"
        );
        assert!(
            err.to_string()
                .starts_with("stored user record is unreadable"),
            "{err}"
        );
    }
    let huge = vec![b' '; mfa_host::MAX_RECORD_BYTES + 1];
    assert_eq!(
        host.verify(Record::Stored(&huge), None, "123456", NOW)
            .unwrap_err(),
        Error::InputTooLarge {
            what: "stored record",
            max: mfa_host::MAX_RECORD_BYTES
        }
    );
}

#[test]
fn tampered_seed_is_refused_as_seal_broken() {
    let host = host();
    let new = Record::New {
        user_id: "mia",
        now: NOW,
    };
    let out = host.begin_authenticator(new, None, NOW).expect("begin");
    let setup = out.result.expect("setup");
    let stored = out.saved.stored.expect("stored");
    let secret = host.parse_otpauth(setup.uri.expose()).expect("uri").secret;
    let code = mfa_core::totp_code(secret.expose(), &mfa_core::Totp::default(), NOW).expect("code");
    let out = host
        .confirm_registration(Record::Stored(&stored), &code, NOW)
        .expect("confirm");
    assert!(out.result.is_ok());
    let stored = String::from_utf8(out.saved.stored.expect("stored")).expect("utf-8");
    // Flip one character of the sealed ciphertext.
    let at = stored.find("\"ct\":\"").expect("sealed seed") + 6;
    let mut bytes = stored.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let out = host
        .verify(Record::Stored(&bytes), None, "123456", NOW + 30)
        .expect("call");
    assert_eq!(out.result.unwrap_err().code(), "seal_broken");
}

#[test]
fn bad_arguments_get_typed_errors() {
    let host = host();
    let new = Record::New {
        user_id: "noa",
        now: NOW,
    };
    // Invalid strings.
    assert_eq!(
        engine_code(host.parse_otpauth("otpauth://totp/x?secret=%%%")),
        "invalid_uri"
    );
    assert_eq!(
        engine_code(host.parse_otpauth("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5")),
        "invalid_uri"
    );
    assert_eq!(
        engine_code(host.parse_app_password("hunter2\u{0}")),
        "malformed_app_password"
    );
    assert_eq!(
        engine_code(host.check_totp(b"12345678901234567890", params(), "12a456", NOW, 1)),
        "malformed_code"
    );
    assert_eq!(
        engine_code(host.verify_token_with_jwks(
            "{not json",
            "i",
            "a",
            mfa_host::TokenKind::Session,
            "x.y.z",
            NOW
        )),
        "invalid_keys"
    );
    assert_eq!(
        engine_code(host.verify_session("not a token", NOW)),
        "malformed_token"
    );
    assert_eq!(engine_code(host.parse_phone("+0", "123")), "invalid_input");
    let out = host
        .create_app_password(
            new,
            &mfa_host::AppPasswordRequest {
                name: "bell\u{7}".into(),
                scopes: vec![],
                expires_at: None,
            },
            NOW,
        )
        .expect("call");
    assert_eq!(out.result.unwrap_err().code(), "invalid_input");
    assert!(
        out.saved.stored.is_none(),
        "a refused creation stores nothing"
    );
    let err = host
        .summary(
            Record::New {
                user_id: "",
                now: NOW,
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(engine_code(Err::<(), _>(err)), "invalid_input");

    // Oversized lists and strings are refused before they cross.
    let many: Vec<String> = (0..5000).map(|i| format!("s{i}")).collect();
    let err = host
        .create_app_password(
            new,
            &mfa_host::AppPasswordRequest {
                name: "Mail".into(),
                scopes: many,
                expires_at: None,
            },
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::InputTooLarge { what: "scopes", .. }),
        "{err:?}"
    );
    let seventeen: Vec<String> = (0..17).map(|i| format!("s{i}")).collect();
    let out = host
        .create_app_password(
            new,
            &mfa_host::AppPasswordRequest {
                name: "Mail".into(),
                scopes: seventeen,
                expires_at: None,
            },
            NOW,
        )
        .expect("call");
    assert_eq!(out.result.unwrap_err().code(), "invalid_input");
    let long = "1".repeat(100_000);
    assert!(matches!(
        host.verify(new, None, &long, NOW).unwrap_err(),
        Error::InputTooLarge { what: "code", .. }
    ));

    // A bad policy is refused when the host is built.
    let mut policy = host_policy(&test_policy());
    policy.lockout_threshold = 0;
    let err = MfaHost::builder()
        .component_file(common::component())
        .keys(keys_json(b"x"))
        .policy(policy)
        .build()
        .unwrap_err();
    assert_eq!(engine_code(Err::<(), _>(err)), "invalid_policy");
    let err = MfaHost::builder()
        .component_file(common::component())
        .keys("{}")
        .build()
        .unwrap_err();
    assert_eq!(engine_code(Err::<(), _>(err)), "invalid_keys");
    let err = MfaHost::builder()
        .component_bytes(b"\0asm not really".to_vec())
        .keys(keys_json(b"x"))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Load { .. }), "{err:?}");
}

/// Below the typed API: a raw call whose record holds an enum case the
/// contract does not have is refused by the canonical ABI, not passed on.
#[test]
fn unknown_enum_values_are_refused_at_the_boundary() {
    use wasmtime::component::{Component, Linker, ResourceTable, Val};
    use wasmtime::{Engine, Store};
    use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

    struct State(WasiCtx, ResourceTable);
    impl WasiView for State {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.0,
                table: &mut self.1,
            }
        }
    }
    let engine = Engine::default();
    let component = Component::from_file(&engine, common::component()).expect("component");
    let mut linker = Linker::<State>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("wasi");
    let mut store = Store::new(
        &engine,
        State(WasiCtx::builder().build(), ResourceTable::new()),
    );
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("instance");
    let otp = instance
        .get_export_index(&mut store, None, "mfa:engine/otp@0.1.0")
        .expect("otp interface");
    let idx = instance
        .get_export_index(&mut store, Some(&otp), "totp-code")
        .expect("totp-code");
    let func = instance.get_func(&mut store, idx).expect("func");
    let call = |store: &mut Store<State>, algorithm: &str| {
        let params = Val::Record(vec![
            ("algorithm".into(), Val::Enum(algorithm.into())),
            ("digits".into(), Val::U8(6)),
            ("period".into(), Val::U32(30)),
        ]);
        let secret = Val::List(
            b"12345678901234567890"
                .iter()
                .map(|b| Val::U8(*b))
                .collect(),
        );
        let mut results = [Val::Bool(false)];
        func.call(&mut *store, &[secret, params, Val::U64(59)], &mut results)
            .map(|()| results[0].clone())
    };
    let err = call(&mut store, "md5").expect_err("unknown enum case refused");
    assert!(format!("{err:#}").contains("md5"), "{err:#}");
    // The same raw call with a known case works.
    let ok = call(&mut store, "sha1").expect("known case");
    assert!(matches!(ok, Val::Result(Ok(Some(_)))), "{ok:?}");
}
