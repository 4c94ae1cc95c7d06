//! Test helpers shared by every crate's tests: in-memory stand-ins for the AWS services the
//! dialer uses, and [`mocked!`](crate::mocked), the one way to build an SDK client from
//! `aws-smithy-mocks` rules. Compiled for this crate's own tests and, through the `testkit`
//! cargo feature, for the other crates' tests (`outbound-core = { workspace = true, features =
//! ["testkit"] }` in their `[dev-dependencies]`); never part of a deployed binary.
//!
//! Each fake is a set of `aws-smithy-mocks` rules over shared state, so the code under test
//! runs against real SDK clients. The DynamoDB fake evaluates the small expression language
//! the dialer writes (SET with `if_not_exists`, ADD, `attribute_exists`/`attribute_not_exists`,
//! `<`, AND, OR): conditional writes really fail when their condition is false, which is what
//! the race tests need. The moto integration tests check the same code against a real
//! implementation of these semantics.
//!
//! Every call is appended to a shared log (`"ddb:UpdateItem CONTACT#c-1"`, `"sqs:DeleteMessage"`)
//! so tests can assert the order of side effects.

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

pub mod env_contract;
pub mod moto;

/// Re-exported for [`mocked!`](crate::mocked), so a crate using the macro needs no path to it.
#[doc(hidden)]
pub use aws_smithy_mocks as __mocks;

/// An SDK client of crate `$sdk` (e.g. `aws_sdk_s3`) that answers from `aws-smithy-mocks`
/// rules, any rule matching in any order, with retries disabled so a scripted error is seen
/// once. `mocked!(aws_sdk_s3, [])` is a client no request may reach.
#[macro_export]
macro_rules! mocked {
    ($sdk:ident, []) => {
        $crate::testkit::__mocks::mock_client!(
            $sdk,
            $crate::testkit::__mocks::RuleMode::MatchAny,
            Vec::<&$crate::testkit::__mocks::Rule>::new(),
            |c| c.retry_config($sdk::config::retry::RetryConfig::disabled())
        )
    };
    ($sdk:ident, [$($rule:expr),* $(,)?]) => {
        $crate::testkit::__mocks::mock_client!(
            $sdk,
            $crate::testkit::__mocks::RuleMode::MatchAny,
            [$($rule),*],
            |c| c.retry_config($sdk::config::retry::RetryConfig::disabled())
        )
    };
}

pub type Item = HashMap<String, AttributeValue>;

/// The shared, ordered call log.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    /// Position of the first entry starting with `prefix`.
    pub fn position(&self, prefix: &str) -> Option<usize> {
        self.entries().iter().position(|e| e.starts_with(prefix))
    }
    pub fn count(&self, prefix: &str) -> usize {
        self.entries()
            .iter()
            .filter(|e| e.starts_with(prefix))
            .count()
    }
}

/// An error with a code, as the SDK parses it from a response.
pub fn meta(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message("injected by the test")
        .build()
}

/// A failed condition; with `ALL_OLD`, the item as it was (DynamoDB returns it when asked with
/// `ReturnValuesOnConditionCheckFailure`).
fn conditional_failed_with(
    existing: Option<&Item>,
    return_old: Option<&aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure>,
) -> ConditionalCheckFailedException {
    let old = match return_old {
        Some(aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld) => {
            existing.cloned()
        }
        _ => None,
    };
    ConditionalCheckFailedException::builder()
        .message("The conditional request failed")
        .set_item(old)
        .meta(meta("ConditionalCheckFailedException"))
        .build()
}

/// Splits on `sep` outside parentheses.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0i32);
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 {
            out.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn resolve(name: &str, names: Option<&HashMap<String, String>>) -> String {
    let name = name.trim();
    if name.starts_with('#') {
        names
            .and_then(|n| n.get(name))
            .cloned()
            .unwrap_or_else(|| panic!("expression name {name} not defined"))
    } else {
        name.to_string()
    }
}

fn value(name: &str, values: Option<&HashMap<String, AttributeValue>>) -> AttributeValue {
    values
        .and_then(|v| v.get(name.trim()))
        .cloned()
        .unwrap_or_else(|| panic!("expression value {name} not defined"))
}

fn number(v: &AttributeValue) -> f64 {
    v.as_n().unwrap().parse().unwrap()
}

/// Splits on the word `sep` (` AND `, ` OR `) outside parentheses.
fn split_words(s: &str, sep: &str) -> Vec<String> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0usize);
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ => {}
        }
        if depth == 0 && s[i..].starts_with(sep) {
            out.push(s[start..i].trim().to_string());
            i += sep.len();
            start = i;
            continue;
        }
        i += 1;
    }
    out.push(s[start..].trim().to_string());
    out
}

