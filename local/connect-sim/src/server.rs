//! HTTP: the Connect REST-JSON operations the functions call, and the `/_sim/` control API.
//!
//! Paths, methods and field names are those of the AWS SDKs (checked against
//! `aws-sdk-connect`'s serializers); errors carry their name in `x-amzn-errortype` and
//! `__type`, which both the Rust SDK and botocore read.

use crate::config::{HoursOverride, SimConfig};
use crate::events::EventSender;
use crate::hours;
use crate::sim::{ApiError, PendingEvent, Simulator, StartRequest};
use bytes::Bytes;
use chrono::Utc;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

pub struct App {
    sim: Mutex<Simulator>,
    origin: Instant,
    sender: EventSender,
    verbose: bool,
    request_ids: AtomicU64,
}

pub type Shared = Arc<App>;

impl App {
    pub fn new(config: SimConfig, verbose: bool) -> Shared {
        Arc::new(App {
            sim: Mutex::new(Simulator::new(config, 0.0)),
            origin: Instant::now(),
            sender: EventSender::new(),
            verbose,
            request_ids: AtomicU64::new(1),
        })
    }

    fn mono(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    fn sim(&self) -> MutexGuard<'_, Simulator> {
        // A panic while holding the lock must not take the whole simulator down with it.
        self.sim.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn stats(&self) -> Value {
        self.sim().stats(true)
    }
}

type Resp = Response<Full<Bytes>>;

// Source: "If the action is successful, the service sends back an HTTP 200 response", with a
// JSON body ("Content-type: application/json"), on each operation's page, e.g.
// https://docs.aws.amazon.com/connect/latest/APIReference/API_DescribeQueue.html
// Assumed (not documented for Connect): the `x-amzn-RequestId` response header; the SDKs read
// it as the request id, no Connect page names it ("wire shape" row, docs/aws-verification.md
// section 13).
fn json_response(app: &App, status: u16, v: &Value) -> Resp {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .header(
            "x-amzn-requestid",
            format!(
                "sim-{:012}",
                app.request_ids.fetch_add(1, Ordering::Relaxed)
            ),
        )
        .body(Full::new(Bytes::from(v.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

// Source: the error names and HTTP status codes of each operation's "Errors" section, and
// "Client errors are indicated by HTTP Status Code class of 4xx",
// https://docs.aws.amazon.com/connect/latest/APIReference/best-practices-connect-apis.html
// Assumed (not documented on docs.aws.amazon.com): the wire shape, the error name in the
// `x-amzn-errortype` header and in `__type`, with `message`. It is the Smithy restJson1
// protocol (smithy.io, "AWS restJson1 protocol"), which the SDKs decode; a real error of S4 or
// R3 shows it.
fn error_response(app: &App, e: &ApiError) -> Resp {
    let mut r = json_response(
        app,
        e.status,
        &json!({"__type": e.code, "message": e.message}),
    );
    if let Ok(v) = e.code.parse() {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

fn control_error(app: &App, message: impl Into<String>) -> Resp {
    json_response(app, 400, &json!({"error": message.into()}))
}

/// Path labels are percent-encoded by the SDKs (an instance ARN holds `:` and `/`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn body_json(req: Request<Incoming>) -> Result<Value, String> {
    let bytes = req
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the body: {e}"))?
        .to_bytes();
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("the body is not JSON: {e}"))
}

/// Sends a contact event (and its duplicate) to EventBridge and records the deliveries.
// Source: Amazon Connect sends its contact events to EventBridge, "Delivery type: Best
// effort", https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-connect.html
// Assumed (not documented): how long after the end the event arrives (here: at once) and
// how far apart a duplicate comes (`duplicateDelaySeconds`); E6 and L1 observe delivery.
async fn deliver(app: Shared, event: PendingEvent, generation: u64) {
    let (endpoint, region, dup_delay) = {
        let sim = app.sim();
        (
            sim.config.events_endpoint.clone(),
            sim.config.region.clone(),
            sim.config.duplicate_delay_seconds,
        )
    };
    for copy in 0..event.copies {
        if copy > 0 {
            tokio::time::sleep(Duration::from_secs_f64(dup_delay)).await;
        }
        let ok = match &endpoint {
            Some(url) => match app.sender.put_event(url, &region, &event.entry).await {
                Ok(()) => true,
                Err(e) => {
                    eprintln!(
                        "connect-sim: event for contact {} not delivered: {e}",
                        event.contact_id
                    );
                    false
                }
            },
            None => false,
        };
        app.sim().event_delivered(&event.contact_id, generation, ok);
    }
}

/// Plays one placed call: optional lifecycle events, then its end and DISCONNECTED event.
// Source: the event types and their order, INITIATED, CONNECTED_TO_SYSTEM (answered),
// DISCONNECTED, https://docs.aws.amazon.com/connect/latest/adminguide/contact-events.html
fn schedule_call(app: Shared, contact_id: String, plan: crate::sim::CallPlan, generation: u64) {
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        let initiated = app
            .sim()
            .lifecycle_event(&contact_id, "INITIATED", generation, Utc::now());
        if let Some(ev) = initiated {
            tokio::spawn(deliver(app.clone(), ev, generation));
        }
        if let Some(answer) = plan.answer_after {
            tokio::time::sleep_until(start + Duration::from_secs_f64(answer)).await;
            let connected = app.sim().lifecycle_event(
                &contact_id,
                "CONNECTED_TO_SYSTEM",
                generation,
                Utc::now(),
            );
            if let Some(ev) = connected {
                tokio::spawn(deliver(app.clone(), ev, generation));
            }
        }
        tokio::time::sleep_until(start + Duration::from_secs_f64(plan.end_after)).await;
        let ended = app.sim().finish(&contact_id, generation, Utc::now(), false);
        if let Some(ev) = ended {
            deliver(app, ev, generation).await;
        }
    });
}

// Source: StartOutboundVoiceContact, "PUT /contact/outbound-voice", "HTTP/1.1 200" with
// `{"ContactId": "string"}`, and its Errors (rules in `Simulator::start_outbound`),
// https://docs.aws.amazon.com/connect/latest/APIReference/API_StartOutboundVoiceContact.html
async fn start_outbound(app: Shared, req: Request<Incoming>) -> Resp {
    let body = match body_json(req).await {
        Ok(b) => b,
        Err(e) => return error_response(&app, &ApiError::new(400, "SerializationException", e)),
    };
    let parsed = match StartRequest::from_json(&body) {
        Ok(r) => r,
        Err(e) => return error_response(&app, &e),
    };
    let started = {
        let mono = app.mono();
        app.sim().start_outbound(parsed, mono, Utc::now())
    };
    match started {
        Ok(s) => {
            if app.verbose {
                eprintln!(
                    "connect-sim: {} {}{}",
                    if s.replay { "replayed" } else { "placed" },
                    s.contact_id,
                    s.plan
                        .as_ref()
                        .map(|p| format!(
                            " outcome={} ends in {:.2}s",
                            p.outcome.as_str(),
                            p.end_after
                        ))
                        .unwrap_or_default()
                );
            }
            let id = s.contact_id.clone();
            if let Some(plan) = s.plan {
                schedule_call(app.clone(), s.contact_id, plan, s.generation);
            }
            if s.stall_seconds > 0.0 {
                // The call rings (and may end) while the caller still waits for this answer.
                tokio::time::sleep(Duration::from_secs_f64(s.stall_seconds)).await;
            }
            json_response(&app, 200, &json!({ "ContactId": id }))
        }
        Err(e) => error_response(&app, &e),
    }
}

// Source: StopContact, "POST /contact/stop" with `ContactId` and `InstanceId` ("Required:
// Yes"); "the service sends back an HTTP 200 response with an empty HTTP body",
// https://docs.aws.amazon.com/connect/latest/APIReference/API_StopContact.html
// Differs from the documentation: the body is `{}`, not empty (the SDKs accept both), and
// the optional `DisconnectReason` ("Only Amazon Connect outbound campaigns can provide this
// field") is ignored. The dialer never calls StopContact.
async fn stop_contact(app: Shared, req: Request<Incoming>) -> Resp {
    let body = match body_json(req).await {
        Ok(b) => b,
        Err(e) => return error_response(&app, &ApiError::new(400, "SerializationException", e)),
    };
    let (Some(instance), Some(contact)) = (
        body.get("InstanceId").and_then(Value::as_str),
        body.get("ContactId").and_then(Value::as_str),
    ) else {
        return error_response(
            &app,
            &ApiError::new(
                400,
                "InvalidParameterException",
                "InstanceId and ContactId are required",
            ),
        );
    };
    let outcome = {
        let mut sim = app.sim();
        let generation = sim.generation();
        sim.stoppable(instance, contact).map(|_| {
            (
                sim.finish(contact, generation, Utc::now(), true),
                generation,
            )
        })
    };
    match outcome {
        Ok((event, generation)) => {
            if let Some(ev) = event {
                tokio::spawn(deliver(app.clone(), ev, generation));
            }
            json_response(&app, 200, &json!({}))
        }
        Err(e) => error_response(&app, &e),
    }
}

async fn control(
    app: Shared,
    method: &Method,
    rest: &[String],
    query: &str,
    req: Request<Incoming>,
) -> Resp {
    match (
        method,
        rest.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
    ) {
        (&Method::GET, ["health"]) => json_response(&app, 200, &json!({"status": "ok"})),
        (&Method::GET, ["config"]) => {
            let cfg = app.sim().config.clone();
            json_response(&app, 200, &json!(cfg))
        }
        (&Method::POST, ["config"]) => {
            let patch = match body_json(req).await {
                Ok(p) => p,
                Err(e) => return control_error(&app, e),
            };
            let mono = app.mono();
            let mut sim = app.sim();
            match sim.config.merged(&patch) {
                Ok(next) => {
                    sim.set_config(next, mono);
                    let cfg = sim.config.clone();
                    drop(sim);
                    json_response(&app, 200, &json!(cfg))
                }
                Err(e) => control_error(&app, e),
            }
        }
        (&Method::POST, ["hours", "closed-for"]) => {
            let body = match body_json(req).await {
                Ok(b) => b,
                Err(e) => return control_error(&app, e),
            };
            let Some(seconds) = body.get("seconds").and_then(Value::as_u64) else {
                return control_error(&app, "seconds (a positive integer) is required");
            };
            let mut sim = app.sim();
            match hours::closed_for(&sim.config.hours, Utc::now(), seconds) {
                Ok((h, opens_at)) => {
                    sim.config.hours = h.clone();
                    drop(sim);
                    json_response(
                        &app,
                        200,
                        &json!({"opensAt": opens_at.to_rfc3339(), "hours": h}),
                    )
                }
                Err(e) => control_error(&app, e),
            }
        }
        // An hours-of-operation override (a holiday), in CreateHoursOfOperationOverride's
        // shape (config.rs `HoursOverride`): applied by GetEffectiveHoursOfOperations and the
        // placedWhileClosed oracle, never listed by DescribeHoursOfOperation.
        (&Method::POST, ["hours", "overrides"]) => {
            let body = match body_json(req).await {
                Ok(b) => b,
                Err(e) => return control_error(&app, e),
            };
            let mut o: HoursOverride = match serde_json::from_value(body) {
                Ok(o) => o,
                Err(e) => return control_error(&app, format!("override: {e}")),
            };
            let mono = app.mono();
            let mut sim = app.sim();
            let mut next = sim.config.clone();
            // The next number after the highest id present.
            let n = next
                .hours
                .overrides
                .iter()
                .filter_map(|o| {
                    o.hours_of_operation_override_id
                        .strip_prefix("sim-override-")
                })
                .filter_map(|n| n.parse::<u32>().ok())
                .max()
                .unwrap_or(0)
                + 1;
            o.hours_of_operation_override_id = format!("sim-override-{n:04}");
            next.hours.overrides.push(o.clone());
            if let Err(e) = next.validate() {
                return control_error(&app, e);
            }
            sim.set_config(next, mono);
            drop(sim);
            json_response(&app, 200, &json!({"override": o}))
        }
        (&Method::DELETE, ["hours", "overrides"]) => {
            let removed = std::mem::take(&mut app.sim().config.hours.overrides).len();
            json_response(&app, 200, &json!({"removed": removed}))
        }
        (&Method::DELETE, ["hours", "overrides", id]) => {
            let mut sim = app.sim();
            let before = sim.config.hours.overrides.len();
            sim.config
                .hours
                .overrides
                .retain(|o| o.hours_of_operation_override_id != *id);
            let removed = before - sim.config.hours.overrides.len();
            drop(sim);
            if removed == 0 {
                return json_response(&app, 404, &json!({"error": format!("no override {id}")}));
            }
            json_response(&app, 200, &json!({"removed": removed}))
        }
        (&Method::POST, ["queue", "status"]) => {
            let body = match body_json(req).await {
                Ok(b) => b,
                Err(e) => return control_error(&app, e),
            };
            let Some(status) = body.get("status").and_then(Value::as_str) else {
                return control_error(&app, "status (ENABLED or DISABLED) is required");
            };
            let for_seconds = body.get("forSeconds").and_then(Value::as_f64);
            let mono = app.mono();
            let mut sim = app.sim();
            match sim.set_queue_status(status, for_seconds, mono) {
                Ok(()) => {
                    let now = sim.queue_status(mono);
                    drop(sim);
                    json_response(
                        &app,
                        200,
                        &json!({"status": now, "forSeconds": for_seconds}),
                    )
                }
                Err(e) => control_error(&app, e),
            }
        }
        (&Method::GET, ["stats"]) => {
            let with_contacts = !query
                .split('&')
                .any(|kv| kv == "contacts=false" || kv == "contacts=0");
            let stats = app.sim().stats(with_contacts);
            json_response(&app, 200, &stats)
        }
        (&Method::POST, ["reset"]) => {
            let mono = app.mono();
            let defaults = query
                .split('&')
                .any(|kv| kv == "config=true" || kv == "config=1");
            let mut sim = app.sim();
            sim.reset(mono);
            if defaults {
                // Keep where events go: the endpoint is a property of the stack, not a knob.
                let endpoint = sim.config.events_endpoint.clone();
                let next = SimConfig {
                    events_endpoint: endpoint,
                    ..SimConfig::default()
                };
                sim.set_config(next, mono);
            }
            drop(sim);
            json_response(
                &app,
                200,
                &json!({"reset": true, "config": if defaults { "defaults" } else { "kept" }}),
            )
        }
        _ => json_response(&app, 404, &json!({"error": "unknown /_sim/ endpoint"})),
    }
}

pub async fn handle(app: Shared, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let method = req.method().clone();
    let query = req.uri().query().unwrap_or("").to_string();
    let segs: Vec<String> = req
        .uri()
        .path()
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    // Each route is the "Request Syntax" line of the operation's API reference page
    // (https://docs.aws.amazon.com/connect/latest/APIReference/API_<Operation>.html); the
    // handlers in sim.rs cite each page in full.
    let resp = match (&method, s.as_slice()) {
        (&Method::PUT, ["contact", "outbound-voice"]) => start_outbound(app.clone(), req).await,
        (&Method::POST, ["contact", "stop"]) => stop_contact(app.clone(), req).await,
        // DescribeContact: "GET /contacts/InstanceId/ContactId".
        (&Method::GET, ["contacts", instance, contact]) => {
            let r = app.sim().describe_contact(instance, contact, Utc::now());
            r.map(|v| json_response(&app, 200, &v))
                .unwrap_or_else(|e| error_response(&app, &e))
        }
        // GetContactAttributes: "GET /contact/attributes/InstanceId/InitialContactId".
        (&Method::GET, ["contact", "attributes", instance, contact]) => {
            let r = app.sim().contact_attributes(instance, contact);
            r.map(|v| json_response(&app, 200, &v))
                .unwrap_or_else(|e| error_response(&app, &e))
        }
        // DescribeQueue: "GET /queues/InstanceId/QueueId".
        (&Method::GET, ["queues", instance, queue]) => {
            let mono = app.mono();
            let r = app.sim().describe_queue(instance, queue, mono);
            r.map(|v| json_response(&app, 200, &v))
                .unwrap_or_else(|e| error_response(&app, &e))
        }
        // DescribeHoursOfOperation: "GET /hours-of-operations/InstanceId/HoursOfOperationId".
        (&Method::GET, ["hours-of-operations", instance, hours_id]) => {
            let r = app.sim().describe_hours(instance, hours_id, Utc::now());
            r.map(|v| json_response(&app, 200, &v))
                .unwrap_or_else(|e| error_response(&app, &e))
        }
        // GetEffectiveHoursOfOperations: "GET /effective-hours-of-operations/InstanceId/
        // HoursOfOperationId?fromDate=FromDate&toDate=ToDate".
        (&Method::GET, ["effective-hours-of-operations", instance, hours_id]) => {
            let param = |name: &str| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .map(percent_decode)
            };
            let (from, to) = (param("fromDate"), param("toDate"));
            let r = app
                .sim()
                .effective_hours(instance, hours_id, from.as_deref(), to.as_deref());
            r.map(|v| json_response(&app, 200, &v))
                .unwrap_or_else(|e| error_response(&app, &e))
        }
        (_, ["_sim", ..]) => control(app.clone(), &method, &segs[1..], &query, req).await,
        // Assumed (not documented): `UnknownOperationException` (404) for a path Connect has
        // no operation for; not a Connect behaviour the dialer relies on, a test signal that a
        // function calls something the simulator lacks ("wire shape" row of section 13).
        _ => {
            app.sim().counters.unknown_requests += 1;
            eprintln!(
                "connect-sim: unsupported operation {method} {}",
                segs.join("/")
            );
            error_response(
                &app,
                &ApiError::new(
                    404,
                    "UnknownOperationException",
                    format!(
                        "connect-sim does not implement {method} /{}",
                        segs.join("/")
                    ),
                ),
            )
        }
    };
    Ok(resp)
}

/// Accepts connections until `shutdown` resolves.
pub async fn serve(
    app: Shared,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer): (_, SocketAddr) = accepted?;
                let app = app.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(app.clone(), req));
                    if let Err(e) = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                    {
                        if !e.is_incomplete_message() {
                            eprintln!("connect-sim: connection error: {e}");
                        }
                    }
                });
            }
            _ = &mut shutdown => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_path_labels() {
        assert_eq!(
            percent_decode("arn%3Aaws%3Aconnect%3Aus-east-1%3A1%3Ainstance%2Fabc"),
            "arn:aws:connect:us-east-1:1:instance/abc"
        );
        assert_eq!(percent_decode("plain-id"), "plain-id");
        assert_eq!(percent_decode("bad%zzend%"), "bad%zzend%");
    }
}
