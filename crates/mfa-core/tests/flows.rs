//! End-to-end flows on user records, as users and admins go through them:
//! "Set it up now", verification, remembered devices, phone and e-mail codes,
//! app passwords, recovery codes and re-registration.
//!
//! Every step stores and loads the record as a host does, checks that an
//! operation that changed it bumped the revision exactly once (and one that
//! did not, not at all), and every flow ends by checking that no secret
//! reached the audit trail.

mod common;

use common::{
    T0, contains_code, engine, enrol_totp, policy, round_trip, secret_of, well_formed_app_password,
};
use mfa_core::{
    Argon2Params, AuditEvent, AuditKind, Delivery, Engine, Error, Factor, MethodKind, MethodType,
    MfaState, NextStep, OtpAuthUri, PhoneChannel, PhoneNumber, Registration, SeededRandom,
    TokenKind, UserRecord, totp_code,
};

/// Run an operation that must change the record: exactly one revision more.
fn changes<T>(rec: &mut UserRecord, op: impl FnOnce(&mut UserRecord) -> T) -> T {
    let before = rec.revision();
    let out = op(rec);
    assert_eq!(
        rec.revision(),
        before + 1,
        "a change must bump the revision exactly once"
    );
    *rec = round_trip(rec);
    out
}

/// Run an operation that must leave the record as it was.
fn unchanged<T>(rec: &mut UserRecord, op: impl FnOnce(&mut UserRecord) -> T) -> T {
    let before = rec.clone();
    let out = op(rec);
    assert_eq!(*rec, before, "the record must not change");
    out
}

/// Secrets seen during a flow; none may appear in the audit trail.
#[derive(Default)]
struct Secrets {
    /// Long secrets: seeds, URIs, passwords, recovery codes, tokens.
    long: Vec<String>,
    /// Digit codes (one-time codes from apps, texts, calls and e-mails).
    codes: Vec<String>,
}

impl Secrets {
    fn seed(&mut self, secret: &[u8], uri: &str, manual_key: &str) {
        let (parsed, _) = OtpAuthUri::parse(uri).unwrap();
        self.long.push(uri.to_string());
        self.long.push(manual_key.to_string());
        self.long.push(manual_key.replace(' ', ""));
        self.long
            .push(parsed.secret_base32().expose().replace(' ', ""));
        self.long
            .push(secret.iter().map(|b| format!("{b:02x}")).collect());
    }

    fn password(&mut self, display: &str) {
        self.long.push(display.to_string());
        self.long.push(display.replace('-', ""));
    }

    fn code(&mut self, code: &str) {
        self.codes.push(code.to_string());
    }

    /// Nothing secret in the serialised audit events (nor in the stored record,
    /// except the codes, which only ever appear there as salted digests).
    fn assert_not_in(&self, audit: &[AuditEvent], rec: &UserRecord) {
        assert!(!audit.is_empty());
        let json = serde_json::to_string(audit).unwrap();
        let debug = format!("{audit:?}");
        let stored = rec.to_json();
        for s in &self.long {
            assert!(!json.contains(s.as_str()), "a secret is in the audit JSON");
            assert!(
                !debug.contains(s.as_str()),
                "a secret is in the audit Debug"
            );
            assert!(!stored.contains(s.as_str()), "a secret is in the record");
        }
        for c in &self.codes {
            assert!(!contains_code(&json, c), "a code is in the audit JSON");
            assert!(!contains_code(&debug, c), "a code is in the audit Debug");
            assert!(!contains_code(&stored, c), "a code is in the record");
        }
    }
}

fn sent(reg: Registration) -> Delivery {
    match reg {
        Registration::CodeSent { delivery } => delivery,
        Registration::Authenticator { .. } => panic!("expected a code to deliver"),
    }
}

/// The delivery carries the code in its message, but its `Debug` hides both.
fn check_delivery(d: &Delivery, channel: MethodType, digits: usize) {
    let code = d.code.expose();
    assert_eq!(d.channel, channel);
    assert_eq!(code.len(), digits);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    let in_message = match channel {
        // The voice call reads the digits one by one.
        MethodType::Call => code
            .chars()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        _ => code.to_string(),
    };
    assert!(
        d.message.expose().contains(&in_message),
        "the message carries the code"
    );
    let debug = format!("{d:?}");
    assert!(
        !contains_code(&debug, code),
        "Debug of a delivery shows the code"
    );
    assert!(!debug.contains(d.message.expose()));
    assert!(debug.contains("redacted"));
}

// ----- authenticator app, sessions and remembered devices ------------------------