/// `(x)` → `x` when the parentheses enclose the whole expression.
fn strip_outer_parens(s: &str) -> &str {
    let s = s.trim();
    if !(s.starts_with('(') && s.ends_with(')')) {
        return s;
    }
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 && i != s.len() - 1 {
                    return s;
                }
            }
            _ => {}
        }
    }
    &s[1..s.len() - 1]
}

/// An operand: a value placeholder (`:v`) or an attribute of the item (`#name` or `name`).
fn operand(
    raw: &str,
    item: Option<&Item>,
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
) -> Option<AttributeValue> {
    let raw = raw.trim();
    if raw.starts_with(':') {
        Some(value(raw, values))
    } else {
        item.and_then(|i| i.get(&resolve(raw, names))).cloned()
    }
}

/// Compares two values as DynamoDB does: numbers by value, strings by their bytes; values of
/// different types (or a missing attribute) never compare.
fn compare(a: &AttributeValue, b: &AttributeValue) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => {
            x.parse::<f64>().ok()?.partial_cmp(&y.parse::<f64>().ok()?)
        }
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.cmp(y)),
        (AttributeValue::Bool(x), AttributeValue::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Evaluates a condition of the dialer's shape: AND, OR and parentheses over
/// `attribute_exists`, `attribute_not_exists` and the comparisons `=`, `<>`, `<`, `<=`, `>`,
/// `>=`.
fn condition(
    expr: &str,
    item: Option<&Item>,
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
) -> bool {
    let expr = strip_outer_parens(expr);
    let disjuncts = split_words(expr, " OR ");
    if disjuncts.len() > 1 {
        return disjuncts.iter().any(|d| condition(d, item, names, values));
    }
    let conjuncts = split_words(expr, " AND ");
    if conjuncts.len() > 1 {
        return conjuncts.iter().all(|c| condition(c, item, names, values));
    }
    let term = expr.trim();
    if let Some(arg) = term
        .strip_prefix("attribute_not_exists(")
        .and_then(|t| t.strip_suffix(')'))
    {
        return !item.is_some_and(|i| i.contains_key(&resolve(arg, names)));
    }
    if let Some(arg) = term
        .strip_prefix("attribute_exists(")
        .and_then(|t| t.strip_suffix(')'))
    {
        return item.is_some_and(|i| i.contains_key(&resolve(arg, names)));
    }
    use std::cmp::Ordering::*;
    for (op, accept) in [
        (" <> ", &[Less, Greater][..]),
        (" <= ", &[Less, Equal][..]),
        (" >= ", &[Greater, Equal][..]),
        (" < ", &[Less][..]),
        (" > ", &[Greater][..]),
        (" = ", &[Equal][..]),
    ] {
        if let Some((lhs, rhs)) = term.split_once(op) {
            let (a, b) = (
                operand(lhs, item, names, values),
                operand(rhs, item, names, values),
            );
            return match (a, b) {
                (Some(a), Some(b)) => compare(&a, &b).is_some_and(|o| accept.contains(&o)),
                // A missing attribute is never equal, and so always "not equal".
                _ => op == " <> ",
            };
        }
    }
    panic!("condition term not supported by the fake: {term}")
}

/// Applies an update of `SET a = :v, b = if_not_exists(b, :w), c = c - :v`, `REMOVE c, d` and `ADD n :one`
/// clauses, each optional, in any order.
fn apply_update(
    expr: &str,
    item: &mut Item,
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
) {
    let mut clauses: Vec<(&str, String)> = Vec::new();
    let padded = format!(" {expr}");
    let mut rest = padded.as_str();
    let keywords = [" SET ", " REMOVE ", " ADD "];
    while let Some((pos, kw)) = keywords
        .iter()
        .filter_map(|k| rest.find(k).map(|p| (p, *k)))
        .min()
    {
        let body_start = pos + kw.len();
        let next = keywords
            .iter()
            .filter_map(|k| rest[body_start..].find(k).map(|p| body_start + p))
            .min()
            .unwrap_or(rest.len());
        clauses.push((kw.trim(), rest[body_start..next].trim().to_string()));
        rest = &rest[next..];
    }
    for (kw, body) in clauses {
        match kw {
            "SET" => {
                for assignment in split_top(&body, ',') {
                    let (lhs, rhs) = assignment.split_once('=').expect("SET a = b");
                    let target = resolve(lhs, names);
                    let rhs = rhs.trim();
                    let new = if let Some(args) = rhs
                        .strip_prefix("if_not_exists(")
                        .and_then(|r| r.strip_suffix(')'))
                    {
                        let (path, default) = args.split_once(',').unwrap();
                        item.get(&resolve(path, names))
                            .cloned()
                            .unwrap_or_else(|| value(default, values))
                    } else if let Some((path, v)) = rhs.split_once(" - ") {
                        // `SET a = a - :v`: arithmetic on a number.
                        let current = item.get(&resolve(path, names)).map(number).unwrap_or(0.0);
                        AttributeValue::N(format!("{}", current - number(&value(v, values))))
                    } else {
                        value(rhs, values)
                    };
                    item.insert(target, new);
                }
            }
            "REMOVE" => {
                for path in split_top(&body, ',') {
                    item.remove(&resolve(&path, names));
                }
            }
            _ => {
                for addition in split_top(&body, ',') {
                    let (path, v) = addition.trim().split_once(' ').unwrap();
                    let target = resolve(path, names);
                    let added = value(v, values);
                    if let AttributeValue::Ss(new) = added {
                        // ADD to a string set: the union.
                        let mut set = match item.get(&target) {
                            Some(AttributeValue::Ss(old)) => old.clone(),
                            _ => Vec::new(),
                        };
                        for s in new {
                            if !set.contains(&s) {
                                set.push(s);
                            }
                        }
                        item.insert(target, AttributeValue::Ss(set));
                        continue;
                    }
                    let current = item.get(&target).map(number).unwrap_or(0.0);
                    let sum = current + number(&added);
                    item.insert(target, AttributeValue::N(format!("{sum}")));
                }
            }
        }
    }
}

/// One injected failure: the next call of `op` on a key starting with `pk_prefix` fails with
/// `code` (a 500-class error unless the code says otherwise).
#[derive(Clone)]
struct Fault {
    op: &'static str,
    pk_prefix: String,
    code: String,
}

/// The ActiveDialing table.
#[derive(Clone, Default)]
pub struct FakeTable {
    pub items: Arc<Mutex<HashMap<String, Item>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    after_get: Hook,
    pub log: Log,
}

impl FakeTable {
    pub fn new(log: &Log) -> Self {
        Self {
            log: log.clone(),
            ..Self::default()
        }
    }

    pub fn get(&self, pk: &str) -> Option<Item> {
        self.items.lock().unwrap().get(pk).cloned()
    }

    pub fn s(&self, pk: &str, attr: &str) -> Option<String> {
        self.get(pk)
            .and_then(|i| i.get(attr).and_then(|v| v.as_s().ok()).cloned())
    }

    pub fn insert(&self, pk: &str, attrs: &[(&str, AttributeValue)]) {
        let mut item: Item = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        item.insert("pk".into(), AttributeValue::S(pk.into()));
        self.items.lock().unwrap().insert(pk.into(), item);
    }

    /// The next `op` (`PutItem`, `UpdateItem`, `GetItem`) on a key with this prefix fails.
    pub fn fail_next(&self, op: &'static str, pk_prefix: &str, code: &str) {
        self.faults.lock().unwrap().push(Fault {
            op,
            pk_prefix: pk_prefix.into(),
            code: code.into(),
        });
    }

    /// Runs `action` right after the next GetItem has read its item (to interleave another
    /// writer between a read and the write that follows it).
    pub fn after_next_get(&self, action: impl FnOnce() + Send + 'static) {
        *self.after_get.lock().unwrap() = Some(Box::new(action));
    }

    fn take_fault(&self, op: &str, pk: &str) -> Option<String> {
        let mut faults = self.faults.lock().unwrap();
        let i = faults
            .iter()
            .position(|f| f.op == op && pk.starts_with(&f.pk_prefix))?;
        Some(faults.remove(i).code)
    }

    pub fn client(&self) -> aws_sdk_dynamodb::Client {
        let t = self.clone();
        let update = mock!(aws_sdk_dynamodb::Client::update_item).then_compute_response(move |r| {
            let pk = r.key().unwrap()["pk"].as_s().unwrap().clone();
            t.log.push(format!("ddb:UpdateItem {pk}"));
            if let Some(code) = t.take_fault("UpdateItem", &pk) {
                return MockResponse::Error(UpdateItemError::generic(meta(&code)));
            }
            let mut items = t.items.lock().unwrap();
            let existing = items.get(&pk);
            if let Some(cond) = r.condition_expression() {
                if !condition(
                    cond,
                    existing,
                    r.expression_attribute_names(),
                    r.expression_attribute_values(),
                ) {
                    return MockResponse::Error(UpdateItemError::ConditionalCheckFailedException(
                        conditional_failed_with(
                            existing,
                            r.return_values_on_condition_check_failure(),
                        ),
                    ));
                }
            }
            let old = existing.cloned();
            let mut item = existing.cloned().unwrap_or_else(|| {
                HashMap::from([("pk".to_string(), AttributeValue::S(pk.clone()))])
            });
            apply_update(
                r.update_expression().unwrap(),
                &mut item,
                r.expression_attribute_names(),
                r.expression_attribute_values(),
            );
            items.insert(pk, item.clone());
            let out = match r.return_values() {
                Some(ReturnValue::AllNew) | Some(ReturnValue::UpdatedNew) => {
                    UpdateItemOutput::builder()
                        .set_attributes(Some(item))
                        .build()
                }
                Some(ReturnValue::AllOld) => {
                    UpdateItemOutput::builder().set_attributes(old).build()
                }
                _ => UpdateItemOutput::builder().build(),
            };
            MockResponse::Output(out)
        });
        let t = self.clone();
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_compute_response(move |r| {
            let item = r.item().unwrap().clone();
            let pk = item["pk"].as_s().unwrap().clone();
            t.log.push(format!("ddb:PutItem {pk}"));
            if let Some(code) = t.take_fault("PutItem", &pk) {
                return MockResponse::Error(PutItemError::generic(meta(&code)));
            }
            let mut items = t.items.lock().unwrap();
            if let Some(cond) = r.condition_expression() {
                if !condition(
                    cond,
                    items.get(&pk),
                    r.expression_attribute_names(),
                    r.expression_attribute_values(),
                ) {
                    return MockResponse::Error(PutItemError::ConditionalCheckFailedException(
                        conditional_failed_with(
                            items.get(&pk),
                            r.return_values_on_condition_check_failure(),
                        ),
                    ));
                }
            }
            items.insert(pk, item);
            MockResponse::Output(PutItemOutput::builder().build())
        });
        let t = self.clone();
        let get = mock!(aws_sdk_dynamodb::Client::get_item).then_compute_response(move |r| {
            let pk = r.key().unwrap()["pk"].as_s().unwrap().clone();
            t.log.push(format!("ddb:GetItem {pk}"));
            if let Some(code) = t.take_fault("GetItem", &pk) {
                return MockResponse::Error(
                    aws_sdk_dynamodb::operation::get_item::GetItemError::generic(meta(&code)),
                );
            }
            let item = t.items.lock().unwrap().get(&pk).cloned();
            let action = t.after_get.lock().unwrap().take();
            if let Some(action) = action {
                action();
            }
            MockResponse::Output(GetItemOutput::builder().set_item(item).build())
        });
        let t = self.clone();
        // BatchGetItem as the do-not-call lookup uses it: every key answered, none left
        // unprocessed, the table's items whole (the projection is not applied).
        let batch_get =
            mock!(aws_sdk_dynamodb::Client::batch_get_item).then_compute_response(move |r| {
                let mut responses = HashMap::new();
                for (table, wanted) in r.request_items().cloned().unwrap_or_default() {
                    let items = t.items.lock().unwrap();
                    let mut found = Vec::new();
                    for key in wanted.keys() {
                        let pk = key["pk"].as_s().unwrap().clone();
                        t.log.push(format!("ddb:BatchGetItem {pk}"));
                        if let Some(item) = items.get(&pk) {
                            found.push(item.clone());
                        }
                    }
                    responses.insert(table, found);
                }
                MockResponse::Output(
                    aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput::builder()
                        .set_responses(Some(responses))
                        .build(),
                )
            });
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&update, &put, &get, &batch_get],
            |c| c.retry_config(RetryConfig::disabled())
        )
    }
}

