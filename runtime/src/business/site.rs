//! Series fixed at compile time: one `static` per call site whose label values are all
//! literals ([`series!`](crate::series) and `#[business_metric]` on a function).
//!
//! The first use (or the catalogue, at start-up) attaches the site's own per-thread
//! storage to its metric under its label values; from then on recording is one load
//! plus the single-writer slot update of `#[monitor]`. If a series with the same values
//! exists already (created from run-time values), the site records into that one, so a
//! combination of values is never exposed twice.
//!
//! Info sites are the exception: for an info metric, a series that exists says its facts
//! hold, so an info site is attached by its `set()` only, never at start-up.

use std::sync::OnceLock;

use super::erased::Metric;
use super::family::{Family, Series};
use super::handle::{CounterSeries, GaugeSeries, HistogramSeries};
use super::storage::{CounterShards, HistogramShards, Store, StoreRef};

/// Storage a call site owns, by metric kind.
pub trait SiteStore: Sync + Sized + 'static {
    /// What recording goes through.
    type Handle: Copy;
    #[doc(hidden)]
    const NEW: Self;
    /// Whether the site's series exists from start-up, at zero (all kinds but info).
    #[doc(hidden)]
    const EAGER: bool = true;
    #[doc(hidden)]
    fn store(&'static self) -> Option<StoreRef>;
    #[doc(hidden)]
    fn handle(site: &'static Site<Self>) -> Self::Handle;
}

impl SiteStore for CounterShards {
    type Handle = CounterSeries;
    const NEW: Self = CounterShards::new();
    fn store(&'static self) -> Option<StoreRef> {
        Some(StoreRef(Store::Counters(self)))
    }
    #[inline]
    fn handle(site: &'static Site<Self>) -> CounterSeries {
        CounterSeries(site.resolved())
    }
}

impl<const NB: usize> SiteStore for HistogramShards<NB> {
    type Handle = HistogramSeries;
    const NEW: Self = HistogramShards::new();
    fn store(&'static self) -> Option<StoreRef> {
        Some(StoreRef(Store::Histograms(self)))
    }
    #[inline]
    fn handle(site: &'static Site<Self>) -> HistogramSeries {
        HistogramSeries(site.resolved())
    }
}

/// A gauge call site: a gauge is one cell written with stores, so it needs no shards.
#[derive(Debug)]
pub struct GaugeStore;

impl SiteStore for GaugeStore {
    type Handle = GaugeSeries;
    const NEW: Self = GaugeStore;
    fn store(&'static self) -> Option<StoreRef> {
        None
    }
    #[inline]
    fn handle(site: &'static Site<Self>) -> GaugeSeries {
        GaugeSeries(site.resolved())
    }
}

/// An info call site: attaching it is setting it, so only [`InfoSeries::set`] does.
#[derive(Debug)]
pub struct InfoStore;

/// The series of an info metric at a call site: exported from its first
/// [`set`](InfoSeries::set) on, and not before (an info series that exists states facts).
#[derive(Clone, Copy)]
pub struct InfoSeries(&'static Site<InfoStore>);

impl std::fmt::Debug for InfoSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("InfoSeries").field(self.0).finish()
    }
}

impl InfoSeries {
    /// Sets the info series (value 1): it is exported from now on.
    #[inline]
    pub fn set(self) {
        self.0.resolved();
    }
}

impl SiteStore for InfoStore {
    type Handle = InfoSeries;
    const NEW: Self = InfoStore;
    const EAGER: bool = false;
    fn store(&'static self) -> Option<StoreRef> {
        None
    }
    fn handle(site: &'static Site<Self>) -> InfoSeries {
        InfoSeries(site)
    }
}

/// Implemented by the label struct `#[business_metric]` generates for a metric.
pub trait Labels {
    /// The storage a call site with fixed values owns.
    type Store: SiteStore;
}

/// One call site with fixed label values.
pub struct Site<S: 'static> {
    metric: &'static dyn Metric,
    values: &'static [&'static str],
    series: OnceLock<&'static Series>,
    store: S,
}

impl<S> std::fmt::Debug for Site<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site")
            .field("values", &self.values)
            .finish_non_exhaustive()
    }
}

impl<S: SiteStore> Site<S> {
    /// A site of `metric` with these label values, in declaration order.
    pub const fn new(metric: &'static dyn Metric, values: &'static [&'static str]) -> Self {
        Site {
            metric,
            values,
            series: OnceLock::new(),
            store: S::NEW,
        }
    }

    /// The site's series.
    #[inline]
    pub fn series(&'static self) -> S::Handle {
        S::handle(self)
    }

    /// The site's series, attached to its metric on first use.
    #[inline]
    fn resolved(&'static self) -> &'static Series {
        match self.series.get() {
            Some(series) => series,
            None => self.resolve(),
        }
    }

    #[cold]
    #[inline(never)]
    fn resolve(&'static self) -> &'static Series {
        self.series.get_or_init(|| {
            let family: &'static Family = self.metric.family();
            family.attach(self.values, self.store.store().map(|s| s.0))
        })
    }
}

/// Type-erased site, for the catalogue.
pub trait SiteDyn: Sync {
    /// Attaches the site's series at start-up, unless it is an info site (see
    /// [`SiteStore::EAGER`]).
    #[doc(hidden)]
    fn attach_at_startup(&'static self);
}

impl<S: SiteStore> SiteDyn for Site<S> {
    fn attach_at_startup(&'static self) {
        if S::EAGER {
            self.resolve();
        }
    }
}

/// What `inventory` collects for each call site with fixed label values, so their series
/// exist (at zero) before the first call.
#[derive(Clone, Copy)]
pub struct SiteEntry(pub(crate) &'static dyn SiteDyn);

impl SiteEntry {
    /// Wraps a site for registration.
    pub const fn new(site: &'static dyn SiteDyn) -> Self {
        SiteEntry(site)
    }
}

impl std::fmt::Debug for SiteEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SiteEntry")
    }
}

inventory::collect!(SiteEntry);