#[test]
fn set_it_up_now_with_an_authenticator_then_verify_and_remember_the_device() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"flow: authenticator");
    let mut audit = Vec::new();
    let mut secrets = Secrets::default();
    let admin = "admin@contoso.com";
    let mut rec = UserRecord::new("alice@contoso.com", T0);

    // MFA is off: nothing to do at sign-in.
    assert_eq!(e.enrollment_check(&rec, T0), NextStep::Continue);

    // The admin enables MFA; enabling it again changes nothing.
    changes(&mut rec, |r| {
        e.set_mfa_state(r, MfaState::Enabled, admin, T0, &mut audit)
    });
    unchanged(&mut rec, |r| {
        e.set_mfa_state(r, MfaState::Enabled, admin, T0, &mut audit)
    });
    assert_eq!(rec.state(), MfaState::Enabled);
    assert_eq!(
        e.enrollment_check(&rec, T0),
        NextStep::Register {
            allowed: MethodType::DEFAULT_ALLOWED.to_vec()
        }
    );

    // "Set it up now": the authenticator app.
    let t1 = T0 + 5;
    let reg = changes(&mut rec, |r| {
        e.begin_authenticator(r, Some(" alice@contoso.com "), t1, &mut rng, &mut audit)
    })
    .unwrap();
    let reg_debug = format!("{reg:?}");
    let Registration::Authenticator {
        uri,
        manual_key,
        issuer,
        account,
        expires_at,
    } = reg
    else {
        panic!("an authenticator registration shows a QR code")
    };
    assert_eq!(issuer, "mfa-wasm");
    assert_eq!(account, "alice@contoso.com");
    assert_eq!(expires_at, t1 + 900);
    assert!(
        uri.expose()
            .starts_with("otpauth://totp/mfa-wasm:alice@contoso.com?secret=")
    );
    let secret = secret_of(uri.expose());
    assert_eq!(secret.len(), 20, "new secrets are 160 bits");
    secrets.seed(&secret, uri.expose(), manual_key.expose());
    assert!(!reg_debug.contains(&manual_key.expose().replace(' ', "")));
    assert!(!reg_debug.contains(uri.expose()));
    // Not registered until proven.
    assert!(matches!(
        e.enrollment_check(&rec, t1),
        NextStep::Register { .. }
    ));

    let params = e.policy().totp;
    let code_at = |t: u64| totp_code(&secret, &params, t).unwrap();

    // A mistyped code: refused, counted, and the count is stored.
    let t2 = T0 + 40;
    let right = code_at(t2);
    let wrong = common::wrong_code(&right, |c| {
        let scan = mfa_core::CLOCK_DRIFT_SCAN_STEPS;
        mfa_core::check_totp_code(&secret, &params, c, t2, scan).is_ok()
    });
    secrets.code(&right);
    assert_eq!(
        changes(&mut rec, |r| e
            .confirm_registration(r, &wrong, t2, &mut rng, &mut audit))
        .unwrap_err(),
        Error::WrongCode
    );
    assert_eq!(rec.consecutive_failures(Factor::Authenticator), 1);

    // The right code completes the set-up: recovery codes, state enforced.
    let confirmed = changes(&mut rec, |r| {
        e.confirm_registration(r, &right, t2, &mut rng, &mut audit)
    })
    .unwrap();
    assert_eq!(confirmed.matched.map(|m| m.offset), Some(0));
    let codes = confirmed.recovery_codes.expect("first registration");
    assert_eq!(codes.codes.len(), 10);
    for c in &codes.codes {
        let c = c.expose();
        assert_eq!(c.len(), 14, "xxxx-xxxx-xxxx");
        assert_eq!(c.matches('-').count(), 2);
        secrets.password(c);
    }
    assert_eq!(rec.state(), MfaState::Enforced);
    assert_eq!(rec.consecutive_failures(Factor::Authenticator), 0);
    assert_eq!(rec.recovery_codes_left(), 10);
    let id = confirmed.method_id;
    let methods = rec.methods();
    assert_eq!(methods.len(), 1);
    assert_eq!(methods[0].id, id);
    assert!(methods[0].is_default);
    assert_eq!(methods[0].method_type, MethodType::AuthenticatorApp);
    assert!(matches!(methods[0].kind, MethodKind::Totp { params: p } if p == params));
    assert_eq!(
        e.enrollment_check(&rec, t2),
        NextStep::Verify {
            default: id,
            methods: vec![id],
            recovery_codes: true,
            one_time_pass: false
        }
    );
    // No pending registration is left to confirm.
    assert_eq!(
        unchanged(&mut rec, |r| e
            .confirm_registration(r, &right, t2, &mut rng, &mut audit))
        .unwrap_err(),
        Error::NoPendingRegistration
    );

    // Next sign-in: the code of the moment, with the default method.
    let t3 = T0 + 3600;
    let code = code_at(t3);
    secrets.code(&code);
    let verified = changes(&mut rec, |r| e.verify(r, None, &code, t3, &mut audit)).unwrap();
    assert_eq!(verified.method_id(), Some(id));
    assert_eq!(verified.method_type(), Some(MethodType::AuthenticatorApp));
    assert_eq!(verified.amr(), vec!["otp".to_string()]);
    assert_eq!(rec.methods()[0].last_used_at, Some(t3));
    // The same code again is a replay: refused and audited, but not counted
    // towards the lock, so the record does not change.
    assert_eq!(
        unchanged(&mut rec, |r| e.verify(r, None, &code, t3 + 5, &mut audit)).unwrap_err(),
        Error::Replay
    );

    // The session token verifies, with the engine's keys and with the JWKS alone.
    let session = unchanged(&mut rec, |r| {
        e.issue_session(r, &verified, &["pwd"], t3, &mut rng, &mut audit)
    });
    secrets.long.push(session.clone());
    let claims = e.verify_session(&session, t3 + 1).unwrap();
    assert_eq!(claims.sub, "alice@contoso.com");
    assert_eq!(claims.amr, ["pwd", "otp", "mfa"]);
    assert_eq!(claims.token_use, TokenKind::Session);
    assert_eq!(claims.exp, t3 + 8 * 3600);
    let jwks = mfa_core::Jwks::parse(&e.jwks().to_json()).unwrap();
    assert_eq!(
        jwks.verify(&session, "mfa-wasm", "mfa-wasm", TokenKind::Session, t3 + 1),
        Ok(claims)
    );
    assert_eq!(
        e.verify_session(&session, t3 + 8 * 3600),
        Err(Error::TokenExpired)
    );

    // "Don't ask again on this device".
    let (device, device_exp) = unchanged(&mut rec, |r| {
        e.issue_device_token(r, &verified, t3, &mut rng, &mut audit)
    });
    secrets.long.push(device.clone());
    assert_eq!(device_exp, t3 + 90 * 86_400);
    let later = t3 + 30 * 86_400;
    assert_eq!(
        e.verify_device_token(&rec, &device, later).unwrap().sub,
        "alice@contoso.com"
    );
    assert_eq!(
        e.verify_session(&device, t3 + 1),
        Err(Error::WrongTokenKind)
    );
    assert_eq!(
        e.verify_device_token(&rec, &session, t3 + 1),
        Err(Error::WrongTokenKind)
    );
    let bob = UserRecord::new("bob@contoso.com", T0);
    assert_eq!(
        e.verify_device_token(&bob, &device, later),
        Err(Error::TokenRevoked)
    );

    // The admin restores MFA on all remembered devices: the token stops working.
    changes(&mut rec, |r| {
        e.restore_remembered_devices(r, admin, later, &mut audit)
    });
    assert_eq!(
        e.verify_device_token(&rec, &device, later + 1),
        Err(Error::TokenRevoked)
    );
    // A device remembered after that works; the session token is not affected.
    let (again, _) = e.issue_device_token(&rec, &verified, later + 2, &mut rng, &mut audit);
    assert!(e.verify_device_token(&rec, &again, later + 3).is_ok());
    assert!(e.verify_session(&session, t3 + 60).is_ok());

    let kinds: Vec<&AuditKind> = audit.iter().map(|a| &a.kind).collect();
    for expected in [
        AuditKind::MfaStateChanged {
            from: MfaState::Disabled,
            to: MfaState::Enabled,
        },
        AuditKind::RegistrationStarted,
        AuditKind::MethodAdded { method_id: id },
        AuditKind::Registered,
        AuditKind::RecoveryCodesIssued { count: 10 },
        AuditKind::ReplayRefused,
        AuditKind::SessionIssued,
        AuditKind::RememberedDevicesRestored,
    ] {
        assert!(kinds.contains(&&expected), "missing {expected:?}");
    }
    assert_eq!(
        audit
            .iter()
            .find(|a| a.kind == AuditKind::RememberedDevicesRestored)
            .and_then(|a| a.actor.as_deref()),
        Some(admin)
    );
    secrets.assert_not_in(&audit, &rec);
}

