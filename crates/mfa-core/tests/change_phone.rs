//! Changing an authentication phone: the new number is proven with a code
//! before the old one goes. What an attacker (or a slip) tries: a code for
//! the old number, a guess, changing a method that is not a phone or not
//! the user's, and walking away halfway (the old phone must keep working).

mod common;

use common::{T0, engine, enrol_totp, policy, wrong_code};
use mfa_core::{
    Delivery, Error, MethodKind, MethodType, PhoneChannel, PhoneNumber, Registration, SeededRandom,
};

fn sent(reg: Registration) -> Delivery {
    match reg {
        Registration::CodeSent { delivery } => delivery,
        Registration::Authenticator { .. } => panic!("a phone gets a code"),
    }
}

#[test]
fn a_changed_phone_is_proven_first_and_keeps_the_default() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"change phone");
    let mut enrolled = enrol_totp(&e, "pat@example.com", T0, &mut rng);
    let app = enrolled.method_id;
    let rec = &mut enrolled.record;
    let mut audit = Vec::new();

    // A first phone, made the default.
    let old_number = PhoneNumber::parse("+44", "07700 900123").unwrap();
    let d = sent(
        e.begin_phone(
            rec,
            old_number,
            PhoneChannel::Text,
            T0 + 10,
            &mut rng,
            &mut audit,
        )
        .unwrap(),
    );
    let old = e
        .confirm_registration(rec, d.code.expose(), T0 + 20, &mut rng, &mut audit)
        .unwrap()
        .method_id;
    e.set_default_method(rec, old, T0 + 25, &mut audit).unwrap();

    // Only a phone of this user can be changed.
    let new_number = PhoneNumber::parse("+44", "07700 900456").unwrap();
    for not_a_phone in [app, 999] {
        assert_eq!(
            e.begin_phone_change(
                rec,
                not_a_phone,
                new_number.clone(),
                PhoneChannel::Text,
                T0 + 30,
                &mut rng,
                &mut audit
            )
            .unwrap_err(),
            Error::UnknownMethod
        );
    }

    // The code goes to the new number; a wrong code changes nothing.
    let d = sent(
        e.begin_phone_change(
            rec,
            old,
            new_number,
            PhoneChannel::Call,
            T0 + 40,
            &mut rng,
            &mut audit,
        )
        .unwrap(),
    );
    assert_eq!(d.destination, "+447700900456");
    assert_eq!(d.channel, MethodType::Call);
    let wrong = wrong_code(d.code.expose(), |c| c == d.code.expose());
    assert_eq!(
        e.confirm_registration(rec, &wrong, T0 + 50, &mut rng, &mut audit)
            .unwrap_err(),
        Error::WrongCode
    );
    let ids: Vec<_> = rec.methods().iter().map(|m| m.id).collect();
    assert_eq!(
        ids,
        vec![app, old],
        "the old phone stays until the new one is proven"
    );

    // The right code: the new phone replaces the old one and is the default.
    let new = e
        .confirm_registration(rec, d.code.expose(), T0 + 60, &mut rng, &mut audit)
        .unwrap()
        .method_id;
    let methods = rec.methods();
    assert_eq!(methods.len(), 2);
    assert!(methods.iter().all(|m| m.id != old), "the old phone is gone");
    let phone = methods.iter().find(|m| m.id == new).unwrap();
    assert_eq!(phone.method_type, MethodType::Call);
    assert!(matches!(&phone.kind, MethodKind::Phone { masked, .. } if masked.ends_with("56")));
    assert_eq!(
        rec.default_method(),
        Some(new),
        "the default stays the default"
    );
    assert!(
        audit
            .iter()
            .any(|a| a.kind == mfa_core::AuditKind::MethodRemoved { method_id: old }),
        "the removal is audited"
    );

    // A change left halfway leaves the phone as it was.
    let d = sent(
        e.begin_phone_change(
            rec,
            new,
            PhoneNumber::parse("+44", "07700 900789").unwrap(),
            PhoneChannel::Text,
            T0 + 70,
            &mut rng,
            &mut audit,
        )
        .unwrap(),
    );
    assert!(!d.code.expose().is_empty());
    let d2 = sent(
        e.begin_phone(
            rec,
            PhoneNumber::parse("+44", "07700 900999").unwrap(),
            PhoneChannel::Text,
            T0 + 80,
            &mut rng,
            &mut audit,
        )
        .unwrap(),
    );
    e.confirm_registration(rec, d2.code.expose(), T0 + 90, &mut rng, &mut audit)
        .unwrap();
    assert!(
        rec.methods().iter().any(|m| m.id == new),
        "a later plain registration does not remove the phone of an abandoned change"
    );
}
