//! The two threads of remote write: one collects every interval (the read path, then
//! [`RwEncoder`]) into the bounded queue, the other sends what is queued, oldest first,
//! retrying with backoff. Neither is ever waited on by a monitored call: calls write
//! their own static storage, which the collector only reads. A receiver that is down or
//! slow holds up the sender alone; the collector goes on, and the queue drops the
//! oldest pushes.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::config::Config;
use super::encode::{self, Request};
use super::queue::Queue;
use super::stats::{STATS, add};
use crate::error::Error;

/// How long dropping the guard waits, in total, for the last push to be sent.
const FLUSH_WAIT: Duration = Duration::from_secs(5);
/// First wait before a retry, doubled for each next one up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const USER_AGENT: &str = concat!("flext-observability/", env!("CARGO_PKG_VERSION"));

/// Remote write, running; dropping it sends the last push (within [`FLUSH_WAIT`]).
pub(crate) struct Worker {
    stop: Arc<Stop>,
    queue: Arc<Queue>,
    collector: Option<JoinHandle<()>>,
    /// Signalled when the sender ends (a `Mutex` only to make the worker `Sync`).
    sent: Option<Mutex<mpsc::Receiver<()>>>,
    shown: String,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteWrite")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

/// The stop signal, and by when the sender must be done once it is given.
#[derive(Default)]
struct Stop {
    deadline: Mutex<Option<Instant>>,
    changed: Condvar,
}

impl Stop {
    fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps until `until` or the stop; whether it stopped.
    fn sleep_until(&self, until: Instant) -> bool {
        let mut deadline = self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
        while deadline.is_none() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            deadline = self
                .changed
                .wait_timeout(deadline, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

impl Worker {
    pub(crate) fn start(config: Config) -> Result<Worker, Error> {
        let config = Arc::new(config);
        let stop = Arc::new(Stop::default());
        let queue = Arc::new(Queue::new(config.queue));
        STATS.started.store(true, Ordering::Release);
        let (done, sent) = mpsc::channel();
        let sender = {
            let (config, queue, stop) = (config.clone(), queue.clone(), stop.clone());
            std::thread::Builder::new()
                .name("flext-obs-rw-send".into())
                .spawn(move || {
                    send_loop(&config, &queue, &stop);
                    let _ = done.send(());
                })
                .map_err(Error::Spawn)?
        };
        // Detached: the guard waits for it through `sent`, at most `FLUSH_WAIT`.
        drop(sender);
        let collector = {
            let (config, queue, stop) = (config.clone(), queue.clone(), stop.clone());
            std::thread::Builder::new()
                .name("flext-obs-rw-collect".into())
                .spawn(move || collect_loop(&config, &queue, &stop))
                .map_err(Error::Spawn)?
        };
        Ok(Worker {
            stop,
            queue,
            collector: Some(collector),
            sent: Some(Mutex::new(sent)),
            shown: config.shown.clone(),
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let deadline = Instant::now() + FLUSH_WAIT;
        *self
            .stop
            .deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(deadline);
        self.stop.changed.notify_all();
        // The collector makes the last push (a collection: milliseconds), then the
        // queue closes and the sender ends once it is sent or the deadline passes.
        if let Some(collector) = self.collector.take() {
            let _ = collector.join();
        }
        self.queue.close();
        if let Some(sent) = self.sent.take()
            && sent
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)
                .recv_timeout(deadline.saturating_duration_since(Instant::now()) + MIN_BACKOFF)
                .is_err()
        {
            // The sender is inside a request that outlives the deadline: what is still
            // queued will not be sent.
            add(&STATS.shutdown, self.queue.clear());
        }
    }
}

fn collect_loop(config: &Config, queue: &Queue, stop: &Stop) {
    // The embedded server and OTLP threads opt out of the subscriber the same way: the
    // collector's own work is no part of the application's traces.
    let _quiet = tracing::dispatcher::set_default(&tracing::Dispatch::none());
    let mut next = Instant::now() + config.interval;
    loop {
        let stopping = stop.sleep_until(next);
        queue.push(collect(config));
        if stopping {
            return;
        }
        next += config.interval;
        let now = Instant::now();
        if next < now {
            // A collection took longer than the interval: skip, rather than catch up.
            next = now + config.interval;
        }
    }
}

/// Everything registered, as remote write requests.
fn collect(config: &Config) -> Vec<Request> {
    encode::push(&config.external, now_ms()).0
}

/// Milliseconds since 1970, the timestamp of a push.
pub(super) fn now_ms() -> i64 {
    i64::try_from(crate::clock::unix_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn send_loop(config: &Config, queue: &Queue, stop: &Stop) {
    let _quiet = tracing::dispatcher::set_default(&tracing::Dispatch::none());
    let mut failing = false;
    while let Some(request) = queue.next(stop.deadline()) {
        match send(config, &request, stop, &mut failing) {
            Sent::Yes => {
                add(&STATS.samples, request.samples);
                STATS
                    .last_success_ms
                    .store(crate::clock::unix_nanos() / 1_000_000, Ordering::Relaxed);
            }
            Sent::Rejected => add(&STATS.rejected, request.samples),
            Sent::Stopped => {
                add(&STATS.shutdown, request.samples);
                break;
            }
        }
    }
    if stop.deadline().is_some() {
        add(&STATS.shutdown, queue.clear());
    }
}

enum Sent {
    Yes,
    /// A `4xx` other than `429`: sending it again would get the same answer.
    Rejected,
    /// Remote write stopped, and its flush wait ran out.
    Stopped,
}

/// Sends one request until it is accepted or rejected, or remote write stops.
fn send(config: &Config, request: &Request, stop: &Stop, failing: &mut bool) -> Sent {
    let mut wait = MIN_BACKOFF;
    loop {
        let deadline = stop.deadline();
        let timeout = match deadline {
            Some(d) => config
                .timeout
                .min(d.saturating_duration_since(Instant::now())),
            None => config.timeout,
        };
        if timeout.is_zero() {
            return Sent::Stopped;
        }
        let failure = match attempt(config, &request.body, timeout) {
            Ok((status, _)) if (200..300).contains(&status) => {
                if std::mem::take(failing) {
                    crate::diag::notice(&format!("remote write to {} works again", config.shown));
                }
                return Sent::Yes;
            }
            Ok((status, body)) if status != 429 && (400..500).contains(&status) => {
                crate::diag::warn_once(
                    &format!("remote-write-rejected-{status}"),
                    &format!(
                        "remote write to {} was rejected (status {status}: {body}); the \
                         request is not sent again, its samples are counted in \
                         flext_remote_write_dropped_total{{reason=\"rejected\"}}",
                        config.shown
                    ),
                );
                return Sent::Rejected;
            }
            Ok((status, body)) => format!("status {status}: {body}"),
            Err(reason) => reason,
        };
        if !std::mem::replace(failing, true) {
            crate::diag::warn(&format!(
                "remote write to {} failed ({failure}); retrying with backoff, while \
                 it fails at most {} pushes wait and older ones are dropped (counted in \
                 flext_remote_write_dropped_total{{reason=\"queue_full\"}})",
                config.shown, config.queue
            ));
        }
        let until = Instant::now() + wait;
        if stop.deadline().is_some_and(|d| d <= until) {
            return Sent::Stopped;
        }
        // A stop given meanwhile cuts the wait short, and the request is tried once
        // more within the flush wait.
        stop.sleep_until(until);
        add(&STATS.retries, 1);
        wait = wait.saturating_mul(2).min(MAX_BACKOFF);
    }
}

/// One request on the wire: the status and (for errors) the start of the answer, or
/// why there was none. Never shows a credential.
fn attempt(config: &Config, body: &[u8], timeout: Duration) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(USER_AGENT)
        .build()
        .into();
    let mut post = agent
        .post(&config.url)
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0");
    if let Some(auth) = &config.auth {
        post = post.header("Authorization", auth.header()?);
    }
    let redact = |text: &str| crate::percent::redact_urls(text);
    let mut response = post.send(body).map_err(|e| redact(&e.to_string()))?;
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok((status, String::new()));
    }
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default();
    Ok((status, redact(text.trim()).chars().take(300).collect()))
}