// ----- phone and e-mail --------------------------------------------------------------

#[test]
fn phone_by_text_and_call_and_a_personal_email_register_and_verify() {
    let e = engine(
        policy()
            .organisation_domains(vec!["contoso.com".into()])
            .build()
            .unwrap(),
    );
    let mut rng = SeededRandom::new(b"flow: phone and email");
    let mut audit = Vec::new();
    let mut secrets = Secrets::default();
    let mut rec = UserRecord::new("alice@contoso.com", T0);
    changes(&mut rec, |r| {
        e.set_mfa_state(r, MfaState::Enabled, "admin", T0, &mut audit)
    });

    // Authentication phone, code by text message.
    let number = PhoneNumber::parse("+44", "07700 900123").unwrap();
    let d = sent(
        changes(&mut rec, |r| {
            e.begin_phone(
                r,
                number.clone(),
                PhoneChannel::Text,
                T0,
                &mut rng,
                &mut audit,
            )
        })
        .unwrap(),
    );
    check_delivery(&d, MethodType::Text, 6);
    secrets.code(d.code.expose());
    assert_eq!(d.destination, "+447700900123");
    assert_eq!(d.masked_destination, "+44 ••••••••23");
    assert_eq!(d.expires_at, T0 + 180);
    // A wrong code is counted against the code and the factor.
    let wrong = common::wrong_code(d.code.expose(), |c| c == d.code.expose());
    assert_eq!(
        changes(&mut rec, |r| e.confirm_registration(
            r,
            &wrong,
            T0 + 10,
            &mut rng,
            &mut audit
        ))
        .unwrap_err(),
        Error::WrongCode
    );
    assert_eq!(rec.consecutive_failures(Factor::Phone), 1);
    let text = changes(&mut rec, |r| {
        e.confirm_registration(r, d.code.expose(), T0 + 20, &mut rng, &mut audit)
    })
    .unwrap();
    assert!(text.recovery_codes.is_some());
    assert_eq!(rec.state(), MfaState::Enforced);
    assert_eq!(rec.consecutive_failures(Factor::Phone), 0);
    let m = &rec.methods()[0];
    assert_eq!(m.method_type, MethodType::Text);
    assert_eq!(
        m.kind,
        MethodKind::Phone {
            masked: "+44 ••••••••23".into(),
            channel: PhoneChannel::Text
        }
    );

    // The same phone by voice call: the call reads the digits.
    let d = sent(
        changes(&mut rec, |r| {
            e.begin_phone(r, number, PhoneChannel::Call, T0 + 30, &mut rng, &mut audit)
        })
        .unwrap(),
    );
    check_delivery(&d, MethodType::Call, 6);
    secrets.code(d.code.expose());
    let call = changes(&mut rec, |r| {
        e.confirm_registration(r, d.code.expose(), T0 + 40, &mut rng, &mut audit)
    })
    .unwrap();
    assert!(
        call.recovery_codes.is_none(),
        "recovery codes come with the first method only"
    );

    // An authentication e-mail at the organisation's own domain is refused.
    for own in ["alice@contoso.com", "alice@mail.CONTOSO.com"] {
        let err = unchanged(&mut rec, |r| {
            e.begin_email(r, own, T0 + 50, &mut rng, &mut audit)
        })
        .unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { field: "email", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("personal address"));
    }
    let d = sent(
        changes(&mut rec, |r| {
            e.begin_email(r, " Alice.Home@Example.ORG ", T0 + 60, &mut rng, &mut audit)
        })
        .unwrap(),
    );
    check_delivery(&d, MethodType::Email, 6);
    secrets.code(d.code.expose());
    assert_eq!(d.destination, "Alice.Home@example.org");
    assert_eq!(d.masked_destination, "A•••@example.org");
    assert!(d.subject.contains("verification code"));
    // A resent code replaces the first one.
    let resent = changes(&mut rec, |r| {
        e.resend_registration_code(r, T0 + 70, &mut rng, &mut audit)
    })
    .unwrap();
    secrets.code(resent.code.expose());
    if resent.code.expose() != d.code.expose() {
        assert_eq!(
            changes(&mut rec, |r| e.confirm_registration(
                r,
                d.code.expose(),
                T0 + 75,
                &mut rng,
                &mut audit
            ))
            .unwrap_err(),
            Error::WrongCode
        );
    }
    let email = changes(&mut rec, |r| {
        e.confirm_registration(r, resent.code.expose(), T0 + 80, &mut rng, &mut audit)
    })
    .unwrap();
    let types: Vec<MethodType> = rec.methods().iter().map(|m| m.method_type).collect();
    assert_eq!(
        types,
        [MethodType::Text, MethodType::Call, MethodType::Email]
    );
    assert_eq!(rec.default_method(), Some(text.method_id));

    // Sign-in with each: send, then verify with the delivered code.
    let mut t = T0 + 1000;
    for (id, channel, amr) in [
        (text.method_id, MethodType::Text, "sms"),
        (call.method_id, MethodType::Call, "tel"),
        (email.method_id, MethodType::Email, "otp"),
    ] {
        let d = changes(&mut rec, |r| {
            e.send_code(r, Some(id), t, &mut rng, &mut audit)
        })
        .unwrap();
        check_delivery(&d, channel, 6);
        secrets.code(d.code.expose());
        let v = changes(&mut rec, |r| {
            e.verify(r, Some(id), d.code.expose(), t + 30, &mut audit)
        })
        .unwrap();
        assert_eq!(v.amr(), [amr]);
        assert_eq!(v.method_type(), Some(channel));
        // A sent code works once.
        assert_eq!(
            unchanged(&mut rec, |r| e.verify(
                r,
                Some(id),
                d.code.expose(),
                t + 31,
                &mut audit
            ))
            .unwrap_err(),
            Error::NoActiveCode
        );
        t += 600;
    }

    // A sent code expires.
    let d = changes(&mut rec, |r| e.send_code(r, None, t, &mut rng, &mut audit)).unwrap();
    secrets.code(d.code.expose());
    assert_eq!(
        changes(&mut rec, |r| e.verify(
            r,
            None,
            d.code.expose(),
            t + 180,
            &mut audit
        ))
        .unwrap_err(),
        Error::CodeExpired
    );

    // Five wrong entries use up a sent code: even the right one is refused then.
    t += 600;
    let d = changes(&mut rec, |r| e.send_code(r, None, t, &mut rng, &mut audit)).unwrap();
    secrets.code(d.code.expose());
    let wrong = common::wrong_code(d.code.expose(), |c| c == d.code.expose());
    for i in 1..=5u64 {
        let err = changes(&mut rec, |r| {
            e.verify(r, None, &wrong, t + 10 * i, &mut audit)
        })
        .unwrap_err();
        let want = if i < 5 {
            Error::WrongCode
        } else {
            Error::AttemptsExhausted
        };
        assert_eq!(err, want, "attempt {i}");
        assert_eq!(rec.consecutive_failures(Factor::Phone), i as u32);
    }
    assert_eq!(
        changes(&mut rec, |r| e.verify(
            r,
            None,
            d.code.expose(),
            t + 100,
            &mut audit
        ))
        .unwrap_err(),
        Error::AttemptsExhausted
    );
    // A new code works, and the success resets the counter.
    let d = changes(&mut rec, |r| {
        e.send_code(r, None, t + 110, &mut rng, &mut audit)
    })
    .unwrap();
    secrets.code(d.code.expose());
    changes(&mut rec, |r| {
        e.verify(r, None, d.code.expose(), t + 120, &mut audit)
    })
    .unwrap();
    assert_eq!(rec.consecutive_failures(Factor::Phone), 0);

    // Sending to an authenticator method or to an unknown one is refused.
    assert_eq!(
        unchanged(&mut rec, |r| e.send_code(
            r,
            Some(999),
            t + 130,
            &mut rng,
            &mut audit
        ))
        .unwrap_err(),
        Error::UnknownMethod
    );

    secrets.assert_not_in(&audit, &rec);
}

