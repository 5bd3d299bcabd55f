//! Delivery to Alertmanagers: `POST /api/v2/alerts` to each, from a thread of its own,
//! so a slow or dead one delays neither evaluation nor the others.
//!
//! Each Alertmanager has a bounded mailbox of alerts keyed by their labels: a newer
//! version of an alert replaces the one waiting, so an outage costs one entry per alert,
//! whatever its length, and what still fires when the Alertmanager comes back is sent
//! in its latest state. Failed requests are retried with exponential backoff (0.5 s to
//! 30 s); an outage is reported once when it starts and once when it ends. Putting an
//! alert in a mailbox never waits for the network.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use super::config::Target;
use super::shared::DROPPED_ALERTS;
use super::state::{Alert, Phase};
use crate::json;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Most alerts in one request.
const BATCH: usize = 1_000;

/// One alert as Alertmanager's API takes it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Payload {
    /// Its labels, as JSON: what Alertmanager identifies it by.
    key: String,
    json: String,
}

/// How alerts are described to Alertmanager.
#[derive(Clone, Debug)]
pub(super) struct Describe {
    /// `generatorURL`.
    pub(super) generator_url: Option<String>,
    /// How long a firing alert stays valid without being sent again (`endsAt`).
    pub(super) valid_for: Duration,
}

impl Describe {
    /// `alert` as a JSON object of Alertmanager's v2 API.
    pub(super) fn payload(&self, alert: &Alert, runbook_url: &str, now: SystemTime) -> Payload {
        let mut key = String::from("{");
        for (i, (k, v)) in alert.labels.iter().enumerate() {
            if i > 0 {
                key.push(',');
            }
            json::string(&mut key, k);
            key.push(':');
            json::string(&mut key, v);
        }
        key.push('}');
        let mut out = String::with_capacity(key.len() + 256);
        out.push_str("{\"labels\":");
        out.push_str(&key);
        out.push_str(",\"annotations\":{");
        let mut first = true;
        for (k, v) in [
            ("summary", alert.summary.as_str()),
            ("description", alert.description.as_str()),
            ("runbook_url", runbook_url),
        ] {
            if !v.is_empty() {
                json::key(&mut out, &mut first, k);
                json::string(&mut out, v);
            }
        }
        out.push_str("},\"startsAt\":");
        json::string(&mut out, &json::rfc3339(alert.fired_at));
        let ends = match (alert.phase, alert.resolved_at) {
            (Phase::Resolved, Some((_, at))) => at,
            _ => now + self.valid_for,
        };
        out.push_str(",\"endsAt\":");
        json::string(&mut out, &json::rfc3339(ends));
        if let Some(url) = &self.generator_url {
            out.push_str(",\"generatorURL\":");
            json::string(&mut out, url);
        }
        out.push('}');
        Payload { key, json: out }
    }
}

#[derive(Debug, Default)]
struct Inner {
    pending: BTreeMap<String, Arc<Payload>>,
    stop: bool,
}

#[derive(Debug)]
struct Mailbox {
    inner: Mutex<Inner>,
    wake: Condvar,
    capacity: usize,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `payloads` in, newer versions replacing older ones; counts what does not fit.
    fn put(
        &self,
        inner: &mut Inner,
        payloads: impl Iterator<Item = Arc<Payload>>,
        keep_newer: bool,
    ) {
        for p in payloads {
            if keep_newer && inner.pending.contains_key(&p.key) {
                continue;
            }
            if inner.pending.len() >= self.capacity && !inner.pending.contains_key(&p.key) {
                DROPPED_ALERTS.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            inner.pending.insert(p.key.clone(), p);
        }
    }
}

/// The senders, one per Alertmanager.
#[derive(Debug)]
pub(super) struct Delivery {
    senders: Vec<(Arc<Mailbox>, Option<JoinHandle<()>>)>,
}

impl Delivery {
    pub(super) fn start(
        targets: &[Target],
        capacity: usize,
        timeout: Duration,
    ) -> std::io::Result<Delivery> {
        let mut senders = Vec::with_capacity(targets.len());
        for target in targets {
            let mailbox = Arc::new(Mailbox {
                inner: Mutex::new(Inner::default()),
                wake: Condvar::new(),
                capacity,
            });
            let (m, t) = (Arc::clone(&mailbox), target.clone());
            let thread = std::thread::Builder::new()
                .name("flext-obs-alerts".into())
                .spawn(move || {
                    // This thread's own requests are no spans of the application.
                    tracing::dispatcher::with_default(&tracing::Dispatch::none(), || {
                        run(&m, &t, timeout);
                    });
                })?;
            senders.push((mailbox, Some(thread)));
        }
        Ok(Delivery { senders })
    }

    /// Hands `payloads` to every Alertmanager; returns at once.
    pub(super) fn send(&self, payloads: &[Arc<Payload>]) {
        if payloads.is_empty() {
            return;
        }
        for (mailbox, _) in &self.senders {
            let mut inner = mailbox.lock();
            mailbox.put(&mut inner, payloads.iter().cloned(), false);
            drop(inner);
            mailbox.wake.notify_all();
        }
    }

