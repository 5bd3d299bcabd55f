//! Remote write 1.0 requests from the read path: an [`Encoder`] that writes the
//! protobuf `WriteRequest` of the samples a Prometheus scrape of the text format would
//! store — the same names, labels and values — plus the `job`/`instance` external
//! labels, then compresses each request with snappy's block format.
//!
//! The four messages of the specification (`prometheus/docs`,
//! `docs/specs/prw/remote_write_spec.md`):
//!
//! ```proto
//! message WriteRequest { repeated TimeSeries timeseries = 1; }
//! message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//! message Label        { string name = 1; string value = 2; }
//! message Sample       { double value = 1; int64 timestamp = 2; }
//! ```
//!
//! are written straight from the borrowed labels the read path hands over: every length
//! is known before its message is written, so there is no intermediate copy of a
//! series, no message type and no code generation. Labels are sorted by name, empty
//! values left out (as the text encoders do), one sample per series at the push's
//! time. A series that has its own `job` or `instance` label keeps it, as Prometheus
//! does with external labels.

use crate::collect::Encoder;
use crate::model::{FamilyDesc, HistogramValue, Labels, MetricType, Value};
use crate::prometheus::format::go_float;

/// Series per request: Prometheus' default `max_samples_per_send`, within every
/// receiver's message size limit.
pub(super) const MAX_SERIES_PER_REQUEST: usize = 2000;

/// One compressed request, ready to send.
#[derive(Clone, Debug)]
pub(super) struct Request {
    /// The snappy-compressed `WriteRequest`.
    pub(super) body: Vec<u8>,
    /// Samples in it (one per series).
    pub(super) samples: u64,
}

/// Everything registered, as the requests of one push at `timestamp_ms`, and the bytes
/// before compression.
pub(super) fn push(external: &[(String, String); 2], timestamp_ms: i64) -> (Vec<Request>, usize) {
    let mut encoder = RwEncoder::new(timestamp_ms, external, MAX_SERIES_PER_REQUEST);
    crate::collect::collect_registered(&|_| true, &mut encoder);
    encoder.finish()
}

pub(super) struct RwEncoder<'a> {
    timestamp_ms: i64,
    /// `job` and `instance`, sorted by name.
    external: &'a [(String, String); 2],
    max_series: usize,
    /// The family's sample name, and for histograms its three sample names.
    name: String,
    bucket: String,
    sum: String,
    count: String,
    le_bounds: Vec<f64>,
    le: Vec<String>,
    /// The `WriteRequest` being written, uncompressed.
    buf: Vec<u8>,
    in_buf: usize,
    snappy: snap::raw::Encoder,
    pub(super) requests: Vec<Request>,
    /// Bytes before compression, over every request.
    pub(super) raw_bytes: usize,
}

impl<'a> RwEncoder<'a> {
    pub(super) fn new(
        timestamp_ms: i64,
        external: &'a [(String, String); 2],
        max_series: usize,
    ) -> Self {
        RwEncoder {
            timestamp_ms,
            external,
            max_series: max_series.max(1),
            name: String::new(),
            bucket: String::new(),
            sum: String::new(),
            count: String::new(),
            le_bounds: Vec::new(),
            le: Vec::new(),
            buf: Vec::new(),
            in_buf: 0,
            snappy: snap::raw::Encoder::new(),
            requests: Vec::new(),
            raw_bytes: 0,
        }
    }

    /// Every request, the last one included.
    pub(super) fn finish(mut self) -> (Vec<Request>, usize) {
        self.flush();
        (self.requests, self.raw_bytes)
    }

    fn flush(&mut self) {
        if self.in_buf == 0 {
            return;
        }
        // Compressing a buffer this encoder wrote cannot fail: snappy refuses only
        // inputs over 4 GiB, and a request holds at most `max_series` series.
        let body = self
            .snappy
            .compress_vec(&self.buf)
            .unwrap_or_else(|e| unreachable!("snappy refused {} bytes: {e}", self.buf.len()));
        self.raw_bytes += self.buf.len();
        self.requests.push(Request {
            body,
            samples: self.in_buf as u64,
        });
        self.buf.clear();
        self.in_buf = 0;
    }