// ----- app passwords -------------------------------------------------------------------

#[test]
fn app_passwords_from_creation_to_deletion() {
    let e = engine(policy().max_app_passwords(3).build().unwrap());
    let mut rng = SeededRandom::new(b"flow: app passwords");
    let mut secrets = Secrets::default();
    let enrolled = enrol_totp(&e, "alice@contoso.com", T0, &mut rng);
    let mut audit = enrolled.audit.clone();
    let mut rec = enrolled.record.clone();
    let t = T0 + 600;

    // Create: named, generated, shown once.
    let outlook = changes(&mut rec, |r| {
        e.create_app_password(r, "  Outlook 2013 ", &[], None, t, &mut rng, &mut audit)
    })
    .unwrap();
    let password = outlook.password.expose().to_string();
    secrets.password(&password);
    assert_eq!(outlook.name, "Outlook 2013");
    assert_eq!(password.len(), 39, "eight groups of four");
    assert!(password.split('-').all(|g| g.len() == 4));
    assert!(password.starts_with(&outlook.id));
    assert!(!format!("{outlook:?}").contains(&password));
    assert!(
        outlook
            .credential
            .hash
            .starts_with("$argon2id$v=19$m=64,t=1,p=1$")
    );
    assert_eq!(outlook.credential.user, "alice@contoso.com");
    assert!(
        !serde_json::to_string(&outlook.credential)
            .unwrap()
            .contains(&password)
    );
    assert_eq!(
        e.app_password_credential(&rec, &outlook.id).unwrap(),
        outlook.credential
    );
    // A gateway checks the credential offline.
    assert_eq!(
        outlook
            .credential
            .verify(&password, None, t, &Argon2Params::INSECURE_FOR_TESTS)
            .unwrap()
            .id,
        outlook.id
    );

    // Listed by name, created and last used; never the password.
    let list = rec.app_passwords();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, outlook.id);
    assert_eq!(list[0].name, "Outlook 2013");
    assert_eq!(list[0].created_at, t);
    assert_eq!(list[0].last_used_at, None);

    // Verify: records "last used" to the minute.
    let m = changes(&mut rec, |r| {
        e.verify_app_password(r, &password, None, t + 10, &mut rng, &mut audit)
    })
    .unwrap();
    assert_eq!(m.id, outlook.id);
    assert_eq!(m.name, "Outlook 2013");
    assert!(!m.needs_rehash);
    assert_eq!(rec.app_passwords()[0].last_used_at, Some(t + 10));
    unchanged(&mut rec, |r| {
        e.verify_app_password(r, &password, None, t + 40, &mut rng, &mut audit)
    })
    .unwrap();
    // As people type it: capitals, spaces instead of dashes.
    let typed = password.replace('-', " ").to_uppercase();
    changes(&mut rec, |r| {
        e.verify_app_password(r, &typed, None, t + 70, &mut rng, &mut audit)
    })
    .unwrap();
    assert_eq!(rec.app_passwords()[0].last_used_at, Some(t + 70));

    // A typo is refused before any hashing and is not counted.
    let mut typo = password.clone().into_bytes();
    typo[5] = if typo[5] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    assert_eq!(
        unchanged(&mut rec, |r| e.verify_app_password(
            r,
            &typo,
            None,
            t + 80,
            &mut rng,
            &mut audit
        ))
        .unwrap_err(),
        Error::MalformedAppPassword
    );
    assert_eq!(rec.consecutive_failures(Factor::AppPassword), 0);
    // Wrong and unknown app passwords are refused without a lock (security
    // item 5): nothing is counted or stored, and the right one still passes.
    let guess = well_formed_app_password(&outlook.id, &mut rng);
    assert_eq!(
        unchanged(&mut rec, |r| e.verify_app_password(
            r,
            &guess,
            None,
            t + 90,
            &mut rng,
            &mut audit
        ))
        .unwrap_err(),
        Error::WrongAppPassword
    );
    let unknown_id = if outlook.id == "zzzz" { "yyyy" } else { "zzzz" };
    let stranger = well_formed_app_password(unknown_id, &mut rng);
    assert_eq!(
        unchanged(&mut rec, |r| e.verify_app_password(
            r,
            &stranger,
            None,
            t + 100,
            &mut rng,
            &mut audit
        ))
        .unwrap_err(),
        Error::UnknownAppPassword
    );
    assert_eq!(rec.consecutive_failures(Factor::AppPassword), 0);
    changes(&mut rec, |r| {
        e.verify_app_password(r, &password, None, t + 200, &mut rng, &mut audit)
    })
    .unwrap();

    // Scoped and expiring app passwords.
    let smtp = changes(&mut rec, |r| {
        e.create_app_password(
            r,
            "Printer",
            &["smtp".into(), "route:/api".into()],
            Some(t + 3600),
            t,
            &mut rng,
            &mut audit,
        )
    })
    .unwrap();
    secrets.password(smtp.password.expose());
    let pw = smtp.password.expose();
    for allowed in ["smtp", "route:/api", "route:/api/v1"] {
        assert!(
            e.verify_app_password(&mut rec, pw, Some(allowed), t + 300, &mut rng, &mut audit)
                .is_ok(),
            "{allowed}"
        );
    }
    for refused in ["imap", "route:/apix", "route:/"] {
        assert_eq!(
            e.verify_app_password(&mut rec, pw, Some(refused), t + 300, &mut rng, &mut audit),
            Err(Error::OutOfScope {
                scope: refused.into()
            })
        );
    }
    // Unscoped passwords work for any scope.
    assert!(
        e.verify_app_password(
            &mut rec,
            &password,
            Some("imap"),
            t + 300,
            &mut rng,
            &mut audit
        )
        .is_ok()
    );
    assert_eq!(
        e.verify_app_password(&mut rec, pw, Some("smtp"), t + 3600, &mut rng, &mut audit),
        Err(Error::AppPasswordExpired)
    );
    rec = round_trip(&rec);

    // Names are unique (ignoring case) and the number is limited.
    assert_eq!(
        unchanged(&mut rec, |r| e.create_app_password(
            r,
            "OUTLOOK 2013",
            &[],
            None,
            t,
            &mut rng,
            &mut audit
        ))
        .unwrap_err(),
        Error::DuplicateName
    );
    let third = changes(&mut rec, |r| {
        e.create_app_password(r, "Apple Mail", &[], None, t, &mut rng, &mut audit)
    })
    .unwrap();
    secrets.password(third.password.expose());
    assert_eq!(
        unchanged(&mut rec, |r| e.create_app_password(
            r,
            "Thunderbird",
            &[],
            None,
            t,
            &mut rng,
            &mut audit
        ))
        .unwrap_err(),
        Error::AppPasswordLimit { max: 3 }
    );
    for bad in ["", "   ", "tab\there"] {
        assert!(matches!(
            unchanged(&mut rec, |r| e.create_app_password(
                r,
                bad,
                &[],
                None,
                t,
                &mut rng,
                &mut audit
            )),
            Err(Error::InvalidInput { field: "name", .. })
        ));
    }

    // Delete one: it stops working at once and leaves the list.
    changes(&mut rec, |r| {
        e.delete_app_password(r, &outlook.id, t + 400, &mut audit)
    })
    .unwrap();
    assert_eq!(
        unchanged(&mut rec, |r| e.verify_app_password(
            r,
            &password,
            None,
            t + 401,
            &mut rng,
            &mut audit
        ))
        .unwrap_err(),
        Error::AppPasswordRevoked
    );
    assert_eq!(
        unchanged(&mut rec, |r| e.delete_app_password(
            r,
            &outlook.id,
            t + 402,
            &mut audit
        ))
        .unwrap_err(),
        Error::UnknownAppPassword
    );
    assert_eq!(
        e.app_password_credential(&rec, &outlook.id),
        Err(Error::UnknownAppPassword)
    );
    let names: Vec<String> = rec.app_passwords().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["Printer", "Apple Mail"]);
    // The freed place and name can be used again.
    let again = changes(&mut rec, |r| {
        e.create_app_password(r, "Outlook 2013", &[], None, t + 500, &mut rng, &mut audit)
    })
    .unwrap();
    secrets.password(again.password.expose());

    // The admin turns creation off: existing app passwords keep working.
    let no_new = Engine::new(
        policy().app_passwords_allowed(false).build().unwrap(),
        e.keys().clone(),
    )
    .unwrap();
    changes(&mut rec, |r| {
        no_new.delete_app_password(r, &third.id, t + 600, &mut audit)
    })
    .unwrap();
    assert_eq!(
        unchanged(&mut rec, |r| no_new.create_app_password(
            r,
            "Thunderbird",
            &[],
            None,
            t + 600,
            &mut rng,
            &mut audit
        ))
        .unwrap_err(),
        Error::AppPasswordsDisabled
    );
    assert_eq!(
        changes(&mut rec, |r| no_new.verify_app_password(
            r,
            again.password.expose(),
            None,
            t + 700,
            &mut rng,
            &mut audit
        ))
        .unwrap()
        .id,
        again.id
    );

    // The admin deletes all of them.
    let count = changes(&mut rec, |r| {
        e.delete_all_app_passwords(r, "admin", t + 800, &mut audit)
    });
    assert_eq!(count, 2);
    assert!(rec.app_passwords().is_empty());
    for pw in [smtp.password.expose(), again.password.expose()] {
        assert_eq!(
            e.verify_app_password(&mut rec, pw, None, t + 900, &mut rng, &mut audit),
            Err(Error::AppPasswordRevoked)
        );
    }
    assert!(
        audit
            .iter()
            .any(|a| a.kind == AuditKind::AllAppPasswordsDeleted { count: 2 })
    );

    secrets.assert_not_in(&audit, &rec);
}

