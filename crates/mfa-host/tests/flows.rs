//! Record-based flows through the component (via mfa-host) and through native
//! mfa-core, side by side: same inputs, same answers, same revisions, same audit
//! events. Randomness differs (WASI in the guest, a seeded stream natively), so
//! codes are computed from each side's own secrets and behaviour is compared,
//! not bytes.
mod common;

use common::{NOW, host_with, keys_json, test_policy};
use mfa_core as core;
use mfa_host::{self as host, AuditKind, MfaHost, Outcome, Record};

/// One step's observable behaviour.
#[derive(Debug, PartialEq)]
struct Step {
    /// `ok` or the engine's error code.
    answer: String,
    revision: u64,
    stored: bool,
    events: Vec<String>,
}

fn host_event(k: &AuditKind) -> String {
    let s = match k {
        AuditKind::MfaStateChanged(_) => "mfa_state_changed",
        AuditKind::RegistrationStarted => "registration_started",
        AuditKind::MethodAdded(_) => "method_added",
        AuditKind::MethodRemoved(_) => "method_removed",
        AuditKind::DefaultMethodChanged(_) => "default_method_changed",
        AuditKind::Registered => "registered",
        AuditKind::CodeSent => "code_sent",
        AuditKind::VerificationSucceeded(_) => "verification_succeeded",
        AuditKind::VerificationFailed(_) => "verification_failed",
        AuditKind::ReplayRefused => "replay_refused",
        AuditKind::Locked(_) => "locked",
        AuditKind::Unlocked => "unlocked",
        AuditKind::HotpResynchronised(_) => "hotp_resynchronised",
        AuditKind::RecoveryCodesIssued(_) => "recovery_codes_issued",
        AuditKind::RecoveryCodeUsed(_) => "recovery_code_used",
        AuditKind::AppPasswordCreated(_) => "app_password_created",
        AuditKind::AppPasswordUsed(_) => "app_password_used",
        AuditKind::AppPasswordRejected(_) => "app_password_rejected",
        AuditKind::AppPasswordDeleted(_) => "app_password_deleted",
        AuditKind::AllAppPasswordsDeleted(_) => "all_app_passwords_deleted",
        AuditKind::ReregistrationRequired => "reregistration_required",
        AuditKind::RememberedDevicesRestored => "remembered_devices_restored",
        AuditKind::SessionsRevoked(_) => "sessions_revoked",
        AuditKind::MethodsReset => "methods_reset",
        AuditKind::SessionIssued => "session_issued",
        AuditKind::DeviceRemembered(_) => "device_remembered",
        AuditKind::SecretsResealed => "secrets_resealed",
        AuditKind::AdminRoleChanged(_) => "admin_role_changed",
        AuditKind::PasskeySignCountRegressed(_) => "passkey_sign_count_regressed",
        AuditKind::Other(name) => name,
    };
    s.to_string()
}

fn native_event(e: &core::AuditEvent) -> String {
    serde_json::to_value(e).expect("event serialises")["event"]
        .as_str()
        .expect("tagged")
        .to_string()
}

/// The component side: the stored bytes, as a host keeps them.
struct Comp {
    host: MfaHost,
    stored: Option<Vec<u8>>,
    user: &'static str,
}

impl Comp {
    fn record(&self) -> Record<'_> {
        match &self.stored {
            Some(b) => Record::Stored(b),
            None => Record::New {
                user_id: self.user,
                now: NOW,
            },
        }
    }

    fn apply<T>(&mut self, out: Result<Outcome<T>, host::Error>) -> (Step, Option<T>) {
        let out = out.expect("no host failure");
        let stored = out.saved.stored.is_some();
        if let Some(b) = out.saved.stored {
            self.stored = Some(b);
        }
        let step = Step {
            answer: match &out.result {
                Ok(_) => "ok".into(),
                Err(e) => e.code().to_string(),
            },
            revision: out.saved.revision,
            stored,
            events: out
                .saved
                .events
                .iter()
                .map(|e| host_event(&e.kind))
                .collect(),
        };
        (step, out.result.ok())
    }
}

