//! A remote write receiver on loopback that answers with the statuses a test scripts
//! (`400`, `503`, then `204`), keeps every request (headers, body) and decodes it with
//! the remote write 1.0 messages declared here with prost — independently of the
//! runtime's own encoder, which writes the wire format by hand. Real receivers
//! (Prometheus) are in `servers`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use prost::Message;

/// `prometheus/prompb/remote.proto`, remote write 1.0.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

impl TimeSeries {
    /// The value of label `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.value.as_str())
    }
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    /// Headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body as sent (snappy-compressed).
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The decompressed, decoded `WriteRequest`; panics on a malformed body.
    pub fn decode(&self) -> WriteRequest {
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&self.body)
            .expect("the body is snappy block format");
        WriteRequest::decode(raw.as_slice()).expect("the body is a WriteRequest")
    }
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    script: VecDeque<u16>,
    received: Vec<Received>,
}

/// The receiver; stops accepting when dropped.
pub struct ScriptedReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl ScriptedReceiver {
    /// Answers the first requests with `script`, in order, then `204`.
    pub fn start(script: &[u16]) -> ScriptedReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared::default());
        shared.state.lock().unwrap().script = script.iter().copied().collect();
        let serving = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = serving.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        ScriptedReceiver { addr, shared }
    }

    /// `http://127.0.0.1:PORT/api/v1/write`.
    pub fn url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.state.lock().unwrap().received.clone()
    }

    /// Waits until `n` requests were received; all of them, or `None` on timeout.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Option<Vec<Received>> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state.lock().unwrap();
        while state.received.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            state = self.shared.changed.wait_timeout(state, left).unwrap().0;
        }
        Some(state.received.clone())
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
                if k == "content-length" {
                    length = v.parse().unwrap_or(0);
                }
                headers.push((k, v));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let status = {
            let mut state = shared.state.lock().unwrap();
            let status = state.script.pop_front().unwrap_or(204);
            state.received.push(Received {
                headers,
                body,
                status,
            });
            status
        };
        shared.changed.notify_all();
        let reason = match status {
            204 => "No Content",
            400 => "Bad Request",
            429 => "Too Many Requests",
            503 => "Service Unavailable",
            _ => "Status",
        };
        let text = format!("scripted {status}");
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\n\r\n{}",
            if status == 204 { 0 } else { text.len() },
            if status == 204 { "" } else { &text }
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
