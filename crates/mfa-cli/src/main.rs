//! `mfa`: a small admin tool over the mfa-wasm engine.
//!
//! Every bad argument gets a clear message and a non-zero exit code. Secrets
//! are printed only where the command exists to show them (a new TOTP secret,
//! a new app password), and read from standard input rather than the command
//! line where possible.
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use mfa_core::{
    Algorithm, AppPasswordCredential, Argon2Params, Engine, Hotp, Keys, OtpAuthUri, OtpKind,
    Policy, RandomSource, Totp, UnixTime, UserRecord,
};

mod time;

/// Command-line admin tool for mfa-wasm.
#[derive(Parser)]
#[command(name = "mfa", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Time-based one-time passwords (RFC 6238).
    #[command(subcommand)]
    Totp(TotpCmd),
    /// Counter-based one-time passwords (RFC 4226).
    #[command(subcommand)]
    Hotp(HotpCmd),
    /// App passwords for clients that cannot do MFA.
    #[command(subcommand, name = "app-password")]
    AppPassword(AppPasswordCmd),
    /// Sealing and signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Inspect an otpauth:// URI (the secret is not printed).
    Otpauth {
        /// The URI, or `-` to read it from standard input.
        uri: String,
    },
}

#[derive(Args)]
struct SecretArgs {
    /// The shared secret in base32 (spaces allowed). Read from standard input when neither this nor --uri is given.
    #[arg(long, conflicts_with = "uri")]
    secret: Option<String>,
    /// An otpauth:// URI carrying the secret and parameters.
    #[arg(long)]
    uri: Option<String>,
    /// HMAC algorithm: SHA1, SHA256 or SHA512 (ignored with --uri).
    #[arg(long, default_value = "SHA1", value_parser = parse_algorithm)]
    algorithm: Algorithm,
    /// Code length, 6 to 8 (ignored with --uri).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(6..=8))]
    digits: u8,
}

#[derive(Subcommand)]
enum TotpCmd {
    /// Create a new 160-bit secret: prints the otpauth URI, the manual key and a QR code.
    New {
        /// Account name shown in the app (e.g. the user's e-mail address).
        #[arg(long)]
        account: String,
        /// Issuer shown in the app.
        #[arg(long, default_value = "mfa-wasm")]
        issuer: String,
        /// HMAC algorithm: SHA1, SHA256 or SHA512.
        #[arg(long, default_value = "SHA1", value_parser = parse_algorithm)]
        algorithm: Algorithm,
        /// Code length, 6 to 8.
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(6..=8))]
        digits: u8,
        /// Seconds per code.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
        period: u32,
        /// Do not draw the QR code.
        #[arg(long)]
        no_qr: bool,
    },
    /// Print the current code.
    Code {
        #[command(flatten)]
        secret: SecretArgs,
        /// Seconds per code (ignored with --uri).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
        period: u32,
        /// Compute the code at this time instead of now (unix seconds or RFC 3339).
        #[arg(long, value_parser = time::parse_instant)]
        time: Option<UnixTime>,
    },
    /// Check a code; exits 0 when it is valid within the window.
    Verify {
        #[command(flatten)]
        secret: SecretArgs,
        /// Seconds per code (ignored with --uri).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
        period: u32,
        /// The code to check.
        #[arg(long)]
        code: String,
        /// Steps accepted either side of now.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=10))]
        window: u8,
        /// Check at this time instead of now (unix seconds or RFC 3339).
        #[arg(long, value_parser = time::parse_instant)]
        time: Option<UnixTime>,
    },
}

#[derive(Subcommand)]
enum HotpCmd {
    /// Print the code for a counter.
    Code {
        #[command(flatten)]
        secret: SecretArgs,
        /// The counter.
        #[arg(long)]
        counter: u64,
    },
    /// Check a code at a counter and the look-ahead window after it.
    Verify {
        #[command(flatten)]
        secret: SecretArgs,
        /// The expected counter.
        #[arg(long)]
        counter: u64,
        /// The code to check.
        #[arg(long)]
        code: String,
        /// Counters accepted after the expected one.
        #[arg(long, default_value_t = 10)]
        look_ahead: u32,
    },
}