#[test]
fn a_hash_made_with_old_parameters_is_replaced_on_use() {
    let weak = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"flow: rehash");
    let mut audit = Vec::new();
    let mut rec = UserRecord::new("alice@contoso.com", T0);
    let created = weak
        .create_app_password(&mut rec, "Old", &[], None, T0, &mut rng, &mut audit)
        .unwrap();
    let stronger = Argon2Params {
        m_kib: 128,
        t: 1,
        p: 1,
    };
    let e = Engine::new(
        policy().argon2(stronger).build().unwrap(),
        weak.keys().clone(),
    )
    .unwrap();
    let m = changes(&mut rec, |r| {
        e.verify_app_password(
            r,
            created.password.expose(),
            None,
            T0 + 10,
            &mut rng,
            &mut audit,
        )
    })
    .unwrap();
    assert!(m.needs_rehash);
    let credential = e.app_password_credential(&rec, &created.id).unwrap();
    assert!(credential.hash.starts_with("$argon2id$v=19$m=128,t=1,p=1$"));
    let m = e
        .verify_app_password(
            &mut rec,
            created.password.expose(),
            None,
            T0 + 100,
            &mut rng,
            &mut audit,
        )
        .unwrap();
    assert!(!m.needs_rehash);
}

// ----- recovery codes ---------------------------------------------------------------------