/// A one-shot action run right after a successful PutObject (to interleave another writer).
type Hook = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

/// The results bucket.
#[derive(Clone, Default)]
pub struct FakeBucket {
    pub objects: Arc<Mutex<BTreeMap<String, String>>>,
    pub puts: Arc<Mutex<u32>>,
    faults: Arc<Mutex<u32>>,
    after_put: Hook,
    pub log: Log,
}

impl FakeBucket {
    pub fn new(log: &Log) -> Self {
        Self {
            log: log.clone(),
            ..Self::default()
        }
    }

    /// The next `n` PutObject calls fail with a 503.
    pub fn fail_next(&self, n: u32) {
        *self.faults.lock().unwrap() += n;
    }

    /// Runs `action` once, right after the next successful PutObject.
    pub fn after_next_put(&self, action: impl FnOnce() + Send + 'static) {
        *self.after_put.lock().unwrap() = Some(Box::new(action));
    }

    pub fn object(&self, key: &str) -> Option<String> {
        self.objects.lock().unwrap().get(key).cloned()
    }

    pub fn keys(&self) -> Vec<String> {
        self.objects.lock().unwrap().keys().cloned().collect()
    }

    pub fn client(&self) -> aws_sdk_s3::Client {
        let b = self.clone();
        let put = mock!(aws_sdk_s3::Client::put_object).then_compute_response(move |r| {
            let key = r.key().unwrap().to_string();
            b.log.push(format!("s3:PutObject {key}"));
            {
                let mut faults = b.faults.lock().unwrap();
                if *faults > 0 {
                    *faults -= 1;
                    return MockResponse::Error(
                        aws_sdk_s3::operation::put_object::PutObjectError::generic(meta(
                            "ServiceUnavailable",
                        )),
                    );
                }
            }
            let body = String::from_utf8(r.body().bytes().unwrap().to_vec()).unwrap();
            *b.puts.lock().unwrap() += 1;
            b.objects.lock().unwrap().insert(key, body);
            let hook = b.after_put.lock().unwrap().take();
            if let Some(hook) = hook {
                hook();
            }
            MockResponse::Output(
                aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build(),
            )
        });
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put], |c| c
            .retry_config(RetryConfig::disabled()))
    }
}

