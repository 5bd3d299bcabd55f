//! Stand-in for the embedded server when the `server` feature is off: an address given
//! explicitly (builder or environment) is an error that says what to enable.

use std::net::SocketAddr;

use crate::error::Error;

#[derive(Debug)]
pub(crate) enum Server {}

/// Never exists: binding fails first.
pub(crate) enum Bound {}

impl Bound {
    pub(crate) fn local_addr(&self) -> SocketAddr {
        match *self {}
    }

    pub(crate) fn serve(self) -> Result<Server, Error> {
        match self {}
    }
}

impl Server {
    pub(crate) fn bind(addr: SocketAddr) -> Result<Bound, Error> {
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