/// The native side.
struct Native {
    engine: core::Engine,
    rec: core::UserRecord,
    rng: core::SeededRandom,
    saved_revision: u64,
}

impl Native {
    fn apply<T>(
        &mut self,
        f: impl FnOnce(
            &core::Engine,
            &mut core::UserRecord,
            &mut core::SeededRandom,
            &mut Vec<core::AuditEvent>,
        ) -> Result<T, core::Error>,
    ) -> (Step, Option<T>) {
        let mut audit = Vec::new();
        let r = f(&self.engine, &mut self.rec, &mut self.rng, &mut audit);
        let revision = self.rec.revision();
        let stored = revision != self.saved_revision;
        self.saved_revision = revision;
        // The stored form round-trips, as it would through a database.
        self.rec = core::UserRecord::from_json(&self.rec.to_json()).expect("round trip");
        let step = Step {
            answer: match &r {
                Ok(_) => "ok".into(),
                Err(e) => e.code().to_string(),
            },
            revision,
            stored,
            events: audit.iter().map(native_event).collect(),
        };
        (step, r.ok())
    }
}

fn sides(user: &'static str, policy: &core::Policy) -> (Comp, Native) {
    let keys = keys_json(b"flows");
    let comp = Comp {
        host: host_with(policy, b"flows"),
        stored: None,
        user,
    };
    let native = Native {
        engine: core::Engine::new(policy.clone(), core::Keys::from_json(&keys).expect("keys"))
            .expect("engine"),
        rec: core::UserRecord::new(user, NOW),
        rng: core::SeededRandom::new(b"native side"),
        saved_revision: 0,
    };
    (comp, native)
}

fn totp_now(secret: &[u8], now: u64) -> String {
    core::totp_code(secret, &core::Totp::default(), now).expect("code")
}