/// Step Functions: records `SendTaskSuccess`; tokens listed as gone answer `TaskTimedOut`.
#[derive(Clone, Default)]
pub struct FakeSfn {
    /// (token, output) of every successful send.
    pub sent: Arc<Mutex<Vec<(String, String)>>>,
    /// (name, input) of every execution started; a name is started once (as Step Functions
    /// does, `ExecutionAlreadyExists` after).
    pub started: Arc<Mutex<Vec<(String, String)>>>,
    pub gone: Arc<Mutex<Vec<String>>>,
    faults: Arc<Mutex<u32>>,
    pub log: Log,
}

impl FakeSfn {
    pub fn new(log: &Log) -> Self {
        Self {
            log: log.clone(),
            ..Self::default()
        }
    }

    pub fn fail_next(&self, n: u32) {
        *self.faults.lock().unwrap() += n;
    }

    pub fn sent(&self) -> Vec<(String, String)> {
        self.sent.lock().unwrap().clone()
    }

    pub fn started(&self) -> Vec<(String, String)> {
        self.started.lock().unwrap().clone()
    }

    pub fn client(&self) -> aws_sdk_sfn::Client {
        use aws_sdk_sfn::operation::send_task_success::{
            SendTaskSuccessError, SendTaskSuccessOutput,
        };
        let s = self.clone();
        let send = mock!(aws_sdk_sfn::Client::send_task_success).then_compute_response(move |r| {
            s.log.push("sfn:SendTaskSuccess");
            {
                let mut faults = s.faults.lock().unwrap();
                if *faults > 0 {
                    *faults -= 1;
                    return MockResponse::Error(SendTaskSuccessError::generic(meta(
                        "ServiceUnavailable",
                    )));
                }
            }
            let token = r.task_token().unwrap().to_string();
            if s.gone.lock().unwrap().contains(&token) {
                return MockResponse::Error(SendTaskSuccessError::TaskTimedOut(
                    aws_sdk_sfn::types::error::TaskTimedOut::builder()
                        .meta(meta("TaskTimedOut"))
                        .build(),
                ));
            }
            // A task succeeds once; a second send to the same token is refused like a closed
            // task.
            let mut sent = s.sent.lock().unwrap();
            if sent.iter().any(|(t, _)| *t == token) {
                return MockResponse::Error(SendTaskSuccessError::TaskTimedOut(
                    aws_sdk_sfn::types::error::TaskTimedOut::builder()
                        .meta(meta("TaskTimedOut"))
                        .build(),
                ));
            }
            sent.push((token, r.output().unwrap().to_string()));
            MockResponse::Output(SendTaskSuccessOutput::builder().build())
        });
        let s = self.clone();
        let start = mock!(aws_sdk_sfn::Client::start_execution).then_compute_response(move |r| {
            use aws_sdk_sfn::operation::start_execution::{
                StartExecutionError, StartExecutionOutput,
            };
            let name = r.name().unwrap_or_default().to_string();
            s.log.push(format!("sfn:StartExecution {name}"));
            let mut started = s.started.lock().unwrap();
            if started.iter().any(|(n, _)| *n == name) {
                return MockResponse::Error(StartExecutionError::ExecutionAlreadyExists(
                    aws_sdk_sfn::types::error::ExecutionAlreadyExists::builder()
                        .meta(meta("ExecutionAlreadyExists"))
                        .build(),
                ));
            }
            started.push((name.clone(), r.input().unwrap_or_default().to_string()));
            MockResponse::Output(
                StartExecutionOutput::builder()
                    .execution_arn(format!(
                        "arn:aws:states:eu-west-2:123456789012:execution:sm:{name}"
                    ))
                    .start_date(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .unwrap(),
            )
        });
        mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&send, &start], |c| c
            .retry_config(RetryConfig::disabled()))
    }
}