#[test]
fn each_recovery_code_works_once_and_a_new_set_replaces_the_old() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"flow: recovery");
    let mut secrets = Secrets::default();
    let enrolled = enrol_totp(&e, "alice@contoso.com", T0, &mut rng);
    let mut audit = enrolled.audit.clone();
    let mut rec = enrolled.record.clone();
    let codes: Vec<String> = enrolled
        .confirmed
        .recovery_codes
        .as_ref()
        .unwrap()
        .codes
        .iter()
        .map(|c| c.expose().to_string())
        .collect();
    codes.iter().for_each(|c| secrets.password(c));
    let t = T0 + 100;

    let v = changes(&mut rec, |r| {
        e.verify_recovery_code(r, &codes[0], t, &mut audit)
    })
    .unwrap();
    assert_eq!(v.recovery_codes_left(), Some(9));
    assert_eq!(v.method_id(), None);
    assert_eq!(v.amr(), ["otp"]);
    assert_eq!(rec.recovery_codes_left(), 9);
    // Used once: refused after, and the refusal is counted.
    assert_eq!(
        changes(&mut rec, |r| e.verify_recovery_code(
            r,
            &codes[0],
            t + 1,
            &mut audit
        ))
        .unwrap_err(),
        Error::WrongRecoveryCode
    );
    assert_eq!(rec.consecutive_failures(Factor::Recovery), 1);
    // Typed without dashes and in capitals.
    let typed = codes[1].replace('-', "").to_uppercase();
    assert_eq!(
        changes(&mut rec, |r| e.verify_recovery_code(
            r,
            &typed,
            t + 2,
            &mut audit
        ))
        .unwrap()
        .recovery_codes_left(),
        Some(8)
    );
    assert_eq!(rec.consecutive_failures(Factor::Recovery), 0);
    assert_eq!(
        unchanged(&mut rec, |r| e.verify_recovery_code(
            r,
            "not a code",
            t + 3,
            &mut audit
        ))
        .unwrap_err(),
        Error::MalformedRecoveryCode
    );

    // A new set: the unused old codes stop working.
    let fresh = changes(&mut rec, |r| {
        e.regenerate_recovery_codes(r, t + 10, &mut rng, &mut audit)
    })
    .unwrap();
    fresh
        .codes
        .iter()
        .for_each(|c| secrets.password(c.expose()));
    assert_eq!(rec.recovery_codes_left(), 10);
    assert_eq!(
        changes(&mut rec, |r| e.verify_recovery_code(
            r,
            &codes[2],
            t + 11,
            &mut audit
        ))
        .unwrap_err(),
        Error::WrongRecoveryCode
    );
    assert!(
        e.verify_recovery_code(&mut rec, fresh.codes[0].expose(), t + 12, &mut audit)
            .is_ok()
    );

    // Using them all up: sign-in no longer offers recovery codes.
    for c in &fresh.codes[1..] {
        e.verify_recovery_code(&mut rec, c.expose(), t + 20, &mut audit)
            .unwrap();
    }
    assert_eq!(rec.recovery_codes_left(), 0);
    assert!(matches!(
        e.enrollment_check(&rec, t + 30),
        NextStep::Verify {
            recovery_codes: false,
            ..
        }
    ));
    secrets.assert_not_in(&audit, &rec);
}

