//! The whisper-flow handler.
//!
//! Input: the Connect contact-flow event. The number being called is
//! `Details.ContactData.CustomerEndpoint.Address`; the queue is `Details.ContactData.Queue`,
//! which Connect sends as an object `{"ARN", "Name", "OutboundCallerId": {"Address", "Type"}}`,
//! older flows and hand-written tests as a plain string (the queue's name), and may be absent or
//! `null`.
//!
//! Output: the flat string map Connect requires (`CallerIdAnswer`). On any routing problem the
//! answer carries the queue's own outbound number and says why in `routing_status`.
//!
//! # Malformed events get an answer, not an error
//!
//! Whatever the event, the handler answers (with `routing_status = invalid_customer_number` when
//! there is no usable customer number) and never returns an error or panics. A Lambda error in
//! a flow also ends with the queue's number, but it goes down the flow's error branch, shows in
//! CloudWatch as a failed invocation, and says nothing about why; a fallback answer gives the
//! same caller ID and tells the flow and the logs what was wrong.

use outbound_core::mask::mask_phone;
use outbound_core::phone;
use outbound_core::routing::{route_with, Decision, FallbackReason};
use outbound_core::routing_cache::{RoutingCache, RoutingSource};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Mutex;

/// The answer to Connect: every value a string, as contact attributes must be.
///
/// Only what a flow may use: the customer's number is not echoed back (the flow has it already
/// as the contact's endpoint, and a flow with logging on would write it in clear to its log).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerIdAnswer {
    /// ISO 3166-1 alpha-2 country of the customer number, empty when unknown.
    pub customer_country: String,
    /// The caller ID to use: the routed number, or the queue's number on a fallback.
    pub outbound_number: String,
    /// Country of `outbound_number`, empty when unknown.
    pub outbound_country: String,
    /// The queue's outbound caller ID from the event, empty when the event has none.
    pub default_queue_outbound_number: String,
    pub default_queue_outbound_country: String,
    /// `prefix`, `country`, `default` (a rule answered), or why the answer fell back:
    /// `invalid_customer_number`, `no_rule`, `not_configured`, `missing`, `malformed`,
    /// `access_denied`, `unreachable`.
    pub routing_status: String,
    /// The routing-file key that answered (`+1212`, `US`, `Default`), empty on a fallback.
    pub routing_rule: String,
}

/// The fields of the event the handler uses; everything else is ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContactFields<'a> {
    pub contact_id: Option<&'a str>,
    pub customer_number: Option<&'a str>,
    pub queue_number: Option<&'a str>,
}

/// Reads the fields from any JSON value; a field of the wrong type counts as absent.
pub fn read_event(event: &Value) -> ContactFields<'_> {
    let contact = event.get("Details").and_then(|d| d.get("ContactData"));
    let Some(contact) = contact else {
        return ContactFields::default();
    };
    let queue_number = match contact.get("Queue") {
        Some(Value::Object(queue)) => match queue.get("OutboundCallerId") {
            Some(caller_id @ Value::Object(_)) => text(caller_id.get("Address")),
            other => text(other),
        },
        // A string is the queue's name: it carries no number.
        _ => None,
    };
    ContactFields {
        contact_id: text(contact.get("ContactId")),
        customer_number: text(
            contact
                .get("CustomerEndpoint")
                .and_then(|e| e.get("Address")),
        ),
        queue_number,
    }
}

/// A non-empty string field, trimmed; anything else is absent.
fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The function's state across invocations: the routing cache (`None` when no routing file is
/// configured) and the countries of the queue numbers seen so far.
#[derive(Debug)]
pub struct CallerId<S> {
    routing: Option<RoutingCache<S>>,
    queue_countries: QueueCountries,
}

impl<S: RoutingSource> CallerId<S> {
    pub fn new(routing: Option<RoutingCache<S>>) -> Self {
        Self {
            routing,
            queue_countries: QueueCountries::default(),
        }
    }

    pub fn routing(&self) -> Option<&RoutingCache<S>> {
        self.routing.as_ref()
    }

