//! The guard `install()` returns, and the order things stop in.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::integration::Running;
use crate::server::Server;

/// The running runtime. Dropping it makes readiness fail, waits the
/// [`drain_delay`](crate::ObservabilityBuilder::drain_delay) if readiness was probed,
/// flushes the exporters, then stops the embedded server (after requests in progress
/// finish) and the health checks; metrics keep being recorded and can be installed again.
///
/// Dropping blocks the dropping thread for that sequence: the drain delay (only when a
/// readiness probe was served), the exporters' final flush and up to 5 s for requests in
/// progress. Inside a multi-threaded Tokio runtime the wait moves off the worker
/// (`block_in_place`); in a current-threaded one, drop the guard at the end of `main`.
#[must_use = "dropping the guard stops the runtime at once"]
pub struct ObservabilityGuard {
    /// Started integrations, in start order.
    running: Vec<Box<dyn Running>>,
    server: Option<Server>,
    health: Option<crate::health::Health>,
    service_name: String,
    resource: std::sync::Arc<crate::identity::Resource>,
    /// Cleared when everything has stopped, so `install()` may run again.
    installed: &'static AtomicBool,
}

impl std::fmt::Debug for ObservabilityGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservabilityGuard")
            .field("running", &self.running)
            .field("server", &self.server)
            .field("health", &self.health)
            .field("service_name", &self.service_name)
            .finish_non_exhaustive()
    }
}

impl ObservabilityGuard {
    pub(crate) fn new(
        running: Vec<Box<dyn Running>>,
        server: Option<Server>,
        health: crate::health::Health,
        service_name: String,
        resource: std::sync::Arc<crate::identity::Resource>,
        installed: &'static AtomicBool,
    ) -> Self {
        ObservabilityGuard {
            running,
            server,
            health: Some(health),
            service_name,
            resource,
            installed,
        }
    }

    /// Where the embedded server listens (useful with port 0), if it runs.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(Server::local_addr)
    }

    /// The resolved service name.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// The resolved `service.instance.id`: which instance of the service this process is
    /// (see [`InstanceId`](crate::InstanceId)).
    ///
    /// ```
    /// let guard = flext_observability::Observability::builder()
    ///     .without_server()
    ///     .service_instance_id(flext_observability::InstanceId::Fixed("orders-7".into()))
    ///     .install()?;
    /// assert_eq!(guard.service_instance_id(), "orders-7");
    /// # Ok::<(), flext_observability::Error>(())
    /// ```
    pub fn service_instance_id(&self) -> &str {
        self.resource.instance_id()
    }

    /// The resolved resource attributes, `service.name` first: what the OTLP resource
    /// and `target_info` carry (see
    /// [`resource_attribute`](crate::ObservabilityBuilder::resource_attribute)).
    pub fn resource_attributes(&self) -> &[(String, String)] {
        &self.resource.attributes
    }

    /// Stops everything now; the same as dropping the guard.
    pub fn shutdown(self) {}

    fn stop_all(&mut self) {
        // Readiness fails first and load balancers get the drain delay to notice; then
        // integrations stop, last started first (exporters flush: their last export
        // still sees everything), then the server stops, then the checks.
        if let Some(health) = &self.health {
            health.drain(self.server.is_some());
        }
        while let Some(running) = self.running.pop() {
            drop(running);
        }
        if let Some(mut server) = self.server.take() {
            server.stop();
        }
        if let Some(health) = self.health.take() {
            health.stop();
        }
        self.installed.store(false, Ordering::Release);
    }
}

impl Drop for ObservabilityGuard {
    fn drop(&mut self) {
        let in_worker = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if in_worker {
            // The other workers keep the application's tasks running meanwhile.
            tokio::task::block_in_place(|| self.stop_all());
        } else {
            self.stop_all();
        }
    }
}
