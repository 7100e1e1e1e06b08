//! The `mfa` command as a person uses it: outputs, exit codes and messages.
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn mfa(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mfa starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("mfa finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// RFC 6238 Appendix B, SHA1 seed "12345678901234567890" in base32.
const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

#[test]
fn totp_code_matches_rfc6238_appendix_b() {
    let o = mfa(
        &[
            "totp",
            "code",
            "--secret",
            RFC_SECRET,
            "--digits",
            "8",
            "--time",
            "1111111109",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "07081804");
    let o = mfa(
        &[
            "totp",
            "code",
            "--digits",
            "8",
            "--time",
            "2005-03-18T01:58:29Z",
        ],
        Some(RFC_SECRET),
    );
    assert_eq!(
        stdout(&o).trim(),
        "07081804",
        "secret from stdin, RFC 3339 time"
    );
}

#[test]
fn totp_verify_reports_the_step_and_refuses_bad_codes() {
    let ok = mfa(
        &[
            "totp", "verify", "--secret", RFC_SECRET, "--time", "89", "--code", "287082",
        ],
        None,
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(
        stdout(&ok).contains("time step 1 (offset -1 steps)"),
        "{}",
        stdout(&ok)
    );
    let wrong = mfa(
        &[
            "totp", "verify", "--secret", RFC_SECRET, "--time", "89", "--code", "287083",
        ],
        None,
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stderr(&wrong).contains("the code is not correct"));
    let malformed = mfa(
        &["totp", "verify", "--secret", RFC_SECRET, "--code", "12ab56"],
        None,
    );
    assert_eq!(malformed.status.code(), Some(2));
    assert!(stderr(&malformed).contains("must be 6 digits"));
}

#[test]
fn totp_new_prints_a_uri_that_round_trips() {
    let o = mfa(
        &[
            "totp",
            "new",
            "--account",
            "alice@contoso.com",
            "--issuer",
            "Contoso",
            "--no-qr",
        ],
        None,
    );
    assert!(o.status.success());
    let out = stdout(&o);
    let uri = out
        .lines()
        .find_map(|l| l.strip_prefix("otpauth URI: "))
        .expect("uri line");
    assert!(uri.starts_with("otpauth://totp/Contoso:alice@contoso.com?secret="));
    let code = mfa(&["totp", "code", "--uri", uri, "--time", "1000"], None);
    let check = mfa(
        &[
            "totp",
            "verify",
            "--uri",
            uri,
            "--time",
            "1000",
            "--code",
            stdout(&code).trim(),
        ],
        None,
    );
    assert!(check.status.success(), "{}", stderr(&check));
    let inspect = mfa(&["otpauth", uri], None);
    assert!(stdout(&inspect).contains("secret:    160 bits"));
    assert!(
        !stdout(&inspect).contains(
            uri.split("secret=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
        )
    );
}

#[test]
fn hotp_code_matches_rfc4226_appendix_d() {
    let o = mfa(
        &["hotp", "code", "--secret", RFC_SECRET, "--counter", "9"],
        None,
    );
    assert_eq!(stdout(&o).trim(), "520489");
    let v = mfa(
        &[
            "hotp",
            "verify",
            "--secret",
            RFC_SECRET,
            "--counter",
            "3",
            "--code",
            "520489",
        ],
        None,
    );
    assert!(
        stdout(&v).contains("counter 9 (next expected 10)"),
        "{}",
        stderr(&v)
    );
}

#[test]
fn app_password_new_then_verify_with_the_credential_line() {
    let dir = std::env::temp_dir().join(format!("mfa-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let o = mfa(
        &[
            "app-password",
            "new",
            "--user",
            "alice",
            "--name",
            "Outlook",
            "--scope",
            "smtp",
            "--argon2",
            "64,1,1",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let password = out
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    let cred = out.lines().last().unwrap();
    assert!(
        !cred.contains(&password),
        "the credential line must not contain the password"
    );
    let creds = dir.join("creds.jsonl");
    std::fs::write(&creds, format!("{cred}\n")).unwrap();
    let creds = creds.to_str().unwrap();
    let ok = mfa(
        &[
            "app-password",
            "verify",
            "--credentials",
            creds,
            "--user",
            "alice",
            "--scope",
            "smtp",
        ],
        Some(&password),
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    let typed = password.replace('-', " ").to_uppercase();
    let ok2 = mfa(
        &[
            "app-password",
            "verify",
            "--credentials",
            creds,
            "--user",
            "alice",
            "--scope",
            "smtp",
            "--password",
            &typed,
        ],
        None,
    );
    assert!(
        ok2.status.success(),
        "spaces and capitals are ignored: {}",
        stderr(&ok2)
    );
    // A scoped password does not pass a check that names no scope.
    let unscoped = mfa(
        &[
            "app-password",
            "verify",
            "--credentials",
            creds,
            "--user",
            "alice",
        ],
        Some(&password),
    );
    assert_eq!(unscoped.status.code(), Some(1));
    assert!(
        stderr(&unscoped).contains("limited to its scopes"),
        "{}",
        stderr(&unscoped)
    );
    let scope = mfa(
        &[
            "app-password",
            "verify",
            "--credentials",
            creds,
            "--user",
            "alice",
            "--scope",
            "imap",
        ],
        Some(&password),
    );
    assert_eq!(scope.status.code(), Some(1));
    assert!(stderr(&scope).contains("may not be used for \"imap\""));
    let garbage = mfa(
        &[
            "app-password",
            "verify",
            "--credentials",
            creds,
            "--user",
            "alice",
        ],
        Some("hunter2"),
    );
    assert_eq!(garbage.status.code(), Some(1));
    assert!(stderr(&garbage).contains("not an app password generated by the system"));
    let bad_user = mfa(
        &["app-password", "new", "--user", "a:b", "--name", "x"],
        None,
    );
    assert_eq!(bad_user.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn keys_are_written_private_and_rotate() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("mfa-cli-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keys.json");
    let p = path.to_str().unwrap();
    assert!(mfa(&["keys", "new", "--out", p], None).status.success());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let again = mfa(&["keys", "new", "--out", p], None);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("pass --force"));
    assert!(
        mfa(&["keys", "rotate", "--keys", p, "--kind", "signing"], None)
            .status
            .success()
    );
    let jwks = stdout(&mfa(&["keys", "jwks", "--keys", p], None));
    let v: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    assert_eq!(
        v["keys"].as_array().unwrap().len(),
        2,
        "old and new signing keys are published"
    );
    assert!(
        !jwks.contains("\"d\""),
        "no private key material in the JWKS"
    );
    std::fs::write(&path, "{}").unwrap();
    let broken = mfa(&["keys", "jwks", "--keys", p], None);
    assert_eq!(broken.status.code(), Some(2));
    assert!(stderr(&broken).contains("invalid keys"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_arguments_get_a_message_and_non_zero_exit() {
    let o = mfa(
        &["totp", "code", "--secret", RFC_SECRET, "--digits", "9"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    let o = mfa(
        &["totp", "code", "--secret", RFC_SECRET, "--algorithm", "MD5"],
        None,
    );
    assert!(stderr(&o).contains("use SHA1, SHA256 or SHA512"));
    let o = mfa(
        &[
            "app-password",
            "new",
            "--user",
            "a",
            "--name",
            "x",
            "--expires",
            "+3w",
        ],
        None,
    );
    assert!(stderr(&o).contains("unit must be d, h or m"));
    let o = mfa(&["otpauth", "http://example.com"], None);
    assert!(stderr(&o).contains("must start with otpauth://"));
}