    /// Answers one contact-flow event. Never fails (see the module documentation).
    pub async fn handle(&self, event: &Value) -> CallerIdAnswer {
        let fields = read_event(event);
        let customer = fields.customer_number.unwrap_or("");
        let view = match &self.routing {
            Some(cache) => Some(cache.current().await),
            None => None,
        };
        let decision = match &view {
            Some(view) => view.route(customer),
            None => route_with(Err(FallbackReason::NotConfigured), customer),
        };
        let queue_country = fields
            .queue_number
            .and_then(|n| self.queue_countries.country_of(n));
        answer(&fields, &decision, queue_country)
    }
}

/// Countries of queue numbers, remembered: a queue's number is configuration, the same on nearly
/// every call, and finding a number's country is the largest part of a call's time. Customer numbers are not remembered: each customer is called rarely, and a memo would
/// only make the benchmark look better.
#[derive(Debug, Default)]
struct QueueCountries(Mutex<Vec<(String, Option<String>)>>);

/// More distinct queue numbers than this and the memo starts over (bounded memory).
const QUEUE_MEMO_SIZE: usize = 32;

impl QueueCountries {
    fn country_of(&self, number: &str) -> Option<String> {
        // A poisoned lock only means another call panicked mid-insert: the data is still valid.
        let mut memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, country)) = memo.iter().find(|(n, _)| n == number) {
            return country.clone();
        }
        let country = phone::region_of(number).map(str::to_string);
        if memo.len() >= QUEUE_MEMO_SIZE {
            memo.clear();
        }
        memo.push((number.to_string(), country.clone()));
        country
    }
}

fn answer(
    fields: &ContactFields<'_>,
    decision: &Decision<'_>,
    queue_country: Option<String>,
) -> CallerIdAnswer {
    let queue_number = fields.queue_number.unwrap_or("");
    let (outbound_number, outbound_country) = match decision.source_number() {
        Some(number) => (number, decision.source_country().map(str::to_string)),
        None => (queue_number, queue_country.clone()),
    };
    let customer_country = decision
        .customer
        .as_ref()
        .and_then(|c| c.country.clone())
        .unwrap_or_default();
    let answer = CallerIdAnswer {
        customer_country,
        outbound_number: outbound_number.to_string(),
        outbound_country: outbound_country.unwrap_or_default(),
        default_queue_outbound_number: queue_number.to_string(),
        default_queue_outbound_country: queue_country.unwrap_or_default(),
        routing_status: decision.routing_status().to_string(),
        routing_rule: decision.routing_rule().to_string(),
    };
    log_answer(fields, &answer);
    answer
}

fn log_answer(fields: &ContactFields<'_>, answer: &CallerIdAnswer) {
    // Rule keys can be whole numbers (a prefix key for one customer): masked like numbers.
    let rule = if answer.routing_rule.starts_with('+') {
        mask_rule(&answer.routing_rule)
    } else {
        answer.routing_rule.clone()
    };
    tracing::info!(
        contact_id = fields.contact_id.unwrap_or(""),
        customer = %mask_phone(fields.customer_number.unwrap_or("")),
        customer_country = %answer.customer_country,
        outbound = %mask_phone(&answer.outbound_number),
        outbound_country = %answer.outbound_country,
        routing_status = %answer.routing_status,
        routing_rule = %rule,
        "caller id chosen"
    );
}