/// Authenticator set-up, verification and replay: identical behaviour.
#[test]
fn enrolment_verify_and_replay_match_native() {
    let policy = test_policy();
    let (mut c, mut n) = sides("alice@example.com", &policy);

    // The admin turns MFA on.
    let (cs, _) = {
        let out = c
            .host
            .set_mfa_state(c.record(), host::MfaState::Enabled, "admin", NOW);
        c.apply(out)
    };
    let (ns, _) = n.apply(|e, r, _, a| {
        e.set_mfa_state(r, core::MfaState::Enabled, "admin", NOW, a);
        Ok(())
    });
    assert_eq!(cs, ns);
    assert_eq!(cs.revision, 1);
    assert_eq!(cs.events, ["mfa_state_changed"]);

    // "Set it up now".
    let next = c.host.enrollment_check(c.record(), NOW).expect("check");
    assert_eq!(
        next,
        host::NextStep::Register(vec![
            host::MethodType::AuthenticatorApp,
            host::MethodType::Text,
            host::MethodType::Call,
            host::MethodType::Email
        ])
    );
    assert!(matches!(
        n.engine.enrollment_check(&n.rec, NOW),
        core::NextStep::Register { .. }
    ));

    // Begin: each side gets its own secret.
    let out = c.host.begin_authenticator(c.record(), None, NOW);
    let (cs, setup) = c.apply(out);
    let (ns, reg) = n.apply(|e, r, rng, a| e.begin_authenticator(r, None, NOW, rng, a));
    assert_eq!(cs, ns);
    let setup = setup.expect("setup");
    assert_eq!(setup.account, "alice@example.com");
    assert!(!format!("{setup:?}").contains(setup.manual_key.expose()));
    let c_secret = c
        .host
        .parse_otpauth(setup.uri.expose())
        .expect("uri parses")
        .secret
        .expose()
        .to_vec();
    let Some(core::Registration::Authenticator { uri, .. }) = reg else {
        panic!("native registration")
    };
    let (parsed, _) = core::OtpAuthUri::parse(uri.expose()).expect("native uri");
    let n_secret = parsed.secret().to_vec();
    assert_eq!(c_secret.len(), 20);

    // A wrong code, then the right one.
    let out = c.host.confirm_registration(c.record(), "000000", NOW);
    let (cs, _) = c.apply(out);
    let (ns, _) = n.apply(|e, r, rng, a| e.confirm_registration(r, "000000", NOW, rng, a));
    if totp_now(&c_secret, NOW) != "000000" && totp_now(&n_secret, NOW) != "000000" {
        assert_eq!(cs, ns);
        assert_eq!(cs.answer, "wrong_code");
    }
    let out = c
        .host
        .confirm_registration(c.record(), &totp_now(&c_secret, NOW), NOW);
    let (cs, confirmed) = c.apply(out);
    let code = totp_now(&n_secret, NOW);
    let (ns, _) = n.apply(|e, r, rng, a| e.confirm_registration(r, &code, NOW, rng, a));
    assert_eq!(cs, ns);
    let confirmed = confirmed.expect("confirmed");
    let codes = confirmed
        .recovery_codes
        .expect("first registration gives recovery codes");
    assert_eq!(codes.codes.len(), usize::from(policy.recovery_code_count));

    let summary = c.host.summary(c.record(), NOW).expect("summary");
    assert_eq!(summary.state, host::MfaState::Enforced);
    assert_eq!(summary.methods.len(), 1);
    assert_eq!(summary.recovery_codes_left, policy.recovery_code_count);
    assert_eq!(summary.revision, n.rec.revision());

    // Sign-in a step later; the same code again is a replay.
    let t = NOW + 30;
    let out = c.host.verify(c.record(), None, &totp_now(&c_secret, t), t);
    let (cs, verified) = c.apply(out);
    let code = totp_now(&n_secret, t);
    let (ns, _) = n.apply(|e, r, _, a| e.verify(r, None, &code, t, a));
    assert_eq!(cs, ns);
    let verified = verified.expect("verified");
    assert_eq!(verified.amr, ["otp"]);
    assert_eq!(verified.matched.expect("matched").offset, 0);

    let out = c
        .host
        .verify(c.record(), None, &totp_now(&c_secret, t), t + 1);
    let (cs, _) = c.apply(out);
    let (ns, _) = n.apply(|e, r, _, a| e.verify(r, None, &code, t + 1, a));
    assert_eq!(cs, ns);
    assert_eq!(cs.answer, "replay");
    assert!(cs.events.contains(&"replay_refused".to_string()));

    // A recovery code works once.
    let rc = codes.codes[0].expose().to_string();
    let out = c.host.verify_recovery_code(c.record(), &rc, t + 2);
    let (cs, v) = c.apply(out);
    assert_eq!(cs.answer, "ok");
    assert_eq!(
        v.expect("verified").recovery_codes_left,
        Some(policy.recovery_code_count - 1)
    );
    let out = c.host.verify_recovery_code(c.record(), &rc, t + 3);
    let (cs, _) = c.apply(out);
    assert_eq!(cs.answer, "wrong_recovery_code");

    // The sign-in flow: the next step's code finishes the sign-in in one
    // call, with the session verified by the engine and natively against the JWKS.
    let t2 = t + 30;
    let code = totp_now(&c_secret, t2);
    let proof = host::Proof::Code {
        method: None,
        code: &code,
    };
    let out = c
        .host
        .finish_sign_in(c.record(), host::Standing::External, proof, false, t2);
    let (cs, signed) = c.apply(out);
    let n_code = totp_now(&n_secret, t2);
    let (ns, _) = n.apply(|e, r, rng, a| {
        let proof = core::Proof::Code {
            method: None,
            code: &n_code,
        };
        e.finish_sign_in(r, core::Standing::External, proof, false, t2, rng, a)
    });
    // (The component side also spent a recovery code above: revisions differ.)
    assert_eq!((&cs.answer, &cs.events), (&ns.answer, &ns.events));
    assert_eq!(cs.events, ["verification_succeeded", "session_issued"]);
    let token = signed.expect("signed in").session;

    let claims = c
        .host
        .verify_session(token.expose(), t2 + 5)
        .expect("valid");
    assert_eq!(claims.sub, "alice@example.com");
    assert_eq!(claims.amr, ["ext", "otp", "mfa"]);
    let jwks = host::jwks_json(&c.host.jwks().expect("jwks"));
    let native_jwks = core::Jwks::parse(&jwks).expect("JWKS from the component parses natively");
    let native_claims = native_jwks
        .verify(
            token.expose(),
            &policy.issuer,
            &policy.audience,
            core::TokenKind::Session,
            t2 + 5,
        )
        .expect("native verification of a component-issued token");
    assert_eq!(native_claims.jti, claims.jti);
    assert_eq!(
        c.host
            .verify_session(
                token.expose(),
                t2 + u64::from(policy.session_lifetime_secs) + 1
            )
            .unwrap_err()
            .engine()
            .map(|e| e.code().to_string()),
        Some("token_expired".into())
    );
}