/// The contacts queue: receive takes the first visible message, delete removes it,
/// `ChangeMessageVisibility 0` puts it back in front.
#[derive(Clone, Default)]
pub struct FakeQueue {
    pub visible: Arc<Mutex<VecDeque<(String, String)>>>,
    pub in_flight: Arc<Mutex<HashMap<String, (String, String)>>>,
    pub deleted: Arc<Mutex<Vec<String>>>,
    receive_faults: Arc<Mutex<Vec<String>>>,
    counter: Arc<Mutex<u32>>,
    pub log: Log,
}

impl FakeQueue {
    pub fn new(log: &Log) -> Self {
        Self {
            log: log.clone(),
            ..Self::default()
        }
    }

    pub fn send(&self, body: &str) -> String {
        let mut n = self.counter.lock().unwrap();
        *n += 1;
        let id = format!("m-{n}");
        self.visible
            .lock()
            .unwrap()
            .push_back((id.clone(), body.to_string()));
        id
    }

    /// The next receive fails with `code`.
    pub fn fail_receive(&self, code: &str) {
        self.receive_faults.lock().unwrap().push(code.into());
    }

    pub fn visible_ids(&self) -> Vec<String> {
        self.visible
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }

    pub fn deleted(&self) -> Vec<String> {
        self.deleted.lock().unwrap().clone()
    }

