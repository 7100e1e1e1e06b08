//! The admin role: who may administer every user. The engine decides from
//! the caller's session and the record; each test plays an attack (a
//! non-admin's session, a first factor only, a token of another user, a
//! session kept after the role was taken) and shows it fails.

mod common;

use common::{T0, engine, policy, signed_in};
use mfa_core::{Action, AuditKind, Error, FirstFactor, SeededRandom, SignInStep, Standing};

#[test]
fn only_an_admin_with_an_mfa_session_may_administer() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"admin role");
    let (mut boss, boss_in) = signed_in(&e, "boss@example.com", T0, &mut rng);
    let (user, user_in) = signed_in(&e, "user@example.com", T0, &mut rng);
    let boss_session = boss_in.session.expose().to_string();
    let user_session = user_in.session.expose().to_string();

    // Nobody is an admin until an admin (or the bearer token's automation) says so.
    assert!(!boss.is_admin());
    assert_eq!(
        e.authorize(
            &boss,
            Standing::Token(&boss_session),
            Action::Administer,
            T0 + 1
        )
        .unwrap_err(),
        Error::NotAdmin
    );
    let mut audit = Vec::new();
    e.set_admin_role(&mut boss, true, "automation", T0 + 2, &mut audit)
        .unwrap();
    assert!(boss.is_admin());
    let event = audit.last().expect("the role change is audited");
    assert_eq!(event.kind, AuditKind::AdminRoleChanged { admin: true });
    assert_eq!(event.actor.as_deref(), Some("automation"));
    // Giving the role keeps the admin's session.
    let caller = e
        .authorize(
            &boss,
            Standing::Token(&boss_session),
            Action::Administer,
            T0 + 3,
        )
        .expect("an admin with an MFA session administers");
    assert_eq!(caller.user_id, "boss@example.com");

    // A non-admin's session, against their own record or the admin's: refused.
    assert_eq!(
        e.authorize(
            &user,
            Standing::Token(&user_session),
            Action::Administer,
            T0 + 3
        )
        .unwrap_err(),
        Error::NotAdmin
    );
    assert_eq!(
        e.authorize(
            &boss,
            Standing::Token(&user_session),
            Action::Administer,
            T0 + 3
        )
        .unwrap_err(),
        Error::TokenRevoked,
        "another user's token does not borrow the admin's record"
    );

    // The password alone (a sign-in in progress) is not enough.
    let SignInStep::Next(login) = e.start_sign_in(
        &boss,
        FirstFactor::Password,
        None,
        T0 + 4,
        &mut rng,
        &mut Vec::new(),
    ) else {
        panic!("a second factor is due")
    };
    assert_eq!(
        e.authorize(
            &boss,
            Standing::Token(login.token.expose()),
            Action::Administer,
            T0 + 5
        )
        .unwrap_err(),
        Error::MfaRequired
    );
    // Nor is a trusted proxy's word for the first factor.
    assert_eq!(
        e.authorize(&boss, Standing::External, Action::Administer, T0 + 5)
            .unwrap_err(),
        Error::MfaRequired
    );

    // An admin cannot take their own role: another admin must, so the last
    // one cannot lock everyone out. Nothing changes, nothing is audited.
    let before = audit.len();
    assert_eq!(
        e.set_admin_role(&mut boss, false, "boss@example.com", T0 + 6, &mut audit),
        Err(Error::OwnAdminRole)
    );
    assert!(boss.is_admin());
    assert_eq!(audit.len(), before);

    // Taking the role ends the admin's sessions at once: a page left open stops working.
    e.set_admin_role(&mut boss, false, "automation", T0 + 6, &mut audit)
        .unwrap();
    assert_eq!(
        e.authorize(
            &boss,
            Standing::Token(&boss_session),
            Action::Administer,
            T0 + 7
        )
        .unwrap_err(),
        Error::TokenRevoked
    );
    // Signing in again (the remembered device skips the code) gives a
    // session that is no longer an admin's.
    let device = boss_in.device.as_ref().expect("the device was remembered");
    let SignInStep::SignedIn(again) = e.start_sign_in(
        &boss,
        FirstFactor::Password,
        Some(device.token.expose()),
        T0 + 8,
        &mut rng,
        &mut Vec::new(),
    ) else {
        panic!("the remembered device signs in")
    };
    assert_eq!(
        e.authorize(
            &boss,
            Standing::Token(again.session.expose()),
            Action::Administer,
            T0 + 9
        )
        .unwrap_err(),
        Error::NotAdmin
    );
    assert_eq!(Error::NotAdmin.code(), "not_admin");
}
