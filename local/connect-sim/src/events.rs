//! Delivery of contact events to EventBridge (moto) with `PutEvents`.
//!
//! A plain HTTP POST in the AWS JSON 1.1 protocol. moto does not check signatures, but it
//! reads the service and region from the credential scope of the `Authorization` header, so
//! the request carries a SigV4-shaped header with a dummy signature.
//!
//! Sources: PutEvents (request `Entries`, response `FailedEntryCount`),
//! <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html>; the
//! `Authorization` header's credential scope, access_key/YYYYMMDD/region/service/aws4_request
//! (the `X-Amz-Credential` format of the APIs' Common Parameters),
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>. Real Connect
//! does not call PutEvents: it hands its events to EventBridge itself (events-ref-connect.html,
//! cited in sim.rs); this is only how the simulator reaches moto's default bus.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Clone)]
pub struct EventSender {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for EventSender {
    fn default() -> Self {
        Self::new()
    }
}

impl EventSender {
    pub fn new() -> Self {
        EventSender {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends one entry; retries transport errors and 5xx a few times (EventBridge ingestion
    /// is at-least-once in spirit: a lost event here would be a simulator fault, not a
    /// simulated one).
    // Source: "In cases where events cannot be delivered because of an EventBridge service
    // disruption, they will be retried again later by the AWS service for up to 24 hours",
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/event-types.html
    // (the simulator retries for under 2 s: enough against a local moto).
    pub async fn put_event(
        &self,
        endpoint: &str,
        region: &str,
        entry: &Value,
    ) -> Result<(), String> {
        let body = json!({ "Entries": [entry] }).to_string();
        let mut last = String::new();
        for attempt in 0..4u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt))).await;
            }
            match self.post(endpoint, region, body.clone()).await {
                Ok(()) => return Ok(()),
                Err((retry, msg)) => {
                    last = msg;
                    if !retry {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    // Source: PutEvents Request Syntax (a JSON body with `Entries`),
    // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
    // Assumed (not documented on the pages found): the AWS JSON 1.1 framing,
    // `X-Amz-Target: AWSEvents.PutEvents` with `application/x-amz-json-1.1` (what the SDKs
    // send and moto reads; only moto receives it, so no verification item).
    // "a response Entries array can include both successful and unsuccessful entries":
    // `FailedEntryCount` 0 is success,
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html
    async fn post(&self, endpoint: &str, region: &str, body: String) -> Result<(), (bool, String)> {
        let uri = format!("{}/", endpoint.trim_end_matches('/'));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=connectsim/20240101/{region}/events/aws4_request, \
             SignedHeaders=content-type;host;x-amz-target, Signature={}",
            "0".repeat(64)
        );
        let req = Request::builder()
            .method(Method::POST)
            .uri(&uri)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "AWSEvents.PutEvents")
            .header("authorization", auth)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| (false, format!("bad request: {e}")))?;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| (true, format!("PutEvents to {uri}: {e}")))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| (true, format!("PutEvents response: {e}")))?
            .to_bytes();
        if status.is_server_error() {
            return Err((true, format!("PutEvents answered {status}")));
        }
        if !status.is_success() {
            return Err((
                false,
                format!(
                    "PutEvents answered {status}: {}",
                    String::from_utf8_lossy(&bytes)
                ),
            ));
        }
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| (false, format!("PutEvents response: {e}")))?;
        match v.get("FailedEntryCount").and_then(Value::as_u64) {
            Some(0) => Ok(()),
            _ => Err((false, format!("PutEvents rejected the entry: {v}"))),
        }
    }
}
