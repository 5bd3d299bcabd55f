//! The metrics path of the server layer allocates nothing per call: counted with a
//! counting global allocator, per thread, against the same calls without the layer.

use std::convert::Infallible;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use flext_observability::grpc::ServerLayer;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body, Frame};
use tower::{Layer, Service};

struct Counting;

std::thread_local! {
    static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn count_allocation() {
    // `try_with`: allocations also happen while thread-locals are torn down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: the caller's contract, passed on.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        count_allocation();
        // SAFETY: the caller's contract, passed on.
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A response body that is only trailers (what a unary success ends with).
struct Trailers(Option<HeaderMap>);

impl Body for Trailers {
    type Data = bytes::Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<bytes::Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|t| Ok(Frame::trailers(t))))
    }
}

/// What tonic answers: the status in the headers (a handler's error), or in trailers.
fn answer(in_headers: bool) -> Response<Trailers> {
    let grpc = HeaderValue::from_static("application/grpc");
    if in_headers {
        let mut response = Response::new(Trailers(None));
        response.headers_mut().insert("content-type", grpc);
        response
            .headers_mut()
            .insert("grpc-status", HeaderValue::from_static("5"));
        response
    } else {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let mut response = Response::new(Trailers(Some(trailers)));
        response.headers_mut().insert("content-type", grpc);
        response
    }
}

/// Allocations of 1,000 calls through `service` on this thread (after a first one),
/// each response read to its end.
fn allocations<S, B>(mut service: S) -> u64
where
    S: Service<Request<()>, Response = Response<B>, Error = Infallible>,
    B: Body,
{
    let requests: Vec<Request<()>> = (0..1001)
        .map(|_| {
            Request::post("/flext.test.v1.Probe/Unary")
                .header("content-type", "application/grpc")
                .body(())
                .unwrap()
        })
        .collect();
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        let mut cx = Context::from_waker(Waker::noop());
        let mut before = 0;
        for (i, request) in requests.into_iter().enumerate() {
            if i == 1 {
                before = ALLOCATIONS.with(std::cell::Cell::get);
            }
            let future = pin!(service.call(request));
            let Poll::Ready(Ok(response)) = future.poll(&mut cx) else {
                panic!("the inner service answers at once");
            };
            let mut body = pin!(response.into_body());
            while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
                drop(frame);
            }
        }
        ALLOCATIONS.with(std::cell::Cell::get) - before
    })
}

fn inner(
    in_headers: bool,
) -> impl Service<Request<()>, Response = Response<Trailers>, Error = Infallible> {
    tower::service_fn(move |_request: Request<()>| {
        std::future::ready(Ok::<_, Infallible>(answer(in_headers)))
    })
}

#[test]
fn the_metrics_path_allocates_nothing() {
    let known = || ServerLayer::new().known_methods(&["flext.test.v1.Probe/Unary"]);
    for in_headers in [true, false] {
        let bare = allocations(inner(in_headers));
        let metrics = allocations(
            known()
                .spans(false)
                .correlation(false)
                .layer(inner(in_headers)),
        );
        assert_eq!(
            metrics - bare,
            0,
            "allocations of the layer in 1,000 calls (status in headers: {in_headers})"
        );
        // Spans nobody records cost nothing either.
        let spans = allocations(known().correlation(false).layer(inner(in_headers)));
        assert_eq!(spans - bare, 0, "with spans unrecorded");
    }
}
