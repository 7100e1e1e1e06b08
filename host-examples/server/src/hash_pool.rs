//! Primary-password hashing on a few dedicated threads.
//!
//! Each argon2id check (done by the engine, `MfaHost::check_password`) needs
//! its memory (19 MiB at the default parameters) and an engine instance. Run
//! on tokio's blocking pool, a burst of sign-ins started one hash per request
//! on up to 512 threads at once. Here a fixed number of worker threads run
//! them, so the memory the hashes take is `workers × m` however many sign-ins
//! arrive; a sign-in that finds every worker busy for two seconds is answered
//! 503 with `Retry-After` instead of queueing without bound.
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::ApiError;

type Job = Box<dyn FnOnce() + Send>;

/// How long a sign-in waits for a free worker before it is told to retry.
const WAIT: Duration = Duration::from_secs(2);

/// The workers and the permits that keep at most one job per worker in flight.
pub struct HashPool {
    jobs: mpsc::Sender<Job>,
    permits: tokio::sync::Semaphore,
    workers: usize,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl HashPool {
    /// Start `workers` threads (at least one).
    pub fn new(workers: usize) -> std::io::Result<Self> {
        let workers = workers.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("mfa-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // the pool was dropped
                        }
                    }
                })?;
        }
        Ok(Self {
            jobs: tx,
            permits: tokio::sync::Semaphore::new(workers),
            workers,
        })
    }

    /// Worker threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Run `f` on a worker.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = match tokio::time::timeout(WAIT, self.permits.acquire()).await {
            Ok(Ok(p)) => p,
            _ => {
                let mut e = ApiError::unavailable(
                    "busy",
                    "the server is checking many passwords at once; try again in a moment",
                );
                e.retry_after = Some(1);
                return Err(e);
            }
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::internal("the password hashing threads stopped"))?;
        let out = rx
            .await
            .map_err(|_| ApiError::internal("password hashing stopped unexpectedly"));
        drop(permit);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_workers() {
        let pool = HashPool::new(2).unwrap();
        let name = || {
            std::thread::current()
                .name()
                .unwrap_or_default()
                .to_string()
        };
        assert!(pool.run(name).await.unwrap().starts_with("mfa-hash-"));
        assert_eq!(pool.run(|| 6 * 7).await.unwrap(), 42);
    }
}
