//! Stand-in for the embedded server when the `server` feature is off: an address given
//! explicitly (builder or environment) is an error that says what to enable.

use std::net::SocketAddr;

use crate::Error;

pub(crate) enum Server {}

impl Server {
    pub(crate) fn start(addr: SocketAddr) -> Result<Server, Error> {
        Err(Error::config(
            "listen",
            format!(
                "cannot serve {addr}: flext-observability was built without its `server` feature"
            ),
        ))
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        match *self {}
    }

    pub(crate) fn stop(&mut self) {
        match *self {}
    }
}
