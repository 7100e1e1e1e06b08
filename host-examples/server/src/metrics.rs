//! Prometheus metrics in the text exposition format.
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters and histograms of the server.
#[derive(Default)]
pub struct Metrics {
    verifications: Mutex<BTreeMap<(&'static str, String), u64>>,
    lockouts: Mutex<BTreeMap<String, u64>>,
    app_password_checks: Mutex<BTreeMap<(String, &'static str), u64>>,
    deliveries: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    argon2: Mutex<BTreeMap<&'static str, Histogram>>,
    conflicts: AtomicU64,
    sign_ins: Mutex<BTreeMap<&'static str, u64>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn bump<K: Ord>(m: &Mutex<BTreeMap<K, u64>>, k: K) {
    if let Ok(mut g) = m.lock() {
        *g.entry(k).or_insert(0) += 1;
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// A second-factor verification: method (`authenticator_app`, `text`, `call`, `email`,
    /// `recovery_code`) and outcome (`ok` or the error code).
    pub fn verification(&self, method: &'static str, outcome: &str) {
        bump(&self.verifications, (method, outcome.to_string()));
    }

    /// A factor was locked.
    pub fn lockout(&self, factor: &str) {
        bump(&self.lockouts, factor.to_string());
    }

    /// An app-password check: outcome and whether the cache answered.
    pub fn app_password_check(&self, outcome: &str, cache: &'static str) {
        bump(&self.app_password_checks, (outcome.to_string(), cache));
    }

    /// A delivery attempt's result.
    pub fn delivery(&self, channel: &'static str, ok: bool) {
        bump(
            &self.deliveries,
            (channel, if ok { "ok" } else { "failed" }),
        );
    }

    /// A primary sign-in's result.
    pub fn sign_in(&self, outcome: &'static str) {
        bump(&self.sign_ins, outcome);
    }

    /// Time spent in an operation that hashes with argon2id.
    pub fn argon2(&self, op: &'static str, took: Duration) {
        if let Ok(mut g) = self.argon2.lock() {
            let h = g.entry(op).or_default();
            let s = took.as_secs_f64();
            for (i, b) in BUCKETS.iter().enumerate() {
                if s <= *b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += s;
        }
    }

    /// A compare-and-swap write lost to a concurrent one (and was retried).
    pub fn conflict(&self) {
        self.conflicts.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition; `engine_calls` is the component's call counter.
    pub fn render(&self, engine_calls: u64) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP mfa_engine_calls_total Calls into the engine component (one per user action on the sign-in path)."
        );
        let _ = writeln!(out, "# TYPE mfa_engine_calls_total counter");
        let _ = writeln!(out, "mfa_engine_calls_total {engine_calls}");
        let _ = writeln!(
            out,
            "# HELP mfa_verifications_total Second-factor verifications by method and outcome."
        );
        let _ = writeln!(out, "# TYPE mfa_verifications_total counter");
        if let Ok(g) = self.verifications.lock() {
            for ((m, o), v) in g.iter() {
                let _ = writeln!(
                    out,
                    "mfa_verifications_total{{method=\"{m}\",outcome=\"{}\"}} {v}",
                    esc(o)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP mfa_lockouts_total Factors locked after too many failures."
        );
        let _ = writeln!(out, "# TYPE mfa_lockouts_total counter");
        if let Ok(g) = self.lockouts.lock() {
            for (f, v) in g.iter() {
                let _ = writeln!(out, "mfa_lockouts_total{{factor=\"{}\"}} {v}", esc(f));
            }
        }
        let _ = writeln!(
            out,
            "# HELP mfa_app_password_checks_total App-password checks by outcome and cache use."
        );
        let _ = writeln!(out, "# TYPE mfa_app_password_checks_total counter");
        if let Ok(g) = self.app_password_checks.lock() {
            for ((o, c), v) in g.iter() {
                let _ = writeln!(
                    out,
                    "mfa_app_password_checks_total{{outcome=\"{}\",cache=\"{c}\"}} {v}",
                    esc(o)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP mfa_deliveries_total Code deliveries by channel and result."
        );
        let _ = writeln!(out, "# TYPE mfa_deliveries_total counter");
        if let Ok(g) = self.deliveries.lock() {
            for ((c, r), v) in g.iter() {
                let _ = writeln!(
                    out,
                    "mfa_deliveries_total{{channel=\"{c}\",result=\"{r}\"}} {v}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP mfa_sign_ins_total Primary sign-ins by outcome."
        );
        let _ = writeln!(out, "# TYPE mfa_sign_ins_total counter");
        if let Ok(g) = self.sign_ins.lock() {
            for (o, v) in g.iter() {
                let _ = writeln!(out, "mfa_sign_ins_total{{outcome=\"{o}\"}} {v}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP mfa_argon2_seconds Time of operations that hash with argon2id."
        );
        let _ = writeln!(out, "# TYPE mfa_argon2_seconds histogram");
        if let Ok(g) = self.argon2.lock() {
            for (op, h) in g.iter() {
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "mfa_argon2_seconds_bucket{{op=\"{op}\",le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "mfa_argon2_seconds_bucket{{op=\"{op}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(out, "mfa_argon2_seconds_sum{{op=\"{op}\"}} {}", h.sum);
                let _ = writeln!(out, "mfa_argon2_seconds_count{{op=\"{op}\"}} {}", h.count);
            }
        }
        let _ = writeln!(
            out,
            "# HELP mfa_store_conflicts_total Record writes that lost a compare-and-swap race and were retried."
        );
        let _ = writeln!(out, "# TYPE mfa_store_conflicts_total counter");
        let _ = writeln!(
            out,
            "mfa_store_conflicts_total {}",
            self.conflicts.load(Ordering::Relaxed)
        );
        out
    }
}