#[derive(Subcommand)]
enum AppPasswordCmd {
    /// Generate an app password: prints it once, and a credential line (hash only) for a gateway configuration.
    New {
        /// The user the password belongs to (the Basic-auth user name).
        #[arg(long)]
        user: String,
        /// A name to recognise it by, like "Outlook on my laptop".
        #[arg(long)]
        name: String,
        /// Limit it to a scope (repeatable), e.g. smtp, imap, route:/api.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Expiry: +30d, +12h, unix seconds or RFC 3339.
        #[arg(long, value_parser = time::parse_expiry)]
        expires: Option<time::Expiry>,
        /// argon2id parameters as m_kib,t,p.
        #[arg(long, default_value = "19456,2,1", value_parser = parse_argon2)]
        argon2: Argon2Params,
    },
    /// Check an app password against credential lines; exits 0 when accepted.
    Verify {
        /// File of credential lines as printed by `new` (one JSON object per line, or a JSON array).
        #[arg(long)]
        credentials: PathBuf,
        /// The user name.
        #[arg(long)]
        user: String,
        /// The scope being used, if any.
        #[arg(long)]
        scope: Option<String>,
        /// The password; read from standard input when omitted (keeps it out of shell history).
        #[arg(long)]
        password: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Generate a key file (sealing key + Ed25519 signing key), written with owner-only permissions.
    New {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Add a new active key to a key file; old keys keep working.
    Rotate {
        /// The key file.
        #[arg(long)]
        keys: PathBuf,
        /// Which key to rotate.
        #[arg(long, value_parser = ["sealing", "signing"])]
        kind: String,
    },
    /// Print the public signing keys as a JWKS.
    Jwks {
        /// The key file.
        #[arg(long)]
        keys: PathBuf,
    },
}

/// Operating-system randomness.
struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        // A host whose random source fails cannot create secrets safely: stop.
        if let Err(e) = getrandom::fill(dest) {
            eprintln!("error: the operating system's random source failed: {e}");
            std::process::exit(3);
        }
    }
}

/// A failure with a message for the person at the terminal.
struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 2,
        }
    }
    fn refused(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }
}

impl From<mfa_core::Error> for Failure {
    fn from(e: mfa_core::Error) -> Self {
        Self::usage(e.to_string())
    }
}

fn parse_algorithm(s: &str) -> Result<Algorithm, String> {
    Algorithm::parse(s)
        .ok_or_else(|| format!("unknown algorithm {s:?}; use SHA1, SHA256 or SHA512"))
}

fn parse_argon2(s: &str) -> Result<Argon2Params, String> {
    let parts: Vec<&str> = s.split(',').collect();
    let nums: Result<Vec<u32>, _> = parts.iter().map(|p| p.trim().parse::<u32>()).collect();
    match nums.as_deref() {
        Ok([m, t, p]) => Ok(Argon2Params {
            m_kib: *m,
            t: *t,
            p: *p,
        }),
        _ => Err("expected three numbers m_kib,t,p such as 19456,2,1".into()),
    }
}

fn now() -> UnixTime {
    time::now()
}

fn read_stdin_line(what: &str) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{what}: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::usage(format!("cannot read {what} from standard input: {e}")))?;
    let line = line.trim().to_string();
    if line.is_empty() {
        return Err(Failure::usage(format!(
            "no {what} given (pass it on standard input)"
        )));
    }
    Ok(line)
}

/// Secret bytes and parameters from --secret / --uri / standard input.
struct Resolved {
    secret: Vec<u8>,
    algorithm: Algorithm,
    digits: u8,
    period: Option<u32>,
    counter: Option<u64>,
}

fn resolve(args: SecretArgs) -> Result<Resolved, Failure> {
    if let Some(uri) = args.uri {
        let (parsed, _) = OtpAuthUri::parse(&uri)?;
        let (period, counter) = match parsed.kind {
            OtpKind::Totp { period } => (Some(period), None),
            OtpKind::Hotp { counter } => (None, Some(counter)),
        };
        return Ok(Resolved {
            secret: parsed.secret().to_vec(),
            algorithm: parsed.algorithm,
            digits: parsed.digits,
            period,
            counter,
        });
    }
    let text = match args.secret {
        Some(s) => s,
        None => read_stdin_line("base32 secret")?,
    };
    let uri = format!("otpauth://totp/x?secret={}", text.replace(' ', ""));
    let (parsed, _) = OtpAuthUri::parse(&uri).map_err(|_| {
        Failure::usage("the secret is not valid base32 (letters A-Z and digits 2-7)")
    })?;
    Ok(Resolved {
        secret: parsed.secret().to_vec(),
        algorithm: args.algorithm,
        digits: args.digits,
        period: None,
        counter: None,
    })
}

fn draw_qr(text: &str) -> Result<String, Failure> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| Failure::usage(format!("cannot make a QR code: {e}")))?;
    let width = code.width();
    let colors = code.to_colors();
    let dark = |x: isize, y: isize| -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < width
            && colors[y as usize * width + x as usize] == qrcode::Color::Dark
    };
    // Two rows per line with half blocks, light on dark terminals inverted, quiet zone of 2.
    let mut out = String::new();
    let q = 2isize;
    let mut y = -q;
    while y < width as isize + q {
        for x in -q..width as isize + q {
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => ' ',
                (true, false) => '▄',
                (false, true) => '▀',
                (false, false) => '█',
            });
        }
        out.push('\n');
        y += 2;
    }
    Ok(out)
}