    pub fn in_flight_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .in_flight
            .lock()
            .unwrap()
            .values()
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    pub fn client(&self) -> aws_sdk_sqs::Client {
        use aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityOutput;
        use aws_sdk_sqs::operation::delete_message::DeleteMessageOutput;
        use aws_sdk_sqs::operation::receive_message::{ReceiveMessageError, ReceiveMessageOutput};
        use aws_sdk_sqs::types::Message;
        let q = self.clone();
        let receive =
            mock!(aws_sdk_sqs::Client::receive_message).then_compute_response(move |_| {
                q.log.push("sqs:ReceiveMessage");
                if let Some(code) = q.receive_faults.lock().unwrap().pop() {
                    return MockResponse::Error(ReceiveMessageError::generic(meta(&code)));
                }
                let next = q.visible.lock().unwrap().pop_front();
                let mut out = ReceiveMessageOutput::builder();
                if let Some((id, body)) = next {
                    let receipt = format!("rh-{id}-{}", q.log.entries().len());
                    q.in_flight
                        .lock()
                        .unwrap()
                        .insert(receipt.clone(), (id.clone(), body.clone()));
                    out = out.messages(
                        Message::builder()
                            .message_id(id)
                            .receipt_handle(receipt)
                            .body(body)
                            .build(),
                    );
                }
                MockResponse::Output(out.build())
            });
        let q = self.clone();
        let delete = mock!(aws_sdk_sqs::Client::delete_message).then_compute_response(move |r| {
            q.log.push("sqs:DeleteMessage");
            if let Some((id, _)) = q
                .in_flight
                .lock()
                .unwrap()
                .remove(r.receipt_handle().unwrap())
            {
                q.deleted.lock().unwrap().push(id);
            }
            MockResponse::Output(DeleteMessageOutput::builder().build())
        });
        let q = self.clone();
        let visibility = mock!(aws_sdk_sqs::Client::change_message_visibility)
            .then_compute_response(move |r| {
                q.log.push(format!(
                    "sqs:ChangeMessageVisibility {}",
                    r.visibility_timeout().unwrap_or(-1)
                ));
                if r.visibility_timeout() == Some(0) {
                    if let Some(m) = q
                        .in_flight
                        .lock()
                        .unwrap()
                        .remove(r.receipt_handle().unwrap())
                    {
                        q.visible.lock().unwrap().push_front(m);
                    }
                }
                MockResponse::Output(ChangeMessageVisibilityOutput::builder().build())
            });
        mock_client!(
            aws_sdk_sqs,
            RuleMode::MatchAny,
            [&receive, &delete, &visibility],
            |c| c.retry_config(RetryConfig::disabled())
        )
    }
}

/// SSM parameters under a prefix.
#[derive(Clone, Default)]
pub struct FakeParams {
    pub values: Arc<Mutex<HashMap<String, String>>>,
    pub log: Log,
}

impl FakeParams {
    pub fn new(log: &Log, values: &[(&str, &str)]) -> Self {
        Self {
            log: log.clone(),
            values: Arc::new(Mutex::new(
                values
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )),
        }
    }

    pub fn set(&self, name: &str, value: &str) {
        self.values
            .lock()
            .unwrap()
            .insert(name.to_string(), value.to_string());
    }

    pub fn client(&self) -> aws_sdk_ssm::Client {
        use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
        use aws_sdk_ssm::types::Parameter;
        let p = self.clone();
        let get = mock!(aws_sdk_ssm::Client::get_parameters).then_compute_response(move |r| {
            p.log.push("ssm:GetParameters");
            let values = p.values.lock().unwrap();
            let mut out = GetParametersOutput::builder();
            for name in r.names() {
                match values.get(name) {
                    Some(v) => {
                        out = out.parameters(Parameter::builder().name(name).value(v).build())
                    }
                    None => out = out.invalid_parameters(name),
                }
            }
            MockResponse::Output(out.build())
        });
        mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&get], |c| c
            .retry_config(RetryConfig::disabled()))
    }
}

