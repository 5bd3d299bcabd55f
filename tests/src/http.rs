//! A blocking HTTP client that never turns statuses into errors.

use std::time::Duration;

/// One response, read whole.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

fn read(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Response, String> {
    let mut resp = resp.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// `GET url` with extra headers.
pub fn get_with(url: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    read(req.call())
}

/// `GET url`.
pub fn get(url: &str) -> Result<Response, String> {
    get_with(url, &[])
}

/// A request with a body: `method` is `POST` or `PUT`.
pub fn send(method: &str, url: &str, content_type: &str, body: &str) -> Result<Response, String> {
    let agent = agent();
    let req = match method {
        "PUT" => agent.put(url),
        "POST" => agent.post(url),
        other => return Err(format!("unsupported method {other}")),
    };
    read(req.header("Content-Type", content_type).send(body))
}

/// `DELETE url`.
pub fn delete(url: &str) -> Result<Response, String> {
    read(agent().delete(url).call())
}
