//! `mfa-server`: start the reference server, or manage its key file.
#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    reason = "a command-line program reports on standard output"
)]

use std::path::PathBuf;
use std::process::ExitCode;

use mfa_server::config::{Config, DEMO_DIR, ENV_OVERRIDES};
use mfa_server::{AppState, generate_key_file, retire_signing_key, rotate_key_file};

const USAGE: &str = "\
mfa-server — the mfa-wasm reference server

USAGE:
    mfa-server [--demo] [--config FILE] [--listen ADDR]
    mfa-server keys generate --key-file FILE
    mfa-server keys rotate-signing --key-file FILE
    mfa-server keys rotate-sealing --key-file FILE
    mfa-server keys retire-signing KEY_ID --key-file FILE

OPTIONS:
    --demo           no setup: state in the folder mfa-demo/ (SQLite file, generated
                     keys, compiled-component cache), codes printed
                     to the console, demo user demo@example.com / demo-password
    --config FILE    TOML configuration (see host-examples/server/README.md)
    --listen ADDR    address to listen on (default 127.0.0.1:8080)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mfa-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn take_value(args: &[String], i: &mut usize, flag: &str) -> Result<String, String> {
    *i += 1;
    args.get(*i)
        .cloned()
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn run(args: Vec<String>) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("keys") {
        return keys_command(&args[1..]);
    }
    let mut demo = false;
    let mut config: Option<PathBuf> = None;
    let mut listen: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--demo" => demo = true,
            "--config" => config = Some(PathBuf::from(take_value(&args, &mut i, "--config")?)),
            "--listen" => listen = Some(take_value(&args, &mut i, "--listen")?),
            "-h" | "--help" => {
                println!("{USAGE}\nENVIRONMENT:");
                for (k, v) in ENV_OVERRIDES {
                    println!("    {k:<20} {v}");
                }
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
        }
        i += 1;
    }
    let env = |k: &str| match (k, &listen) {
        ("MFA_LISTEN", Some(l)) => Some(l.clone()),
        _ => std::env::var(k).ok(),
    };
    let cfg = Config::load(config.as_deref(), demo, &env).map_err(|e| e.to_string())?;
    if cfg.demo {
        std::fs::create_dir_all(DEMO_DIR)
            .map_err(|e| format!("cannot create the demo folder {DEMO_DIR}/: {e}"))?;
    }
    init_logging(&cfg);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(serve(cfg))
}

fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log.filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cfg.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(mut cfg: Config) -> Result<(), String> {
    let listen = cfg.listen;
    let demo = cfg.demo;
    let storage = mfa_server::config::redact_url(&cfg.storage.url);
    // Bound first: the demo's passkeys name the port in their origin.
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    cfg.demo_passkeys(addr.port());
    let (state, info) = AppState::start(cfg).await?;
    tracing::info!(%addr, storage = %storage, demo, "mfa-server listening");
    if info.keys_created {
        tracing::info!(file = %state.cfg.keys.file.display(), "created a new key file (mode 0600)");
    }
    if demo {
        println!("mfa-server demo on http://{addr}");
        println!("  storage:     {storage}");
        if storage.contains(DEMO_DIR) || state.cfg.keys.file.starts_with(DEMO_DIR) {
            println!("  state:       {DEMO_DIR}/ (delete the folder to start over)");
        }
        if let Some((u, p)) = &info.demo_user {
            println!(
                "  sign in as:  {u} / {p}  (MFA is enabled: you will be asked to \"Set it up now\")"
            );
        }
        if let Some((u, p)) = &info.demo_admin {
            println!(
                "  admin:       {u} / {p}  (MFA is enforced), admin portal http://{addr}/admin/"
            );
        }
        if let Some(t) = &info.generated_admin_token {
            println!("  admin token: {t}  (Authorization: Bearer …, valid for this run)");
        }
        println!("  codes sent by text, call or e-mail are printed here, marked [DEMO DELIVERY]");
        if let Some(origin) = state
            .cfg
            .policy
            .passkeys
            .as_ref()
            .and_then(|p| p.origins.as_ref()?.first().cloned())
        {
            println!(
                "  passkeys:    open {origin}/ to set up a passkey or security key (they need a name such as localhost, not an IP address)"
            );
        }
        if !state.cfg.widget.dir.is_dir() {
            println!(
                "  widget directory {} not found: only the API is served",
                state.cfg.widget.dir.display()
            );
        }
        println!("  API description: http://{addr}/api/v1/openapi.json");
    } else {
        println!("mfa-server listening on http://{addr}");
    }
    mfa_server::serve(state, listener)
        .await
        .map_err(|e| e.to_string())
}

fn keys_command(args: &[String]) -> Result<(), String> {
    let mut file: Option<PathBuf> = None;
    let mut rest = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--key-file" {
            file = Some(PathBuf::from(take_value(args, &mut i, "--key-file")?));
        } else {
            rest.push(args[i].clone());
        }
        i += 1;
    }
    let file = file.ok_or("--key-file FILE is required")?;
    let component = mfa_server::config::EngineConfig {
        component: std::env::var_os("MFA_COMPONENT_WASM").map(PathBuf::from),
        ..Default::default()
    };
    let wasm = mfa_server::engine::read_component(&component.component_path())?;
    match rest
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate"] => {
            generate_key_file(&file, &wasm)?;
            println!("created {} (mode 0600)", file.display());
        }
        ["rotate-signing"] => {
            let id = rotate_key_file(&file, "signing", &wasm)?;
            println!(
                "new signing key {id} is active; tokens signed by older keys stay valid until they expire. Restart the server, then retire the old key after the session lifetime and remembered-device days have passed."
            );
        }
        ["rotate-sealing"] => {
            let id = rotate_key_file(&file, "sealing", &wasm)?;
            println!(
                "new sealing key {id} is active for new secrets; old keys still open existing ones. Restart the server."
            );
        }
        ["retire-signing", id] => {
            retire_signing_key(&file, id, &wasm)?;
            println!(
                "signing key {id} removed; tokens it signed no longer verify. Restart the server."
            );
        }
        _ => return Err(format!("unknown keys command\n\n{USAGE}")),
    }
    Ok(())
}