/// A record made natively opens in the component and answers the same.
#[test]
fn native_records_work_in_the_component_and_back() {
    let policy = test_policy();
    let (c, mut n) = sides("bob@example.com", &policy);
    n.apply(|e, r, _, a| {
        e.set_mfa_state(r, core::MfaState::Enabled, "admin", NOW, a);
        Ok(())
    });
    let (_, reg) = n.apply(|e, r, rng, a| e.begin_authenticator(r, None, NOW, rng, a));
    let Some(core::Registration::Authenticator { uri, .. }) = reg else {
        panic!("registration")
    };
    let secret = core::OtpAuthUri::parse(uri.expose())
        .expect("uri")
        .0
        .secret()
        .to_vec();
    let code = totp_now(&secret, NOW);
    n.apply(|e, r, rng, a| e.confirm_registration(r, &code, NOW, rng, a));
    let stored = n.rec.to_json().into_bytes();

    let t = NOW + 60;
    let out = c
        .host
        .verify(Record::Stored(&stored), None, &totp_now(&secret, t), t)
        .expect("call");
    assert!(out.result.is_ok(), "{:?}", out.result);
    let back = core::UserRecord::from_json(
        std::str::from_utf8(out.saved.stored.as_deref().expect("changed")).expect("utf-8"),
    )
    .expect("the component's record opens natively");
    assert_eq!(back.revision(), n.rec.revision() + 1);
    // Natively, the same code is now a replay: the component recorded the step.
    let mut audit = Vec::new();
    let mut back = back;
    assert_eq!(
        n.engine
            .verify(&mut back, None, &totp_now(&secret, t), t, &mut audit),
        Err(core::Error::Replay)
    );
}

/// App passwords: create, use, scope, limit, delete; same answers as native.
#[test]
fn app_passwords_match_native() {
    let policy = test_policy();
    let (mut c, mut n) = sides("carol@example.com", &policy);
    let req = |name: &str, scopes: &[&str]| host::AppPasswordRequest {
        name: name.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: None,
    };
    let out = c
        .host
        .create_app_password(c.record(), &req("Outlook", &["smtp"]), NOW);
    let (cs, created) = c.apply(out);
    let scopes = vec!["smtp".to_string()];
    let (ns, native_created) =
        n.apply(|e, r, rng, a| e.create_app_password(r, "Outlook", &scopes, None, NOW, rng, a));
    assert_eq!(cs, ns);
    let created = created.expect("created");
    let native_created = native_created.expect("created natively");
    assert!(!format!("{created:?}").contains(created.password.expose()));
    assert_eq!(
        c.host
            .parse_app_password(created.password.expose())
            .expect("parses"),
        created.id
    );

    // Use with and out of scope.
    for (scope, t) in [
        (Some("smtp"), NOW + 100),
        (Some("imap"), NOW + 200),
        (None, NOW + 300),
    ] {
        let out = c
            .host
            .verify_app_password(c.record(), created.password.expose(), scope, t);
        let (cs, _) = c.apply(out);
        let pw = native_created.password.expose().to_string();
        let (ns, _) = n.apply(|e, r, rng, a| e.verify_app_password(r, &pw, scope, t, rng, a));
        assert_eq!(cs, ns, "scope {scope:?}");
    }

    // Duplicate name, then the limit of 3.
    let out = c
        .host
        .create_app_password(c.record(), &req("outlook", &[]), NOW);
    let (cs, _) = c.apply(out);
    assert_eq!(cs.answer, "duplicate_name");
    for name in ["Mail", "Scripts", "One too many"] {
        let out = c.host.create_app_password(c.record(), &req(name, &[]), NOW);
        let (cs, _) = c.apply(out);
        let (ns, _) =
            n.apply(|e, r, rng, a| e.create_app_password(r, name, &[], None, NOW, rng, a));
        assert_eq!(cs, ns, "{name}");
    }
    let summary = c.host.summary(c.record(), NOW).expect("summary");
    assert_eq!(summary.app_passwords.len(), 3);

    // The offline credential check agrees.
    let cred = c
        .host
        .app_password_credential(c.record(), &created.id)
        .expect("credential");
    let m = c
        .host
        .verify_app_password_credential(
            &cred,
            created.password.expose(),
            Some("smtp"),
            NOW,
            host::Argon2Params {
                m_kib: policy.argon2.m_kib,
                t: policy.argon2.t,
                p: policy.argon2.p,
            },
        )
        .expect("offline check");
    assert_eq!(m.id, created.id);

    // Delete: it stops working at once.
    let out = c
        .host
        .delete_app_password(c.record(), &created.id, NOW + 400);
    let (cs, _) = c.apply(out);
    let (ns, _) = n.apply(|e, r, _, a| e.delete_app_password(r, &native_created.id, NOW + 400, a));
    assert_eq!(cs, ns);
    let out = c
        .host
        .verify_app_password(c.record(), created.password.expose(), None, NOW + 500);
    let (cs, _) = c.apply(out);
    assert_eq!(cs.answer, "app_password_revoked");
}