/// Short prefixes (`+1212`) are not personal data and are what an operator needs to see; a key
/// long enough to be a whole number is masked.
fn mask_rule(rule: &str) -> String {
    if rule.len() > 8 {
        mask_phone(rule)
    } else {
        rule.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outbound_core::routing_cache::{FetchError, Fetched};
    use serde_json::json;
    use std::path::PathBuf;
    use std::time::Duration;

    /// A source that always answers the same way.
    struct Fixed(Result<Fetched, FetchError>);

    impl RoutingSource for Fixed {
        async fn fetch(&self, _if_none_match: Option<&str>) -> Result<Fetched, FetchError> {
            self.0.clone()
        }
    }

    fn cache_with(json: &str) -> CallerId<Fixed> {
        serving(Ok(Fetched::Body {
            bytes: json.as_bytes().to_vec(),
            etag: Some("\"e1\"".into()),
        }))
    }

    fn serving(answer: Result<Fetched, FetchError>) -> CallerId<Fixed> {
        CallerId::new(Some(RoutingCache::new(
            Fixed(answer),
            Duration::from_secs(60),
        )))
    }

    fn repo_root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn sample_cache() -> CallerId<Fixed> {
        let path = repo_root().join("sample-files/routing.json");
        cache_with(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}")))
    }

    fn event(customer: Value, queue: Option<Value>) -> Value {
        let mut contact = json!({
            "ContactId": "5a8e4cc1-7f1c-4a9e-9c5d-3f1b2a6c0d11",
            "Channel": "VOICE",
            "CustomerEndpoint": {"Address": customer, "Type": "TELEPHONE_NUMBER"},
            "InitiationMethod": "OUTBOUND",
        });
        if let Some(q) = queue {
            contact["Queue"] = q;
        }
        json!({"Details": {"ContactData": contact, "Parameters": {}}, "Name": "ContactFlowEvent"})
    }

    fn queue_object(number: &str) -> Value {
        json!({
            "ARN": "arn:aws:connect:eu-west-2:123456789012:instance/i/queue/q",
            "Name": "BasicQueue",
            "OutboundCallerId": {"Address": number, "Type": "TELEPHONE_NUMBER"}
        })
    }

    /// Every fixture event against the sample routing file, answers from the shared table the
    /// end-to-end test of the built binary also checks.
    #[tokio::test]
    async fn fixtures_answer_as_expected() {
        let dir = repo_root().join("tests/fixtures/connect-events");
        let expected: serde_json::Map<String, Value> = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expected/answers.json")).unwrap(),
        )
        .unwrap();
        let cache = sample_cache();
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let event: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let want: CallerIdAnswer = serde_json::from_value(
                expected
                    .get(&name)
                    .unwrap_or_else(|| panic!("no expected answer for {name}"))
                    .clone(),
            )
            .unwrap();
            assert_eq!(cache.handle(&event).await, want, "{name}");
            checked += 1;
        }
        assert_eq!(
            checked,
            expected.len(),
            "every expected answer has a fixture"
        );
        assert!(checked >= 8);
    }

    #[tokio::test]
    async fn queue_as_object_string_or_absent() {
        let cache = cache_with(r#"{"US": "+12065550100"}"#);
        // Routed: the queue's number is still reported.
        let a = cache
            .handle(&event(
                json!("+13055550147"),
                Some(queue_object("+442079460999")),
            ))
            .await;
        assert_eq!(a.outbound_number, "+12065550100");
        assert_eq!(a.outbound_country, "US");
        assert_eq!(a.default_queue_outbound_number, "+442079460999");
        assert_eq!(a.default_queue_outbound_country, "GB");

        // No rule for France: the queue's number, whatever shape the queue has.
        let fr = json!("+33142685300");
        let cases = [
            (Some(queue_object("+442079460999")), "+442079460999", "GB"),
            (
                Some(json!({"OutboundCallerId": "+442079460999"})),
                "+442079460999",
                "GB",
            ),
            (Some(json!("BasicQueue")), "", ""),
            (
                Some(json!({"Name": "BasicQueue", "OutboundCallerId": null})),
                "",
                "",
            ),
            (Some(Value::Null), "", ""),
            (None, "", ""),
        ];
        for (queue, number, country) in cases {
            let a = cache.handle(&event(fr.clone(), queue.clone())).await;
            assert_eq!(a.routing_status, "no_rule", "{queue:?}");
            assert_eq!(a.outbound_number, number, "{queue:?}");
            assert_eq!(a.outbound_country, country, "{queue:?}");
            assert_eq!(a.default_queue_outbound_number, number, "{queue:?}");
            assert_eq!(a.customer_country, "FR");
        }
    }

    #[tokio::test]
    async fn routing_problems_fall_back_to_the_queue_number() {
        let queue = Some(queue_object("+442079460999"));
        let us = json!("+13055550147");
        let not_json = cache_with("{\"US\": ");
        let unreachable = serving(Err(FetchError::Unreachable("connection failed".into())));
        let missing = serving(Err(FetchError::NotFound {
            code: "NoSuchKey".into(),
        }));
        let denied = serving(Err(FetchError::AccessDenied {
            code: "AccessDenied".into(),
        }));
        let unconfigured = CallerId::<Fixed>::new(None);
        let answers = [
            (
                not_json.handle(&event(us.clone(), queue.clone())).await,
                "malformed",
            ),
            (
                unreachable.handle(&event(us.clone(), queue.clone())).await,
                "unreachable",
            ),
            (
                missing.handle(&event(us.clone(), queue.clone())).await,
                "missing",
            ),
            (
                denied.handle(&event(us.clone(), queue.clone())).await,
                "access_denied",
            ),
            (
                unconfigured.handle(&event(us.clone(), queue.clone())).await,
                "not_configured",
            ),
        ];
        for (a, status) in answers {
            assert_eq!(a.routing_status, status);
            assert_eq!(a.routing_rule, "");
            assert_eq!(a.outbound_number, "+442079460999", "{status}");
            assert_eq!(a.outbound_country, "GB");
            assert_eq!(a.customer_country, "US");
        }
    }

    #[tokio::test]
    async fn malformed_events_get_a_fallback_answer() {
        let cache = sample_cache();
        let queue = Some(queue_object("+442079460999"));
        let events = [
            json!(null),
            json!("a string"),
            json!(42),
            json!([]),
            json!({}),
            json!({"Details": null}),
            json!({"Details": {"ContactData": "x"}}),
            json!({"Details": {"ContactData": {"CustomerEndpoint": null}}}),
            event(json!(12125550199u64), queue.clone()),
            event(json!(null), queue.clone()),
            event(json!(""), queue.clone()),
            event(json!("   "), queue.clone()),
            event(json!("anonymous"), queue.clone()),
            event(json!("2125550199"), queue.clone()),
            event(json!("+1 212 555 0199"), queue.clone()),
            event(json!("+١٢١٢٥٥٥٠١٩٩"), queue.clone()),
        ];
        for e in events {
            let a = cache.handle(&e).await;
            assert_eq!(a.routing_status, "invalid_customer_number", "{e}");
            assert_eq!(a.customer_country, "", "{e}");
            let has_queue = read_event(&e).queue_number.is_some();
            assert_eq!(
                a.outbound_number,
                if has_queue { "+442079460999" } else { "" },
                "{e}"
            );
        }
    }

    #[tokio::test]
    async fn answer_is_a_flat_string_map() {
        let cache = sample_cache();
        let a = cache.handle(&event(json!("+13055550147"), None)).await;
        let v = serde_json::to_value(&a).unwrap();
        let map = v.as_object().unwrap();
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        for key in [
            "customer_country",
            "outbound_number",
            "outbound_country",
            "default_queue_outbound_number",
            "default_queue_outbound_country",
            "routing_status",
            "routing_rule",
        ] {
            assert!(keys.contains(&key), "{key}");
        }
        assert_eq!(map.len(), 7);
        assert!(map.values().all(Value::is_string));
        // The flow has the customer's number already; echoing it would put it in flow logs.
        assert!(!keys.contains(&"customer_number"));
        assert!(
            map.values()
                .all(|v| !v.as_str().unwrap().contains("5550147")),
            "the customer's number is not in the answer: {map:?}"
        );
    }

    #[tokio::test]
    async fn queue_countries_are_remembered_per_number() {
        let cache = cache_with(r#"{"Default": "+12025550100"}"#);
        let queues = [
            "+442079460999",
            "+12065550199",
            "+441534456789",
            "+61491570156",
        ];
        // More distinct queue numbers than the memo holds, several rounds: always right.
        for round in 0..3 {
            for i in 0..(QUEUE_MEMO_SIZE + 5) {
                let q = queues[i % queues.len()];
                let want = phone::region_of(q).unwrap();
                let a = cache
                    .handle(&event(json!("+33142685300"), Some(queue_object(q))))
                    .await;
                assert_eq!(a.default_queue_outbound_country, want, "round {round}, {q}");
            }
        }
        let memo = cache.queue_countries.0.lock().unwrap();
        assert_eq!(memo.len(), queues.len());
        assert!(memo
            .iter()
            .any(|(n, c)| n == "+441534456789" && c.as_deref() == Some("JE")));
    }

    #[test]
    fn long_rule_keys_are_masked_for_logs() {
        assert_eq!(mask_rule("+1212"), "+1212");
        assert_eq!(mask_rule("+4420"), "+4420");
        assert_eq!(mask_rule("+12125550199"), "+12******199");
    }
}
