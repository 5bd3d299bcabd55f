//! The messages of `grpc.health.v1` (grpc/grpc-proto `grpc/health/v1/health.proto`,
//! with `List`), written out: five small messages need no code generator.

use std::collections::HashMap;

/// `HealthCheckRequest`: the service asked about (`""`: the server as a whole).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    pub(crate) service: String,
}

/// `HealthCheckResponse`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub(crate) struct HealthCheckResponse {
    #[prost(enumeration = "ServingStatus", tag = "1")]
    pub(crate) status: i32,
}

impl HealthCheckResponse {
    pub(crate) fn of(status: ServingStatus) -> Self {
        HealthCheckResponse {
            status: status as i32,
        }
    }
}

/// `HealthCheckResponse.ServingStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub(crate) enum ServingStatus {
    Unknown = 0,
    Serving = 1,
    NotServing = 2,
    /// Used only by `Watch`.
    ServiceUnknown = 3,
}

/// `HealthListRequest`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub(crate) struct HealthListRequest {}

/// `HealthListResponse`: every service by name.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HealthListResponse {
    #[prost(map = "string, message", tag = "1")]
    pub(crate) statuses: HashMap<String, HealthCheckResponse>,
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn messages_have_the_wire_format_of_the_proto() {
        // Field 1, length-delimited, "db".
        let request = HealthCheckRequest {
            service: "db".into(),
        };
        assert_eq!(request.encode_to_vec(), [0x0a, 2, b'd', b'b']);
        // Field 1, varint, 2 (NOT_SERVING).
        let response = HealthCheckResponse::of(ServingStatus::NotServing);
        assert_eq!(response.encode_to_vec(), [0x08, 2]);
        // Map entry: field 1 of the list, holding value (2) {status 1}; the key, "",
        // is the default and left out, as proto3 encoders do.
        let mut list = HealthListResponse::default();
        list.statuses.insert(
            String::new(),
            HealthCheckResponse::of(ServingStatus::Serving),
        );
        assert_eq!(list.encode_to_vec(), [0x0a, 4, 0x12, 2, 0x08, 1]);
        let back = HealthListResponse::decode(&list.encode_to_vec()[..]).unwrap();
        assert_eq!(back, list);
    }
}
