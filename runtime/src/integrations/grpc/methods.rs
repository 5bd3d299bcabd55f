//! Method names and destinations, interned once each with their series (the HTTP
//! integration's interner and series storage): a call finds its method by the text of
//! its path with one hash and no lock, and its series with a scan of a few integers.
//!
//! Both sets are bounded. A server records a method under its name only when it knows
//! it (see [`crate::integrations::grpc::ServerLayer::known_methods`]); anything else is
//! `_OTHER`. Past [`MAX_METHODS`] names, or [`MAX_DESTINATIONS`] destinations, further
//! ones are `_OTHER` too.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::integrations::http::intern::{Interner, Named};
use crate::integrations::http::series::SeriesList;
use crate::integrations::http::span::split_host;

/// Most distinct method names (`rpc.method`) a process records; further ones are
/// `_OTHER`.
pub const MAX_METHODS: usize = 1000;

/// Most distinct destinations (`server.address`, `server.port`) the client layer
/// records; calls to further ones are recorded with `server.address="_OTHER"`.
pub const MAX_DESTINATIONS: usize = 250;

/// A method and its series.
#[derive(Debug)]
pub(crate) struct MethodData {
    /// Fully qualified: `orders.v1.Orders/GetOrder`; `_OTHER` for the rest.
    pub(crate) name: &'static str,
    /// Series of the server layer, keyed by status code.
    pub(crate) server: SeriesList,
    /// Series of the client layer, keyed by status code and destination.
    pub(crate) client: SeriesList,
    /// Whether a server answered it (a server recognises only those).
    pub(crate) served: AtomicBool,
}

impl MethodData {
    const fn new(name: &'static str) -> Self {
        MethodData {
            name,
            server: SeriesList::new(),
            client: SeriesList::new(),
            served: AtomicBool::new(false),
        }
    }

    pub(crate) fn is_other(&self) -> bool {
        std::ptr::eq(self, &raw const OTHER)
    }

    /// The span name: the method, or `grpc` (`rpc.system.name`) when it is `_OTHER`, as
    /// the conventions ask.
    pub(crate) fn span_name(&self) -> &'static str {
        if self.is_other() { "grpc" } else { self.name }
    }

    /// `rpc.service` of the conventions before v1.39: `orders.v1.Orders`; empty for
    /// `_OTHER`.
    pub(crate) fn old_service(&self) -> &'static str {
        self.name.split_once('/').map_or("", |(service, _)| service)
    }

    /// `rpc.method` of the conventions before v1.39: `GetOrder`.
    pub(crate) fn old_method(&self) -> &'static str {
        self.name
            .split_once('/')
            .map_or(self.name, |(_, method)| method)
    }
}

impl Named for MethodData {
    fn name(&self) -> &str {
        self.name
    }
}

/// Calls of methods that are not recognised, or past [`MAX_METHODS`].
pub(crate) static OTHER: MethodData = MethodData::new("_OTHER");

static METHODS: Interner<MethodData, 2048> = Interner::new(MAX_METHODS);

/// The method named `name` (a path without its leading `/`), if already known.
#[inline]
pub(crate) fn find(name: &str) -> Option<&'static MethodData> {
    METHODS.get(name)
}

/// The method named `name`, interned on first sight; [`OTHER`] when `name` is not
/// `package.Service/Method` or the table is full.
pub(crate) fn intern(name: &str) -> &'static MethodData {
    if !well_formed(name) {
        return &OTHER;
    }
    METHODS.intern(name, MethodData::new).unwrap_or_else(|| {
        crate::diag::warn_once(
            "grpc-methods-full",
            &format!(
                "more than {MAX_METHODS} distinct gRPC methods: calls of further methods are recorded as rpc.method=\"_OTHER\""
            ),
        );
        &OTHER
    })
}