    fn le_strings(&mut self, bounds: &[f64]) {
        if self.le_bounds.as_slice() != bounds {
            self.le = bounds.iter().map(|&b| go_float(b)).collect();
            bounds.clone_into(&mut self.le_bounds);
        }
    }

    /// One series of the current family.
    fn one(&mut self, which: Sample, labels: Labels<'_>, le: Option<&str>, value: f64) {
        let name = match which {
            Sample::Plain => &self.name,
            Sample::Bucket => &self.bucket,
            Sample::Sum => &self.sum,
            Sample::Count => &self.count,
        };
        write_series(
            &mut self.buf,
            name,
            labels,
            le,
            self.external,
            value,
            self.timestamp_ms,
        );
        self.in_buf += 1;
        if self.in_buf >= self.max_series {
            self.flush();
        }
    }
}

#[derive(Clone, Copy)]
enum Sample {
    Plain,
    Bucket,
    Sum,
    Count,
}

impl Encoder for RwEncoder<'_> {
    fn family(&mut self, desc: &FamilyDesc<'_>) {
        self.name.clear();
        self.name.push_str(&desc.name);
        if desc.kind == MetricType::Histogram {
            for (name, suffix) in [
                (&mut self.bucket, "_bucket"),
                (&mut self.sum, "_sum"),
                (&mut self.count, "_count"),
            ] {
                name.clear();
                name.push_str(&desc.name);
                name.push_str(suffix);
            }
        }
    }

    fn counter(&mut self, labels: Labels<'_>, value: Value) {
        self.one(Sample::Plain, labels, None, float(value));
    }

    fn gauge(&mut self, labels: Labels<'_>, value: Value) {
        self.one(Sample::Plain, labels, None, float(value));
    }

    fn info(&mut self, labels: Labels<'_>) {
        self.one(Sample::Plain, labels, None, 1.0);
    }

    fn histogram(&mut self, labels: Labels<'_>, h: &HistogramValue<'_>) {
        self.le_strings(h.bounds);
        let le = std::mem::take(&mut self.le);
        let mut cumulative = 0u64;
        for (i, bound) in le.iter().enumerate() {
            cumulative += h.counts.get(i).copied().unwrap_or(0);
            self.one(Sample::Bucket, labels, Some(bound), cumulative as f64);
        }
        let count = h.count();
        self.one(Sample::Bucket, labels, Some("+Inf"), count as f64);
        self.one(Sample::Sum, labels, None, h.sum);
        self.one(Sample::Count, labels, None, count as f64);
        self.le = le;
    }
}

fn float(value: Value) -> f64 {
    match value {
        Value::Int(v) => v as f64,
        Value::Float(v) => v,
    }
}

/// Appends one `TimeSeries` (field 1 of `WriteRequest`) to `buf`.
fn write_series(
    buf: &mut Vec<u8>,
    name: &str,
    labels: Labels<'_>,
    le: Option<&str>,
    external: &[(String, String); 2],
    value: f64,
    timestamp_ms: i64,
) {
    let mut all: Vec<(&str, &str)> = Vec::with_capacity(labels.len() + 4);
    all.push(("__name__", name));
    all.extend(labels.iter().copied().filter(|(_, v)| !v.is_empty()));
    if let Some(le) = le {
        all.push(("le", le));
    }
    for (key, value) in external {
        if !all.iter().any(|(k, _)| k == key) {
            all.push((key, value));
        }
    }
    // Byte order, as Prometheus sorts label names (`__name__` is not always first).
    all.sort_unstable_by(|a, b| a.0.cmp(b.0));
    // Timestamps are milliseconds since 1970: never negative.
    let timestamp = u64::try_from(timestamp_ms).unwrap_or(0);
    let sample_len = 1 + 8 + 1 + varint_len(timestamp);
    let mut series_len = 1 + varint_len(sample_len as u64) + sample_len;
    for (k, v) in &all {
        let l = label_len(k, v);
        series_len += 1 + varint_len(l as u64) + l;
    }
    buf.reserve(series_len + 6);
    buf.push(0x0a); // WriteRequest.timeseries, length-delimited
    varint(buf, series_len as u64);
    for (k, v) in &all {
        buf.push(0x0a); // TimeSeries.labels
        varint(buf, label_len(k, v) as u64);
        buf.push(0x0a); // Label.name
        varint(buf, k.len() as u64);
        buf.extend_from_slice(k.as_bytes());
        buf.push(0x12); // Label.value
        varint(buf, v.len() as u64);
        buf.extend_from_slice(v.as_bytes());
    }
    buf.push(0x12); // TimeSeries.samples
    varint(buf, sample_len as u64);
    buf.push(0x09); // Sample.value, 64-bit
    buf.extend_from_slice(&value.to_le_bytes());
    buf.push(0x10); // Sample.timestamp, varint
    varint(buf, timestamp);
}