    /// Stops every sender: each sends what waits once more if its Alertmanager answers,
    /// and none waits for one that does not.
    pub(super) fn stop(mut self) {
        for (mailbox, _) in &self.senders {
            mailbox.lock().stop = true;
            mailbox.wake.notify_all();
        }
        for (_, thread) in &mut self.senders {
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// The outcome of one request.
enum Sent {
    Ok,
    /// Alertmanager refused the alerts (a `4xx`): sending them again would not help.
    Rejected(String),
    /// No answer, or a `5xx`: try again later.
    Failed(String),
}

fn run(mailbox: &Mailbox, target: &Target, timeout: Duration) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into();
    let mut backoff = FIRST_BACKOFF;
    let mut outage = false;
    loop {
        let mut inner = mailbox.lock();
        while inner.pending.is_empty() && !inner.stop {
            inner = mailbox
                .wake
                .wait(inner)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if inner.stop && (inner.pending.is_empty() || outage) {
            return;
        }
        let stopping = inner.stop;
        let batch: Vec<Arc<Payload>> = {
            let keys: Vec<String> = inner.pending.keys().take(BATCH).cloned().collect();
            keys.iter()
                .filter_map(|k| inner.pending.remove(k))
                .collect()
        };
        drop(inner);
        match post(&agent, target, &batch) {
            Sent::Ok => {
                if outage {
                    outage = false;
                    crate::diag::notice(&format!(
                        "alerts: Alertmanager {} answers again; the alerts kept meanwhile are delivered",
                        target.shown
                    ));
                }
                backoff = FIRST_BACKOFF;
            }
            Sent::Rejected(reason) => {
                DROPPED_ALERTS.fetch_add(batch.len() as u64, Ordering::Relaxed);
                crate::diag::warn_once(
                    // Once per Alertmanager: the reasons (response bodies) may vary.
                    &format!("alerts-rejected:{}", target.shown),
                    &format!(
                        "alerts: Alertmanager {} rejected {} alert(s), dropped (counted in flext_alerts_dropped_total): {reason}",
                        target.shown,
                        batch.len()
                    ),
                );
            }
            Sent::Failed(reason) => {
                let mut inner = mailbox.lock();
                mailbox.put(&mut inner, batch.into_iter(), true);
                if !outage {
                    outage = true;
                    crate::diag::warn(&format!(
                        "alerts: Alertmanager {} is unreachable ({reason}); its alerts are kept (up to {} by label set) and retried every {:?} at most; nothing else waits for it",
                        target.shown, mailbox.capacity, MAX_BACKOFF
                    ));
                }
                if stopping {
                    return;
                }
                let (guard, _) = mailbox
                    .wake
                    .wait_timeout_while(inner, backoff, |i| !i.stop)
                    .unwrap_or_else(PoisonError::into_inner);
                drop(guard);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn post(agent: &ureq::Agent, target: &Target, batch: &[Arc<Payload>]) -> Sent {
    let mut body = String::with_capacity(batch.iter().map(|p| p.json.len() + 1).sum::<usize>() + 2);
    body.push('[');
    for (i, p) in batch.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&p.json);
    }
    body.push(']');
    let mut request = agent
        .post(&target.endpoint)
        .header("Content-Type", "application/json");
    if let Some(authorization) = &target.authorization {
        request = request.header("Authorization", authorization);
    }
    match request.send(body.as_bytes()) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            if (200..300).contains(&status) {
                return Sent::Ok;
            }
            let text = response
                .body_mut()
                .with_config()
                .limit(16 * 1024)
                .read_to_string()
                .unwrap_or_default();
            let text: String = crate::percent::redact_urls(text.trim())
                .chars()
                .take(300)
                .collect();
            let reason = format!("status {status}: {text}");
            if status >= 500 {
                Sent::Failed(reason)
            } else {
                Sent::Rejected(reason)
            }
        }
        Err(error) => Sent::Failed(crate::percent::redact_urls(&error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_mailbox_keeps_newer_versions_and_counts_new_alerts() {
        let m = Mailbox {
            inner: Mutex::new(Inner::default()),
            wake: Condvar::new(),
            capacity: 2,
        };
        let p = |key: &str, json: &str| {
            Arc::new(Payload {
                key: key.into(),
                json: json.into(),
            })
        };
        let before = DROPPED_ALERTS.load(Ordering::Relaxed);
        let mut inner = m.lock();
        m.put(
            &mut inner,
            [p("a", "1"), p("b", "1"), p("c", "1")].into_iter(),
            false,
        );
        assert_eq!(DROPPED_ALERTS.load(Ordering::Relaxed) - before, 1);
        m.put(&mut inner, [p("a", "2")].into_iter(), false);
        assert_eq!(inner.pending["a"].json, "2");
        // A failed batch goes back behind what arrived meanwhile.
        m.put(&mut inner, [p("a", "1")].into_iter(), true);
        assert_eq!(inner.pending["a"].json, "2");
    }
}