// ----- re-registration and locks ----------------------------------------------------------

#[test]
fn required_reregistration_replaces_the_old_methods() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"flow: reregistration");
    let mut secrets = Secrets::default();
    let enrolled = enrol_totp(&e, "alice@contoso.com", T0, &mut rng);
    let mut audit = enrolled.audit.clone();
    let mut rec = enrolled.record.clone();
    let old_id = enrolled.method_id;
    // A phone too.
    let d = sent(
        e.begin_phone(
            &mut rec,
            PhoneNumber::parse_e164("+14255550123").unwrap(),
            PhoneChannel::Text,
            T0 + 10,
            &mut rng,
            &mut audit,
        )
        .unwrap(),
    );
    secrets.code(d.code.expose());
    e.confirm_registration(&mut rec, d.code.expose(), T0 + 20, &mut rng, &mut audit)
        .unwrap();
    assert_eq!(rec.methods().len(), 2);

    let t = T0 + 86_400;
    changes(&mut rec, |r| {
        e.require_reregistration(r, "admin", t, &mut audit)
    });
    assert!(rec.must_reregister());
    assert_eq!(
        e.enrollment_check(&rec, t + 1),
        NextStep::Reregister {
            allowed: MethodType::DEFAULT_ALLOWED.to_vec()
        }
    );

    let Registration::Authenticator {
        uri, manual_key, ..
    } = changes(&mut rec, |r| {
        e.begin_authenticator(r, None, t + 10, &mut rng, &mut audit)
    })
    .unwrap()
    else {
        panic!("an authenticator registration shows a QR code")
    };
    let secret = secret_of(uri.expose());
    secrets.seed(&secret, uri.expose(), manual_key.expose());
    let params = e.policy().totp;
    let code = totp_code(&secret, &params, t + 20).unwrap();
    secrets.code(&code);
    let confirmed = changes(&mut rec, |r| {
        e.confirm_registration(r, &code, t + 20, &mut rng, &mut audit)
    })
    .unwrap();
    assert!(!rec.must_reregister());
    let methods = rec.methods();
    assert_eq!(methods.len(), 1, "the old methods are gone");
    assert_eq!(methods[0].id, confirmed.method_id);
    assert_ne!(confirmed.method_id, old_id);
    assert_eq!(rec.default_method(), Some(confirmed.method_id));
    assert_eq!(
        e.enrollment_check(&rec, t + 30),
        NextStep::Verify {
            default: confirmed.method_id,
            methods: vec![confirmed.method_id],
            recovery_codes: true,
            one_time_pass: false
        }
    );
    // The old app's codes no longer work.
    let old_code = enrolled.code_at(t + 60);
    secrets.code(&old_code);
    assert_eq!(
        unchanged(&mut rec, |r| e.verify(
            r,
            Some(old_id),
            &old_code,
            t + 60,
            &mut audit
        ))
        .unwrap_err(),
        Error::UnknownMethod
    );
    if old_code != totp_code(&secret, &params, t + 60).unwrap() {
        assert_eq!(
            changes(&mut rec, |r| e.verify(
                r,
                None,
                &old_code,
                t + 60,
                &mut audit
            ))
            .unwrap_err(),
            Error::WrongCode
        );
    }
    let removed: Vec<&AuditKind> = audit
        .iter()
        .map(|a| &a.kind)
        .filter(|k| matches!(k, AuditKind::MethodRemoved { .. }))
        .collect();
    assert_eq!(removed.len(), 2);
    secrets.assert_not_in(&audit, &rec);
}

#[test]
fn a_locked_user_is_told_when_and_the_admin_can_unlock() {
    let e = engine(
        policy()
            .lockout_threshold(3)
            .free_failures(10)
            .build()
            .unwrap(),
    );
    let mut rng = SeededRandom::new(b"flow: lock");
    let enrolled = enrol_totp(&e, "alice@contoso.com", T0, &mut rng);
    let mut audit = Vec::new();
    let mut rec = enrolled.record.clone();
    let t = T0 + 300;
    for i in 0..3 {
        let err =
            changes(&mut rec, |r| e.verify(r, None, "000000", t + i, &mut audit)).unwrap_err();
        // "000000" is not the code of any of these steps with this seed.
        assert_eq!(err, Error::WrongCode);
    }
    let until = t + 2 + 900;
    assert_eq!(
        e.enrollment_check(&rec, t + 10),
        NextStep::Verify {
            default: enrolled.method_id,
            methods: vec![],
            recovery_codes: true,
            one_time_pass: false
        }
    );
    assert_eq!(
        unchanged(&mut rec, |r| e.verify(
            r,
            None,
            &enrolled.code_at(t + 30),
            t + 30,
            &mut audit
        ))
        .unwrap_err(),
        Error::Locked { until }
    );
    assert!(audit.iter().any(|a| a.kind
        == AuditKind::Locked {
            factor: Factor::Authenticator,
            until
        }));
    changes(&mut rec, |r| e.unlock(r, "admin", t + 40, &mut audit));
    assert!(
        changes(&mut rec, |r| e.verify(
            r,
            None,
            &enrolled.code_at(t + 60),
            t + 60,
            &mut audit
        ))
        .is_ok()
    );
    // Without an admin, the lock ends by itself.
    for i in 0..3 {
        let _ = e.verify(&mut rec, None, "000000", t + 100 + i, &mut audit);
    }
    assert!(rec.locked_until(Factor::Authenticator, t + 200).is_some());
    assert!(
        e.verify(
            &mut rec,
            None,
            &enrolled.code_at(t + 102 + 900),
            t + 102 + 900,
            &mut audit
        )
        .is_ok()
    );
}