fn label_len(name: &str, value: &str) -> usize {
    1 + varint_len(name.len() as u64)
        + name.len()
        + 1
        + varint_len(value.len() as u64)
        + value.len()
}

fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        // Truncation intended: the low seven bits, with the continuation bit.
        #[allow(clippy::cast_possible_truncation)]
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    #[allow(clippy::cast_possible_truncation)] // below 0x80
    buf.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    // 1 byte per 7 significant bits, at least one.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::collect::testing::Fake;
    use crate::collect::{Source, collect};

    /// A decoded sample: name and labels sorted as sent, value.
    type Decoded = (Vec<(String, String)>, f64, i64);

    fn read_varint(b: &[u8], at: &mut usize) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = b[*at];
            *at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
        }
        v
    }

    /// The length-delimited fields of `b` with tag `tag` (wire type 2).
    fn fields(b: &[u8], want: u8) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < b.len() {
            let tag = b[at];
            at += 1;
            match tag & 7 {
                2 => {
                    let len = usize::try_from(read_varint(b, &mut at)).unwrap();
                    if tag == want {
                        out.push(&b[at..at + len]);
                    }
                    at += len;
                }
                1 => at += 8,
                0 => {
                    read_varint(b, &mut at);
                }
                other => panic!("wire type {other}"),
            }
        }
        out
    }

    /// Decompresses and decodes a request, checking what the specification requires.
    pub(in crate::integrations::remote_write) fn decode(body: &[u8]) -> Vec<Decoded> {
        let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
        let mut out = Vec::new();
        for series in fields(&raw, 0x0a) {
            let labels: Vec<(String, String)> = fields(series, 0x0a)
                .into_iter()
                .map(|label| {
                    let text = |f: &[u8]| String::from_utf8(f.to_vec()).unwrap();
                    (text(fields(label, 0x0a)[0]), text(fields(label, 0x12)[0]))
                })
                .collect();
            let names: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(names, sorted, "labels sorted by name, no duplicates");
            assert!(labels.iter().all(|(_, v)| !v.is_empty()), "{labels:?}");
            let samples = fields(series, 0x12);
            assert_eq!(samples.len(), 1);
            let s = samples[0];
            assert_eq!(s[0], 0x09);
            let value = f64::from_le_bytes(s[1..9].try_into().unwrap());
            assert_eq!(s[9], 0x10);
            let mut at = 10;
            let ts = i64::try_from(read_varint(s, &mut at)).unwrap();
            assert_eq!(at, s.len());
            out.push((labels, value, ts));
        }
        out
    }

    fn external() -> [(String, String); 2] {
        [
            ("instance".to_owned(), "i-1".to_owned()),
            ("job".to_owned(), "shop/orders".to_owned()),
        ]
    }

    fn source() -> Fake {
        Fake(vec![
            ("jobs_total", MetricType::Counter, vec![("a", 3), ("", 1)]),
            ("depth", MetricType::Gauge, vec![("b", 7)]),
            ("wait_seconds", MetricType::Histogram, vec![("c", 2)]),
            ("build_info", MetricType::Info, vec![("d", 1)]),
        ])
    }

    /// Samples of the text format 0.0.4 rendering: `name{labels}` and value.
    fn text_samples(text: &str) -> BTreeSet<(String, String)> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').unwrap();
                (series.to_owned(), value.to_owned())
            })
            .collect()
    }

    #[test]
    fn the_samples_of_a_scrape_plus_job_and_instance() {
        let fake = source();
        let ext = external();
        let mut rw = RwEncoder::new(1_700_000_000_123, &ext, MAX_SERIES_PER_REQUEST);
        collect(&[&fake as &dyn Source], &|_| true, &mut rw);
        let (requests, raw) = rw.finish();
        assert_eq!(requests.len(), 1);
        assert!(raw > requests[0].body.len(), "compressed");
        let decoded = decode(&requests[0].body);
        assert_eq!(requests[0].samples, decoded.len() as u64);
        // The text format renders the same samples, without the external labels.
        let mut text = crate::prometheus::TextEncoder::with_start(false, 0, None);
        collect(&[&fake as &dyn Source], &|_| true, &mut text);
        let expected = text_samples(&text.finish());
        let mut got = BTreeSet::new();
        for (labels, value, ts) in &decoded {
            assert_eq!(*ts, 1_700_000_000_123);
            let name = &labels.iter().find(|(k, _)| k == "__name__").unwrap().1;
            assert!(labels.contains(&("job".into(), "shop/orders".into())));
            assert!(labels.contains(&("instance".into(), "i-1".into())));
            // Text order: the series' own labels, `le` last.
            let mut own: Vec<&(String, String)> = labels
                .iter()
                .filter(|(k, _)| !["__name__", "job", "instance", "le"].contains(&k.as_str()))
                .collect();
            own.extend(labels.iter().filter(|(k, _)| k == "le"));
            let pairs: Vec<String> = own.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            let series = if pairs.is_empty() {
                name.clone()
            } else {
                format!("{name}{{{}}}", pairs.join(","))
            };
            let mut v = String::new();
            crate::prometheus::format::push_f64(&mut v, *value);
            got.insert((series, v));
        }
        assert_eq!(got, expected);
        assert_eq!(decoded.len(), 2 + 1 + (2 + 2) + 1);
    }

    #[test]
    fn requests_are_split_and_series_keep_their_own_job() {
        let fake = Fake(vec![(
            "x_total",
            MetricType::Counter,
            vec![("1", 1), ("2", 2), ("3", 3), ("4", 4), ("5", 5)],
        )]);
        let ext = external();
        let mut rw = RwEncoder::new(5, &ext, 2);
        collect(&[&fake as &dyn Source], &|_| true, &mut rw);
        let (requests, _) = rw.finish();
        let sizes: Vec<u64> = requests.iter().map(|r| r.samples).collect();
        assert_eq!(sizes, [2, 2, 1]);
        let mut own = RwEncoder::new(5, &ext, 10);
        own.family(&FamilyDesc::fixed("y", "h", MetricType::Gauge, None));
        own.gauge(&[("job", "mine"), ("Zone", "eu")], Value::Float(0.5));
        let (requests, _) = own.finish();
        let (labels, value, _) = &decode(&requests[0].body)[0];
        assert!((*value - 0.5).abs() < f64::EPSILON);
        let names: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
        // `Zone` sorts before `__name__`: byte order.
        assert_eq!(names, ["Zone", "__name__", "instance", "job"]);
        assert!(labels.contains(&("job".into(), "mine".into())));
    }

    #[test]
    fn varints() {
        for (v, len) in [
            (0u64, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::MAX, 10),
        ] {
            let mut buf = Vec::new();
            varint(&mut buf, v);
            assert_eq!(buf.len(), len, "{v}");
            assert_eq!(varint_len(v), len, "{v}");
            assert_eq!(read_varint(&buf, &mut 0), v);
        }
    }
}
