//! Panics, in a child process of their own (the hook is per process, and the JSON log
//! lines go to its output): one in a plain thread, one in a monitored async task on a
//! Tokio worker.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use flext_observability::trace::current_trace_id;
use flext_observability::{Observability, monitor};
use flext_observability_tests::child::{self, Child};
use flext_observability_tests::{http, sample_with};
use serde_json::Value;

/// Calls of the hook that was set before `install()`.
static PREVIOUS: AtomicUsize = AtomicUsize::new(0);
/// The trace of the monitored call that panics.
static TRACE: Mutex<Option<String>> = Mutex::new(None);

#[monitor]
async fn vanish_order(id: u64) -> Result<u64, String> {
    *TRACE.lock().unwrap() = current_trace_id();
    tokio::task::yield_now().await;
    assert!(id == 0, "order {id} vanished");
    Ok(id)
}

pub(crate) fn parent() {
    let output = Child::new("panics_child")
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "info")
        .run();
    let trace = output
        .lines()
        .find_map(|l| l.strip_prefix("vanish_order trace: "))
        .expect("the child prints the trace of the call that panicked")
        .trim()
        .to_owned();
    let panic_line = |needle: &str| -> Value {
        // The harness prints its own words before the first line.
        let line = output
            .lines()
            .filter_map(|l| l.find('{').map(|at| &l[at..]))
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("a JSON log line with {needle}:\n{output}"));
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    let task = panic_line("order 7 vanished");
    assert_eq!(task["trace_id"], trace.as_str(), "{task}");
    assert!(
        task["span_id"].as_str().is_some_and(|s| s.len() == 16),
        "{task}"
    );
    assert_eq!(task["level"], "ERROR", "{task}");
    assert_eq!(
        task["message"], "exception",
        "the span event's name: {task}"
    );
    let text = task.to_string();
    assert!(text.contains("panics.rs"), "the location: {text}");
    let thread = panic_line("worker-a gave up");
    assert!(
        thread.get("trace_id").is_none(),
        "no span, no trace: {thread}"
    );
    assert!(
        output.contains("previous hook: order 7 vanished"),
        "{output}"
    );
    assert!(
        output.contains("previous hook: worker-a gave up"),
        "{output}"
    );
}

pub(crate) fn child() {
    child::enter("panics_child");
    std::panic::set_hook(Box::new(|info| {
        PREVIOUS.fetch_add(1, Ordering::SeqCst);
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("?");
        println!("previous hook: {message}");
    }));
    let guard = Observability::builder()
        .service_name("panicky")
        .listen("127.0.0.1:0")
        .system_checks(false)
        .install()
        .expect("install");
    let addr = guard.local_addr().unwrap();

    let joined = std::thread::Builder::new()
        .name("worker-a".into())
        .spawn(|| panic!("worker-a gave up"))
        .unwrap()
        .join();
    assert!(joined.is_err());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let task = runtime.block_on(async { tokio::spawn(vanish_order(7)).await });
    assert!(task.unwrap_err().is_panic());
    let trace = TRACE.lock().unwrap().clone().expect("a sampled trace");
    println!("vanish_order trace: {trace}");
    assert_eq!(
        PREVIOUS.load(Ordering::SeqCst),
        2,
        "the previous hook saw both"
    );

    let metrics = http::get(&format!("http://{addr}/metrics")).unwrap().body;
    assert_eq!(
        sample_with(
            &metrics,
            "function_calls_total",
            &[("function", "vanish_order"), ("error", "panic")]
        ),
        Some(1.0)
    );
    let doc: Value = serde_json::from_str(
        &http::get(&format!("http://{addr}/status.json"))
            .unwrap()
            .body,
    )
    .unwrap();
    let failures = doc["recent_failures"].as_array().unwrap();
    let in_task = failures
        .iter()
        .find(|f| f["function"] == "vanish_order")
        .unwrap_or_else(|| panic!("the task's panic kept: {failures:#?}"));
    assert_eq!(in_task["kind"], "panic");
    assert_eq!(in_task["trace_id"], trace.as_str());
    // Tokio names its workers (`tokio-rt-worker` in 1.54).
    let worker = in_task["thread"].as_str().unwrap();
    assert!(worker.starts_with("tokio-"), "{in_task}");
    for thread in ["worker-a", worker] {
        assert_eq!(
            sample_with(&metrics, "process_panics_total", &[("thread", thread)]),
            Some(1.0),
            "{thread}:\n{metrics}"
        );
    }
    assert!(in_task["duration_seconds"].as_f64().is_some());
    assert!(
        in_task["location"]
            .as_str()
            .is_some_and(|l| l.contains("status/panics.rs")),
        "{in_task}"
    );
    // Details are off for this loopback client: the message is withheld.
    assert!(in_task["message"].is_null(), "{in_task}");
    let in_thread = failures
        .iter()
        .find(|f| f["thread"] == "worker-a")
        .expect("the thread's panic kept");
    assert!(in_thread["function"].is_null() && in_thread["trace_id"].is_null());
    // One entry per panic: the monitored call completed the hook's entry.
    assert_eq!(failures.len(), 2, "{failures:#?}");
    drop(guard);
}
