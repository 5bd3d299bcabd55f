//! The two streams the executors return: [`Traced`] around a connection's own stream,
//! and [`Generated`], an async block that yields items, for the pool, whose stream must
//! own the connection it borrows (what sqlx's own pool does with its `try_stream!`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use ::sqlx::{Either, Error};
use futures_core::future::BoxFuture;
use futures_core::stream::{BoxStream, Stream};
use tracing::Span;

use super::op::Op;

type Item<L, R> = Result<Either<L, R>, Error>;

/// A connection's stream, timed: rows counted, the first error or the end recorded.
pub(crate) struct Traced<'e, L, R> {
    pub(crate) inner: BoxStream<'e, Item<L, R>>,
    pub(crate) op: Op,
}

impl<L, R> Stream for Traced<'_, L, R> {
    type Item = Item<L, R>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = {
            let _in_span = this.op.span().enter();
            this.inner.as_mut().poll_next(cx)
        };
        match &polled {
            Poll::Ready(Some(item)) => observe(&mut this.op, item),
            Poll::Ready(None) => {
                this.op.finish(None);
            }
            Poll::Pending => {}
        }
        polled
    }
}

/// What one item of a stream tells the operation.
#[inline]
pub(crate) fn observe<L, R>(op: &mut Op, item: &Item<L, R>) {
    match item {
        Ok(Either::Right(_)) => op.add_rows(1),
        Ok(Either::Left(_)) => {}
        Err(e) => {
            op.finish(Some(e));
        }
    }
}

/// Hands items from the generating future to the stream.
pub(crate) struct Sender<T>(Arc<Mutex<Option<T>>>);

impl<T> Sender<T> {
    /// Gives `value` to the stream and suspends the generator until the stream is polled
    /// again. The slot is never contended: the stream only reads it between two polls of
    /// the generator, on the same task.
    pub(crate) async fn send(&self, value: T) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
        let mut yielded = false;
        std::future::poll_fn(|_| {
            if yielded {
                Poll::Ready(())
            } else {
                // No wake-up needed: the stream returns the item now and its consumer
                // polls again for the next one.
                yielded = true;
                Poll::Pending
            }
        })
        .await;
    }
}

/// A stream made of a future that [`Sender::send`]s its items, polled inside `span`.
pub(crate) struct Generated<'a, T> {
    slot: Arc<Mutex<Option<T>>>,
    future: Option<BoxFuture<'a, ()>>,
    span: Span,
}

impl<'a, T: Send + 'a> Generated<'a, T> {
    pub(crate) fn new<F, Fut>(span: Span, generate: F) -> Self
    where
        F: FnOnce(Sender<T>) -> Fut,
        Fut: Future<Output = ()> + Send + 'a,
    {
        let slot = Arc::new(Mutex::new(None));
        let future: BoxFuture<'a, ()> = Box::pin(generate(Sender(Arc::clone(&slot))));
        Generated {
            slot,
            future: Some(future),
            span,
        }
    }
}

impl<T> Stream for Generated<'_, T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let Some(future) = this.future.as_mut() else {
            return Poll::Ready(None);
        };
        let done = {
            let _in_span = this.span.enter();
            future.as_mut().poll(cx).is_ready()
        };
        if done {
            // Drops what the generator held (the connection) now, not with the stream.
            this.future = None;
        }
        match this
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            Some(item) => Poll::Ready(Some(item)),
            None if done => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect<T>(mut stream: impl Stream<Item = T> + Unpin) -> Vec<T> {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut out = Vec::new();
        loop {
            match Pin::new(&mut stream).poll_next(&mut cx) {
                Poll::Ready(Some(v)) => out.push(v),
                Poll::Ready(None) => return out,
                Poll::Pending => panic!("nothing here waits"),
            }
        }
    }

    #[test]
    fn a_generator_yields_in_order_then_ends() {
        let stream = Generated::new(Span::none(), |tx| async move {
            for i in 0..3 {
                tx.send(i).await;
            }
        });
        assert_eq!(collect(stream), [0, 1, 2]);
        let empty = Generated::<u8>::new(Span::none(), |_| async {});
        assert!(collect(empty).is_empty());
    }
}