/// "Set it up now" with an authenticator app on both sides, remembering the
/// device: the component's device token.
fn remembered_device(c: &mut Comp, n: &mut Native, now: u64) -> host::DeviceToken {
    let out = c.host.begin_authenticator(c.record(), None, now);
    let setup = c.apply(out).1.expect("setup");
    let secret = c
        .host
        .parse_otpauth(setup.uri.expose())
        .expect("uri")
        .secret
        .expose()
        .to_vec();
    let (_, reg) = n.apply(|e, r, rng, a| e.begin_authenticator(r, None, now, rng, a));
    let Some(core::Registration::Authenticator { uri, .. }) = reg else {
        panic!("native registration")
    };
    let n_secret = core::OtpAuthUri::parse(uri.expose())
        .expect("uri")
        .0
        .secret()
        .to_vec();
    let code = totp_now(&secret, now);
    let out = c
        .host
        .finish_registration(c.record(), host::Standing::External, &code, true, now);
    let (cs, registered) = c.apply(out);
    let n_code = totp_now(&n_secret, now);
    let (ns, _) = n.apply(|e, r, rng, a| {
        e.finish_registration(r, core::Standing::External, &n_code, true, now, rng, a)
    });
    assert_eq!(cs, ns);
    registered
        .and_then(|r| r.signed_in)
        .and_then(|s| s.device)
        .expect("a device token")
}