fn run(cli: Cli) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let mut w = |s: String| {
        let _ = writeln!(out, "{s}");
    };
    match cli.command {
        Command::Totp(TotpCmd::New {
            account,
            issuer,
            algorithm,
            digits,
            period,
            no_qr,
        }) => {
            if issuer.contains(':') || account.trim().is_empty() {
                return Err(Failure::usage(
                    "--issuer must not contain ':' and --account must not be empty",
                ));
            }
            let mut secret = [0u8; 20];
            OsRandom.fill(&mut secret);
            let uri = OtpAuthUri::new(
                OtpKind::Totp { period },
                Some(issuer),
                account,
                algorithm,
                digits,
                &secret,
            );
            let text = uri.to_uri();
            w(format!("otpauth URI: {}", text.expose()));
            w(format!("manual key:  {}", uri.secret_base32().expose()));
            if !no_qr {
                w(String::new());
                w(draw_qr(text.expose())?);
            }
        }
        Command::Totp(TotpCmd::Code {
            secret,
            period,
            time,
        }) => {
            let r = resolve(secret)?;
            let params = Totp {
                algorithm: r.algorithm,
                digits: r.digits,
                period: r.period.unwrap_or(period),
            };
            let t = time.unwrap_or_else(now);
            w(mfa_core::totp_code(&r.secret, &params, t)?);
        }
        Command::Totp(TotpCmd::Verify {
            secret,
            period,
            code,
            window,
            time,
        }) => {
            let r = resolve(secret)?;
            let params = Totp {
                algorithm: r.algorithm,
                digits: r.digits,
                period: r.period.unwrap_or(period),
            };
            let t = time.unwrap_or_else(now);
            match mfa_core::check_totp_code(&r.secret, &params, &code, t, window) {
                Ok(m) => w(format!(
                    "valid: time step {} (offset {:+} steps)",
                    m.counter, m.offset
                )),
                Err(e @ mfa_core::Error::MalformedCode { .. }) => return Err(e.into()),
                Err(e) => return Err(Failure::refused(e.to_string())),
            }
        }
        Command::Hotp(HotpCmd::Code { secret, counter }) => {
            let r = resolve(secret)?;
            w(mfa_core::hotp_code(
                &r.secret,
                r.algorithm,
                r.digits,
                counter,
            )?);
        }
        Command::Hotp(HotpCmd::Verify {
            secret,
            counter,
            code,
            look_ahead,
        }) => {
            let r = resolve(secret)?;
            let counter = r.counter.unwrap_or(counter);
            let params = Hotp {
                algorithm: r.algorithm,
                digits: r.digits,
            };
            match mfa_core::check_hotp_code(&r.secret, &params, &code, counter, look_ahead) {
                Ok(m) => w(format!(
                    "valid: counter {} (next expected {})",
                    m.counter,
                    m.counter + 1
                )),
                Err(e @ mfa_core::Error::MalformedCode { .. }) => return Err(e.into()),
                Err(e) => return Err(Failure::refused(e.to_string())),
            }
        }
        Command::AppPassword(AppPasswordCmd::New {
            user,
            name,
            scopes,
            expires,
            argon2,
        }) => {
            if user.is_empty() || user.contains(':') {
                return Err(Failure::usage(
                    "--user must be non-empty and contain no ':' (Basic auth cannot carry it)",
                ));
            }
            let t = now();
            let policy = Policy::builder().argon2(argon2).build()?;
            let mut rng = OsRandom;
            let engine = Engine::new(policy, Keys::generate(&mut rng))?;
            let mut record = UserRecord::new(&user, t);
            let mut audit = Vec::new();
            let expires_at = expires.map(|e| e.resolve(t));
            let created = engine.create_app_password(
                &mut record,
                &name,
                &scopes,
                expires_at,
                t,
                &mut rng,
                &mut audit,
            )?;
            w(format!(
                "app password for {user} ({name}): {}",
                created.password.expose()
            ));
            w(
                "It will not be shown again. Spaces, dashes and capital letters in it are ignored."
                    .into(),
            );
            w("credential line for a gateway configuration (no password inside):".into());
            w(serde_json::to_string(&created.credential)
                .map_err(|e| Failure::usage(e.to_string()))?);
        }
        Command::AppPassword(AppPasswordCmd::Verify {
            credentials,
            user,
            scope,
            password,
        }) => {
            let text = std::fs::read_to_string(&credentials).map_err(|e| {
                Failure::usage(format!("cannot read {}: {e}", credentials.display()))
            })?;
            let creds = parse_credentials(&text)?;
            let password = match password {
                Some(p) => p,
                None => read_stdin_line("app password")?,
            };
            let parsed = mfa_core::ParsedAppPassword::parse(&password)
                .map_err(|e| Failure::refused(e.to_string()))?;
            let cred = creds
                .iter()
                .find(|c| c.user == user && c.id == parsed.id)
                .ok_or_else(|| {
                    Failure::refused(format!("no app password with id {} for {user}", parsed.id))
                })?;
            let policy = Argon2Params::default();
            match cred.verify(&password, scope.as_deref(), now(), &policy) {
                Ok(m) => w(format!(
                    "accepted: app password {} of {user}{}",
                    m.id,
                    if m.needs_rehash {
                        " (its hash uses old parameters: create a new one)"
                    } else {
                        ""
                    }
                )),
                Err(e) => return Err(Failure::refused(e.to_string())),
            }
        }
        Command::Keys(KeysCmd::New { out: path, force }) => {
            let keys = Keys::generate(&mut OsRandom);
            write_private(&path, &keys.to_json(), force)?;
            w(format!(
                "wrote {} (sealing key {}, signing key {}); keep it secret",
                path.display(),
                keys.active_sealing_id(),
                keys.active_signing_id()
            ));
        }
        Command::Keys(KeysCmd::Rotate { keys: path, kind }) => {
            let mut keys = read_keys(&path)?;
            let id = if kind == "sealing" {
                keys.rotate_sealing(&mut OsRandom)
            } else {
                keys.rotate_signing(&mut OsRandom)
            };
            write_private(&path, &keys.to_json(), true)?;
            w(format!(
                "new active {kind} key {id} in {}; older keys still work",
                path.display()
            ));
        }
        Command::Keys(KeysCmd::Jwks { keys: path }) => {
            let keys = read_keys(&path)?;
            let engine = Engine::new(Policy::default(), keys)?;
            w(engine.jwks().to_json());
        }
        Command::Otpauth { uri } => {
            let uri = if uri == "-" {
                read_stdin_line("otpauth URI")?
            } else {
                uri
            };
            let (parsed, warnings) = OtpAuthUri::parse(&uri)?;
            match parsed.kind {
                OtpKind::Totp { period } => w(format!("type:      totp (period {period} s)")),
                OtpKind::Hotp { counter } => w(format!("type:      hotp (counter {counter})")),
            }
            w(format!(
                "issuer:    {}",
                parsed.issuer.as_deref().unwrap_or("(none)")
            ));
            w(format!("account:   {}", parsed.account));
            w(format!("algorithm: {}", parsed.algorithm.as_str()));
            w(format!("digits:    {}", parsed.digits));
            w(format!("secret:    {} bits", parsed.secret().len() * 8));
            for warning in warnings {
                w(format!("warning:   {}", describe_warning(&warning)));
            }
        }
    }
    Ok(())
}