/// What a fake `StartOutboundVoiceContact` answers.
#[derive(Clone, Copy, Debug)]
pub enum Start {
    Placed(&'static str),
    Fail(&'static str),
}

/// A captured `StartOutboundVoiceContact` request.
#[derive(Clone, Debug)]
pub struct StartRequest {
    pub destination: String,
    pub source: Option<String>,
    pub attributes: HashMap<String, String>,
    pub client_token: String,
    pub queue_id: String,
    pub flow_id: String,
    pub answer_machine_detection: Option<aws_sdk_connect::types::AnswerMachineDetectionConfig>,
    pub traffic_type: Option<String>,
    pub campaign_id: Option<String>,
}

/// An open range of a date in [`FakeConnect::overrides`]: `((start h, m), (end h, m))`, in
/// `OverrideTimeSlice`'s integers.
pub type OverrideRange = ((i32, i32), (i32, i32));

/// Amazon Connect: queue status and hours, outbound calls, `DescribeContact`.
///
/// The effective hours (`GetEffectiveHoursOfOperations`) of each date asked are the weekly
/// `hours` of its weekday, unless `overrides` replaces that date's ranges (a holiday: an empty
/// list); `effective_refused` makes Connect refuse the call with that error code instead.
#[derive(Clone, Default)]
pub struct FakeConnect {
    pub queue_status: Arc<Mutex<String>>,
    pub hours: Arc<Mutex<Option<aws_sdk_connect::types::HoursOfOperation>>>,
    /// `yyyy-MM-dd` → the date's ranges.
    pub overrides: Arc<Mutex<BTreeMap<String, Vec<OverrideRange>>>>,
    pub effective_refused: Arc<Mutex<Option<String>>>,
    pub starts: Arc<Mutex<VecDeque<Start>>>,
    pub requests: Arc<Mutex<Vec<StartRequest>>>,
    pub contacts: Arc<Mutex<HashMap<String, aws_sdk_connect::types::Contact>>>,
    pub log: Log,
}

impl FakeConnect {
    pub fn new(log: &Log) -> Self {
        let c = Self {
            log: log.clone(),
            ..Self::default()
        };
        *c.queue_status.lock().unwrap() = "ENABLED".into();
        c
    }

    pub fn script(&self, starts: &[Start]) {
        self.starts.lock().unwrap().extend(starts.iter().cloned());
    }

    pub fn requests(&self) -> Vec<StartRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// The effective hours from `from` to `to` (`yyyy-MM-dd`, both included).
    fn effective_hours(
        &self,
        from: &str,
        to: &str,
    ) -> aws_sdk_connect::operation::get_effective_hours_of_operations::GetEffectiveHoursOfOperationsOutput{
        use aws_sdk_connect::operation::get_effective_hours_of_operations::GetEffectiveHoursOfOperationsOutput;
        use aws_sdk_connect::types::{
            EffectiveHoursOfOperations, OperationalHour, OverrideTimeSlice,
        };
        use chrono::{Datelike, NaiveDate};
        let weekly = self.hours.lock().unwrap().clone().unwrap_or_else(|| {
            aws_sdk_connect::types::HoursOfOperation::builder()
                .time_zone("UTC")
                .build()
        });
        let overrides = self.overrides.lock().unwrap().clone();
        let ts = |h: i32, m: i32| {
            OverrideTimeSlice::builder()
                .hours(h)
                .minutes(m)
                .build()
                .expect("hours and minutes set")
        };
        const DAYS: [&str; 7] = [
            "MONDAY",
            "TUESDAY",
            "WEDNESDAY",
            "THURSDAY",
            "FRIDAY",
            "SATURDAY",
            "SUNDAY",
        ];
        let parse = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("yyyy-MM-dd");
        let mut out = GetEffectiveHoursOfOperationsOutput::builder()
            .set_time_zone(weekly.time_zone().map(str::to_string));
        let mut date = parse(from);
        while date <= parse(to) {
            let key = date.format("%Y-%m-%d").to_string();
            let ranges: Vec<OverrideRange> = match overrides.get(&key) {
                Some(r) => r.clone(),
                None => weekly
                    .config()
                    .iter()
                    .filter(|c| {
                        c.day().as_str() == DAYS[date.weekday().num_days_from_monday() as usize]
                    })
                    .filter_map(|c| {
                        let (s, e) = (c.start_time()?, c.end_time()?);
                        Some(((s.hours(), s.minutes()), (e.hours(), e.minutes())))
                    })
                    .collect(),
            };
            let mut day = EffectiveHoursOfOperations::builder().date(key);
            for ((sh, sm), (eh, em)) in ranges {
                day = day.operational_hours(
                    OperationalHour::builder()
                        .start(ts(sh, sm))
                        .end(ts(eh, em))
                        .build(),
                );
            }
            out = out.effective_hours_of_operation_list(day.build());
            date = date.succ_opt().expect("date in range");
        }
        out.build()
    }

    pub fn client(&self) -> aws_sdk_connect::Client {
        use aws_sdk_connect::operation::describe_contact::{
            DescribeContactError, DescribeContactOutput,
        };
        use aws_sdk_connect::operation::describe_hours_of_operation::DescribeHoursOfOperationOutput;
        use aws_sdk_connect::operation::describe_queue::DescribeQueueOutput;
        use aws_sdk_connect::operation::get_effective_hours_of_operations::GetEffectiveHoursOfOperationsError;
        use aws_sdk_connect::operation::start_outbound_voice_contact::{
            StartOutboundVoiceContactError, StartOutboundVoiceContactOutput,
        };
        use aws_sdk_connect::types::{Queue, QueueStatus};
        let c = self.clone();
        let queue =
            mock!(aws_sdk_connect::Client::describe_queue).then_compute_response(move |_| {
                c.log.push("connect:DescribeQueue");
                let status = QueueStatus::from(c.queue_status.lock().unwrap().as_str());
                let mut q = Queue::builder().status(status);
                if c.hours.lock().unwrap().is_some() {
                    q = q.hours_of_operation_id("h-1");
                }
                MockResponse::Output(DescribeQueueOutput::builder().queue(q.build()).build())
            });
        let c = self.clone();
        let hours = mock!(aws_sdk_connect::Client::describe_hours_of_operation)
            .then_compute_response(move |_| {
                c.log.push("connect:DescribeHoursOfOperation");
                MockResponse::Output(
                    DescribeHoursOfOperationOutput::builder()
                        .set_hours_of_operation(c.hours.lock().unwrap().clone())
                        .build(),
                )
            });
        let c = self.clone();
        let effective = mock!(aws_sdk_connect::Client::get_effective_hours_of_operations)
            .then_compute_response(move |r| {
                c.log.push("connect:GetEffectiveHoursOfOperations");
                if let Some(code) = c.effective_refused.lock().unwrap().clone() {
                    return MockResponse::Error(GetEffectiveHoursOfOperationsError::generic(meta(
                        &code,
                    )));
                }
                MockResponse::Output(c.effective_hours(
                    r.from_date().unwrap_or_default(),
                    r.to_date().unwrap_or_default(),
                ))
            });
        let c = self.clone();
        let start = mock!(aws_sdk_connect::Client::start_outbound_voice_contact)
            .then_compute_response(move |r| {
                c.log.push("connect:StartOutboundVoiceContact");
                c.requests.lock().unwrap().push(StartRequest {
                    destination: r.destination_phone_number().unwrap_or_default().into(),
                    source: r.source_phone_number().map(str::to_string),
                    attributes: r.attributes().cloned().unwrap_or_default(),
                    client_token: r.client_token().unwrap_or_default().into(),
                    queue_id: r.queue_id().unwrap_or_default().into(),
                    flow_id: r.contact_flow_id().unwrap_or_default().into(),
                    answer_machine_detection: r.answer_machine_detection_config().cloned(),
                    traffic_type: r.traffic_type().map(|t| t.as_str().to_string()),
                    campaign_id: r.campaign_id().map(str::to_string),
                });
                match c.starts.lock().unwrap().pop_front() {
                    Some(Start::Placed(id)) => MockResponse::Output(
                        StartOutboundVoiceContactOutput::builder()
                            .contact_id(id)
                            .build(),
                    ),
                    Some(Start::Fail(code)) => {
                        MockResponse::Error(StartOutboundVoiceContactError::generic(meta(code)))
                    }
                    None => panic!("StartOutboundVoiceContact called more often than scripted"),
                }
            });
        let c = self.clone();
        let describe =
            mock!(aws_sdk_connect::Client::describe_contact).then_compute_response(move |r| {
                c.log.push("connect:DescribeContact");
                match c.contacts.lock().unwrap().get(r.contact_id().unwrap()) {
                    Some(contact) => MockResponse::Output(
                        DescribeContactOutput::builder()
                            .contact(contact.clone())
                            .build(),
                    ),
                    None => MockResponse::Error(DescribeContactError::ResourceNotFoundException(
                        aws_sdk_connect::types::error::ResourceNotFoundException::builder()
                            .meta(meta("ResourceNotFoundException"))
                            .build(),
                    )),
                }
            });
        mock_client!(
            aws_sdk_connect,
            RuleMode::MatchAny,
            [&queue, &effective, &hours, &start, &describe],
            |c| c.retry_config(RetryConfig::disabled())
        )
    }
}

/// The contact keyer of tests: a fixed secret, where a deployment derives its secret from KMS
/// (see [`crate::contact_key`]).
pub fn contact_keyer() -> crate::contact_key::ContactKeyer {
    crate::contact_key::ContactKeyer::from_secret(b"testkit contact-key secret".to_vec())
}

/// A contact's key under [`contact_keyer`].
pub fn contact_key(campaign: &str, customer_key: &str, phone: &str) -> String {
    contact_keyer().key(campaign, customer_key, phone)
}