/// Admin operations: same revisions, events and effects as native.
#[test]
fn admin_operations_match_native() {
    let policy = test_policy();
    let (mut c, mut n) = sides("dave@example.com", &policy);
    let out = c
        .host
        .set_mfa_state(c.record(), host::MfaState::Enforced, "root", NOW);
    c.apply(out);
    n.apply(|e, r, _, a| {
        e.set_mfa_state(r, core::MfaState::Enforced, "root", NOW, a);
        Ok(())
    });
    let out = c.host.create_app_password(
        c.record(),
        &host::AppPasswordRequest {
            name: "SMTP relay".into(),
            scopes: vec![],
            expires_at: None,
        },
        NOW,
    );
    c.apply(out);
    n.apply(|e, r, rng, a| e.create_app_password(r, "SMTP relay", &[], None, NOW, rng, a));

    let device = remembered_device(&mut c, &mut n, NOW);
    c.host
        .verify_device_token(c.record(), device.token.expose(), NOW + 1)
        .expect("device token valid");

    let out = c.host.require_reregistration(c.record(), "root", NOW + 10);
    let (cs, _) = c.apply(out);
    let (ns, _) = n.apply(|e, r, _, a| {
        e.require_reregistration(r, "root", NOW + 10, a);
        Ok(())
    });
    assert_eq!(cs, ns);
    assert!(matches!(
        c.host
            .enrollment_check(c.record(), NOW + 10)
            .expect("check"),
        host::NextStep::Reregister(_)
    ));

    let out = c
        .host
        .delete_all_app_passwords(c.record(), "root", NOW + 20);
    let (cs, count) = c.apply(out);
    let (ns, ncount) = n.apply(|e, r, _, a| Ok(e.delete_all_app_passwords(r, "root", NOW + 20, a)));
    assert_eq!(cs, ns);
    assert_eq!(count, Some(1));
    assert_eq!(count, ncount);

    let out = c
        .host
        .restore_remembered_devices(c.record(), "root", NOW + 30);
    let (cs, _) = c.apply(out);
    let (ns, _) = n.apply(|e, r, _, a| {
        e.restore_remembered_devices(r, "root", NOW + 30, a);
        Ok(())
    });
    assert_eq!(cs, ns);
    let err = c
        .host
        .verify_device_token(c.record(), device.token.expose(), NOW + 31)
        .unwrap_err();
    assert_eq!(err.engine().map(|e| e.code()), Some("token_revoked"));

    for (name, op) in [("unlock", 0), ("reset", 1)] {
        let out = if op == 0 {
            c.host.unlock(c.record(), "root", NOW + 40)
        } else {
            c.host.reset_methods(c.record(), "root", NOW + 40)
        };
        let (cs, _) = c.apply(out);
        let (ns, _) = n.apply(|e, r, _, a| {
            if op == 0 {
                e.unlock(r, "root", NOW + 40, a);
            } else {
                e.reset_methods(r, "root", NOW + 40, a);
            }
            Ok(())
        });
        assert_eq!(cs, ns, "{name}");
    }
    let summary = c.host.summary(c.record(), NOW + 40).expect("summary");
    assert!(summary.methods.is_empty());
    assert_eq!(summary.device_epoch, 2);
    let out = c.host.reseal(c.record(), NOW + 50);
    let (cs, resealed) = c.apply(out);
    assert_eq!(cs.answer, "ok");
    assert_eq!(resealed, Some(0));
}

/// Codes by e-mail: sent, wrong, right; the delivery carries the code.
#[test]
fn email_codes_match_native() {
    let policy = test_policy();
    let (mut c, mut n) = sides("erin@example.com", &policy);
    let out = c.host.begin_email(c.record(), "Erin@Personal.example", NOW);
    let (cs, delivery) = c.apply(out);
    let (ns, reg) = n.apply(|e, r, rng, a| e.begin_email(r, "Erin@Personal.example", NOW, rng, a));
    assert_eq!(cs, ns);
    let delivery = delivery.expect("delivery");
    assert_eq!(delivery.destination, "Erin@personal.example");
    assert_eq!(delivery.channel, host::MethodType::Email);
    assert!(delivery.message.expose().contains(delivery.code.expose()));
    assert!(!format!("{delivery:?}").contains(delivery.code.expose()));
    let Some(core::Registration::CodeSent { delivery: nd }) = reg else {
        panic!("native delivery")
    };
    let wrong = if delivery.code.expose() == "111111" || nd.code.expose() == "111111" {
        "222222"
    } else {
        "111111"
    };
    let out = c.host.confirm_registration(c.record(), wrong, NOW + 5);
    let (cs, _) = c.apply(out);
    let (ns, _) = n.apply(|e, r, rng, a| e.confirm_registration(r, wrong, NOW + 5, rng, a));
    assert_eq!(cs, ns);
    let out = c
        .host
        .confirm_registration(c.record(), delivery.code.expose(), NOW + 6);
    let (cs, _) = c.apply(out);
    let code = nd.code.expose().to_string();
    let (ns, _) = n.apply(|e, r, rng, a| e.confirm_registration(r, &code, NOW + 6, rng, a));
    assert_eq!(cs, ns);
    assert_eq!(cs.answer, "ok");

    // Organisation domains are refused, as natively.
    let err = c
        .host
        .parse_email("erin@corp.example", &["corp.example".to_string()])
        .unwrap_err();
    assert_eq!(err.engine().map(|e| e.code()), Some("invalid_input"));
}