fn describe_warning(w: &mfa_core::UriWarning) -> String {
    match w {
        mfa_core::UriWarning::ShortSecret { bits } => {
            format!("the secret has only {bits} bits (at least 128 are required, 160 recommended)")
        }
        mfa_core::UriWarning::IssuerMismatch => {
            "the label's issuer and the issuer parameter differ".into()
        }
        mfa_core::UriWarning::MissingIssuer => {
            "no issuer: apps will show only the account name".into()
        }
        mfa_core::UriWarning::OftenIgnored { parameter } => {
            format!("many authenticator apps ignore a non-default {parameter}")
        }
        mfa_core::UriWarning::UnknownParameter { parameter } => {
            format!("unknown parameter {parameter:?} ignored")
        }
        other => format!("{other:?}"),
    }
}

fn parse_credentials(text: &str) -> Result<Vec<AppPasswordCredential>, Failure> {
    let trimmed = text.trim_start();
    let creds: Vec<AppPasswordCredential> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed).map_err(|e| {
            Failure::usage(format!(
                "credentials file is not a JSON array of credentials: {e}"
            ))
        })?
    } else {
        let mut v = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            v.push(serde_json::from_str(line).map_err(|e| {
                Failure::usage(format!(
                    "credentials line {} is not a credential: {e}",
                    i + 1
                ))
            })?);
        }
        v
    };
    for c in &creds {
        c.validate()
            .map_err(|e| Failure::usage(format!("credential {} of {}: {e}", c.id, c.user)))?;
    }
    Ok(creds)
}

fn read_keys(path: &PathBuf) -> Result<Keys, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read key file {}: {e}", path.display())))?;
    Ok(Keys::from_json(&text)?)
}

fn write_private(path: &PathBuf, contents: &str, force: bool) -> Result<(), Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).mode(0o600);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::usage(format!(
                "{} exists; pass --force to overwrite it",
                path.display()
            ))
        } else {
            Failure::usage(format!("cannot write {}: {e}", path.display()))
        }
    })?;
    f.write_all(contents.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