/// Every method with its series, [`OTHER`] first.
pub(crate) fn each(mut f: impl FnMut(&'static MethodData)) {
    f(&OTHER);
    METHODS.each(f);
}

/// Whether `name` reads `Service/Method` with a package or not (`orders.v1.Orders/GetOrder`):
/// identifiers of letters, digits and `_`, dots in the service only, at most 256 bytes.
pub(crate) fn well_formed(name: &str) -> bool {
    let Some((service, method)) = name.split_once('/') else {
        return false;
    };
    let ident = |s: &str, dots: bool| {
        !s.is_empty()
            && !s.starts_with('.')
            && !s.ends_with('.')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || (dots && b == b'.'))
    };
    name.len() <= 256 && ident(service, true) && ident(method, false)
}

/// Where a client sends its calls.
#[derive(Debug)]
pub(crate) struct Destination {
    /// `host:port` as configured or as the request's URI has it: the interning key.
    authority: &'static str,
    pub(crate) address: &'static str,
    pub(crate) port: Option<u16>,
    pub(crate) id: u8,
}

impl Named for Destination {
    fn name(&self) -> &str {
        self.authority
    }
}

/// The destination id of a call whose destination is unknown (no `server.address`).
pub(crate) const NO_DESTINATION: u8 = 0;
/// The destination id of calls past [`MAX_DESTINATIONS`].
pub(crate) const OTHER_DESTINATION: u8 = 1;

static DESTINATIONS: Interner<Destination, 512> = Interner::new(MAX_DESTINATIONS);
static BY_ID: [OnceLock<&'static Destination>; 256] = [const { OnceLock::new() }; 256];
static NEXT_ID: AtomicUsize = AtomicUsize::new(2);

/// The id of the destination `authority` (`host:port`), interned on first sight.
#[inline]
pub(crate) fn destination(authority: &str) -> u8 {
    if authority.is_empty() {
        return NO_DESTINATION;
    }
    let made = DESTINATIONS.intern(authority, |authority| {
        let (address, port) = split_host(authority);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Destination {
            authority,
            address,
            port,
            // Ids lost to races on a slot are not reused: the limit leaves room for a
            // few, and past 255 a destination counts as `_OTHER`.
            id: u8::try_from(id).unwrap_or(OTHER_DESTINATION),
        }
    });
    match made {
        Some(d) => {
            if d.id > OTHER_DESTINATION {
                let _ = BY_ID[usize::from(d.id)].set(d);
            }
            d.id
        }
        None => OTHER_DESTINATION,
    }
}

/// `server.address` and `server.port` of a destination id (empty when unknown).
pub(crate) fn destination_labels(id: u8) -> (&'static str, Option<u16>) {
    match id {
        NO_DESTINATION => ("", None),
        OTHER_DESTINATION => ("_OTHER", None),
        _ => BY_ID[usize::from(id)]
            .get()
            .map_or(("_OTHER", None), |d| (d.address, d.port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_interned_when_well_formed() {
        let m = intern("orders.v1.Orders/GetOrder");
        assert!(std::ptr::eq(m, find("orders.v1.Orders/GetOrder").unwrap()));
        assert_eq!(m.span_name(), "orders.v1.Orders/GetOrder");
        assert_eq!(
            (m.old_service(), m.old_method()),
            ("orders.v1.Orders", "GetOrder")
        );
        assert!(intern("EchoService/Echo").name == "EchoService/Echo");
        for bad in [
            "", "nope", "a/b/c", "/a", "a/", ".a/b", "a./b", "a b/c", "a/b.c",
        ] {
            assert!(intern(bad).is_other(), "{bad}");
        }
        assert_eq!(OTHER.span_name(), "grpc");
    }

    #[test]
    fn destinations_have_ids() {
        let a = destination("orders.internal:50051");
        assert!(a > OTHER_DESTINATION);
        assert_eq!(destination("orders.internal:50051"), a);
        assert_eq!(destination_labels(a), ("orders.internal", Some(50051)));
        assert_eq!(destination(""), NO_DESTINATION);
        assert_eq!(destination_labels(NO_DESTINATION), ("", None));
        let b = destination("[::1]:7");
        assert_eq!(destination_labels(b), ("::1", Some(7)));
    }
}
