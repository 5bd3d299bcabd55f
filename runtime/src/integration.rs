//! The internal API an integration starts through: `install()` names no integration.
//!
//! An integration (a folder under `integrations/`, behind its feature) registers an
//! [`IntegrationEntry`] through `inventory`. `install()` then, in `order`:
//!
//! 1. calls every entry's `prepare` with the settings given in code (its own type in
//!    the builder's [`Extensions`], set by the builder methods the integration defines
//!    in its folder) and the environment; a `prepare` that fails makes `install()` fail
//!    before anything has started, naming the variable or method;
//! 2. once the core has started, calls [`Prepared::start`] on each prepared integration,
//!    which may add a `tracing` layer to the subscriber `install()` sets
//!    ([`Start::add_layer`]) and returns what runs;
//! 3. drops what runs when the guard is dropped, after readiness has drained and before
//!    the embedded server stops, last started first.
//!
//! Besides this, an integration reaches the core through: [`crate::collect`] (register a
//! source of metrics), [`crate::routes`] (answer a path of the embedded server),
//! [`crate::span_ids`] (the ids of spans), [`crate::health`] (the health snapshot),
//! [`crate::settings`] (environment readers), [`crate::catalog`] (what is monitored).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;

use crate::error::Error;
use crate::settings::EnvLookup;

/// The settings type of an integration. Its `Debug` is what the builder's `Debug`
/// shows: it must withhold secrets (header values, tokens, passwords).
pub(crate) trait Settings: Any + Send + fmt::Debug {
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Send + fmt::Debug> Settings for T {
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Settings given in code, one value per integration type: the builder methods of an
/// integration write its own type here, and its `prepare` takes it.
#[derive(Default)]
pub(crate) struct Extensions(HashMap<TypeId, Box<dyn Settings>>);

impl Extensions {
    /// The settings of type `T`, created at their default on first use.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn get_mut<T: Settings + Default>(&mut self) -> &mut T {
        self.0
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()))
            .as_mut()
            .as_any_mut()
            .downcast_mut()
            .unwrap_or_else(|| unreachable!("keyed by its own type"))
    }

    /// Takes the settings of type `T` (the default when none were given).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn take<T: Settings + Default>(&mut self) -> T {
        self.0
            .remove(&TypeId::of::<T>())
            .and_then(|b| b.into_any().downcast().ok())
            .map_or_else(T::default, |b| *b)
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.values()).finish()
    }
}

/// Who the process is, as resolved by `install()`.
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // read by integrations, none of which may be compiled in
pub(crate) struct Service<'a> {
    pub(crate) name: &'a str,
    pub(crate) version: Option<&'a str>,
    /// The resource every export speaks for (`service.instance.id` included).
    pub(crate) resource: &'a crate::identity::Resource,
}

/// What `prepare` gets.
#[allow(dead_code)] // read by integrations, none of which may be compiled in
pub(crate) struct Setup<'a> {
    pub(crate) env: EnvLookup<'a>,
    pub(crate) service: Service<'a>,
    pub(crate) extensions: &'a mut Extensions,
}

/// A member an integration adds to the subscriber `install()` sets: a `tracing` layer
/// and what it wants (or none: the integration only wants to know whether that
/// subscriber was installed).
#[cfg(feature = "logs")]
pub(crate) struct ContributedLayer {
    pub(crate) member: Option<crate::logs::Member>,
    /// Called once the layer is part of the global subscriber.
    pub(crate) installed: Box<dyn FnOnce() + Send>,
    /// Called when it is not (another subscriber was set first, or
    /// `.tracing_subscriber(false)`).
    pub(crate) not_installed: Box<dyn FnOnce() + Send>,
}

/// What `start` gets.
#[derive(Default)]
pub(crate) struct Start {
    #[cfg(feature = "logs")]
    pub(crate) layers: Vec<ContributedLayer>,
    /// Where the embedded server listens (bound already, serving soon), if it runs: what
    /// an integration names the process by (`host:port`) and links back to.
    #[allow(dead_code)] // read by integrations, none of which may be compiled in
    pub(crate) server_addr: Option<std::net::SocketAddr>,
}

impl Start {
    /// Adds `layer` to the subscriber `install()` sets.
    #[cfg(feature = "logs")]
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn add_layer(&mut self, layer: ContributedLayer) {
        self.layers.push(layer);
    }
}

/// An integration whose settings were checked, ready to start.
pub(crate) trait Prepared: Send {
    /// Starts it; what it returns runs until dropped.
    fn start(self: Box<Self>, start: &mut Start) -> Result<Box<dyn Running>, Error>;
}

/// A started integration: dropping it stops it (flushing what it must, within bounds).
pub(crate) trait Running: Send + Sync + fmt::Debug {}

/// Checks an integration's settings: what it will start, if anything.
pub(crate) type Prepare = fn(&mut Setup<'_>) -> Result<Option<Box<dyn Prepared>>, Error>;

/// What `inventory` collects for each integration.
pub(crate) struct IntegrationEntry {
    /// Preparation and start order; dropped in the reverse order.
    pub(crate) order: u16,
    /// Checks the settings; `None` when the integration has nothing to run.
    pub(crate) prepare: Prepare,
}

inventory::collect!(IntegrationEntry);

/// Every registered integration, in order.
pub(crate) fn registered() -> Vec<&'static IntegrationEntry> {
    let mut entries: Vec<&'static IntegrationEntry> =
        inventory::iter::<IntegrationEntry>.into_iter().collect();
    entries.sort_by_key(|e| e.order);
    entries
}