/// "Set it up now" with a phone whose clock is off: the engine says how far,
/// for a person to fix the clock; each such code counts as a wrong one, and
/// the back-off applies as to any wrong code.
#[test]
fn registration_explains_a_phone_clock_that_is_off() {
    let e = common::engine(common::policy().build().unwrap());
    let mut rng = SeededRandom::new(b"clock drift");
    let mut audit = Vec::new();
    let mut rec = UserRecord::new("dana@contoso.com", T0);
    e.set_mfa_state(&mut rec, MfaState::Enabled, "admin", T0, &mut audit);
    let Registration::Authenticator { uri, .. } = e
        .begin_authenticator(&mut rec, None, T0, &mut rng, &mut audit)
        .unwrap()
    else {
        panic!("an authenticator registration shows a QR code")
    };
    let secret = secret_of(uri.expose());
    let params = e.policy().totp;
    let code_at = |t: u64| totp_code(&secret, &params, t).unwrap();
    let now = T0 + 60;

    let behind = e
        .confirm_registration(&mut rec, &code_at(now - 120), now, &mut rng, &mut audit)
        .unwrap_err();
    assert_eq!(behind, Error::ClockDrift { offset_secs: -120 });
    assert_eq!(behind.code(), "clock_drift");
    assert!(
        behind.to_string().contains("about 2 min behind"),
        "{behind}"
    );
    assert_eq!(rec.consecutive_failures(Factor::Authenticator), 1);

    let ahead = e
        .confirm_registration(
            &mut rec,
            &code_at(now + 30 + 180),
            now + 30,
            &mut rng,
            &mut audit,
        )
        .unwrap_err();
    assert_eq!(ahead, Error::ClockDrift { offset_secs: 180 });
    assert!(ahead.to_string().contains("about 3 min ahead"), "{ahead}");
    assert_eq!(rec.consecutive_failures(Factor::Authenticator), 2);

    // Eleven steps away is beyond the scan: only wrong.
    let at = now + 60;
    let far = code_at(at - 30 * 11);
    let scan = mfa_core::CLOCK_DRIFT_SCAN_STEPS;
    assert!(
        mfa_core::check_totp_code(&secret, &params, &far, at, scan).is_err(),
        "the code of eleven steps ago matches no step of the scan"
    );
    assert_eq!(
        e.confirm_registration(&mut rec, &far, at, &mut rng, &mut audit)
            .unwrap_err(),
        Error::WrongCode
    );
    assert_eq!(rec.consecutive_failures(Factor::Authenticator), 3);

    // Past the free failures the back-off applies to drifted codes too.
    let fourth = e
        .confirm_registration(&mut rec, &code_at(at - 120), at, &mut rng, &mut audit)
        .unwrap_err();
    assert_eq!(fourth, Error::ClockDrift { offset_secs: -120 });
    assert!(matches!(
        e.confirm_registration(&mut rec, &code_at(at - 120), at, &mut rng, &mut audit)
            .unwrap_err(),
        Error::RetryLater { .. }
    ));
    // The clock fixed: the code of the moment sets it up.
    let later = at + 600;
    let ok = e
        .confirm_registration(&mut rec, &code_at(later), later, &mut rng, &mut audit)
        .unwrap();
    assert_eq!(ok.matched.map(|m| m.offset), Some(0));
    assert_eq!(rec.consecutive_failures(Factor::Authenticator), 0);
}

#[test]
fn the_last_usable_method_is_not_removed_while_mfa_is_on() {
    let e = common::engine(common::policy().build().unwrap());
    let mut rng = SeededRandom::new(b"last method");
    let mut enrolled = enrol_totp(&e, "erin@contoso.com", T0, &mut rng);
    let app = enrolled.method_id;
    let rec = &mut enrolled.record;
    let mut audit = Vec::new();

    // The only method: refused, nothing changes, the message says what to do.
    let err = unchanged(rec, |r| e.remove_method(r, app, T0 + 10, &mut audit)).unwrap_err();
    assert_eq!(err, Error::LastMethod);
    assert_eq!(err.code(), "last_method");
    assert!(err.to_string().contains("add another one"), "{err}");

    // With a second method either may go, and the other stays the default.
    let d = sent(
        e.begin_email(rec, "erin@home.example.net", T0 + 20, &mut rng, &mut audit)
            .unwrap(),
    );
    let email = e
        .confirm_registration(rec, d.code.expose(), T0 + 21, &mut rng, &mut audit)
        .unwrap()
        .method_id;
    changes(rec, |r| e.remove_method(r, app, T0 + 30, &mut audit)).unwrap();
    assert_eq!(rec.default_method(), Some(email));
    assert_eq!(
        unchanged(rec, |r| e.remove_method(r, email, T0 + 40, &mut audit)).unwrap_err(),
        Error::LastMethod
    );

    // A method the policy no longer allows does not count as a replacement.
    let no_email = common::engine(
        common::policy()
            .allowed_methods(vec![MethodType::AuthenticatorApp])
            .build()
            .unwrap(),
    );
    let mut two = enrol_totp(&no_email, "finn@contoso.com", T0, &mut rng);
    let d = sent(
        e.begin_email(
            &mut two.record,
            "finn@home.example.net",
            T0 + 20,
            &mut rng,
            &mut audit,
        )
        .unwrap(),
    );
    let finn_email = e
        .confirm_registration(
            &mut two.record,
            d.code.expose(),
            T0 + 21,
            &mut rng,
            &mut audit,
        )
        .unwrap()
        .method_id;
    assert_eq!(
        no_email
            .remove_method(&mut two.record, two.method_id, T0 + 30, &mut audit)
            .unwrap_err(),
        Error::LastMethod,
        "the e-mail method cannot sign in under this policy"
    );
    // The unusable one itself may go.
    no_email
        .remove_method(&mut two.record, finn_email, T0 + 31, &mut audit)
        .unwrap();

    // With MFA off, the user may remove everything.
    e.set_mfa_state(rec, MfaState::Disabled, "admin", T0 + 50, &mut audit);
    changes(rec, |r| e.remove_method(r, email, T0 + 60, &mut audit)).unwrap();
    assert!(rec.methods().is_empty());
}
