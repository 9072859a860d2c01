//! Field paths over an [`Event`]: the one definition of what a rule's field name means.
//!
//! Matching (through the Sigma facade) and correlation keys ([`crate::RuleSet::field_values`])
//! both resolve paths here, so a group-by field and a selection field can never disagree.
//! Values are borrowed from the event wherever possible; only string-encoded JSON that a path
//! walks into is parsed, and only then is anything owned.

use std::borrow::Cow;

use serde_json::Value;
use snapback_model::{Cloud, Event};

/// One value found at a path.
#[derive(Debug, Clone)]
pub(crate) enum Found<'a> {
    /// A node of the event's raw record or decoded request/response.
    Node(&'a Value),
    /// A node of JSON that was parsed from a string during the walk.
    Parsed(Value),
    /// A virtual field's text.
    Text(Cow<'a, str>),
}

impl Found<'_> {
    /// The value as a string for correlation keys; `None` for null, objects and arrays.
    pub(crate) fn to_key(&self) -> Option<String> {
        fn scalar(v: &Value) -> Option<String> {
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        }
        match self {
            Found::Node(v) => scalar(v),
            Found::Parsed(v) => scalar(v),
            Found::Text(s) => Some(s.to_string()),
        }
    }
}

const VIRTUAL: &str = "snapback.";

/// Every value at `path` in `e`, with the path semantics of the crate docs.
pub(crate) fn resolve<'a>(e: &'a Event, path: &str) -> Vec<Found<'a>> {
    let mut out = Vec::new();
    if let Some(rest) = path.strip_prefix(VIRTUAL) {
        virtual_field(e, rest, &mut out);
        return out;
    }
    if e.cloud == Cloud::Azure && azure_fallback(e, path, &mut out) {
        return out;
    }
    walk(&e.raw, path, &mut out);
    out
}

/// Azure's three schemas spell the same fields differently; a rule written against one
/// schema matches the others. Returns true when the path was answered here.
fn azure_fallback<'a>(e: &'a Event, path: &str, out: &mut Vec<Found<'a>>) -> bool {
    match path {
        "operationName" => {
            match e.raw.get("operationName") {
                Some(v @ Value::String(_)) => out.push(Found::Node(v)),
                // REST `operationName.value`, Log Analytics `OperationNameValue`.
                _ => out.push(Found::Text(Cow::Borrowed(&e.operation))),
            }
            return true;
        }
        "resultType" => {
            for p in [
                "resultType",
                "status.value",
                "ActivityStatusValue",
                "status",
            ] {
                walk(&e.raw, p, out);
                out.retain(|f| matches!(f, Found::Node(Value::String(_))));
                if !out.is_empty() {
                    return true;
                }
            }
            return true;
        }
        _ => {}
    }
    // The request and response bodies: string-encoded or objects, under `properties`,
    // `Properties_d` or `Properties` (Log Analytics). The decoder already parsed them once.
    for (body, decoded) in [("requestbody", &e.request), ("responseBody", &e.response)] {
        for root in ["properties.", "Properties_d."] {
            let Some(tail) = strip_prefix_ci(path, root) else {
                continue;
            };
            let Some(rest) = strip_prefix_ci(tail, body) else {
                continue;
            };
            if let Some(rest) = rest.strip_prefix('.') {
                if let Some(v) = decoded {
                    walk(v, rest, out);
                }
                return true;
            }
        }
    }
    // `properties.x` ↔ `Properties_d.x` when the record has only the other spelling.
    if let Some(rest) = path.strip_prefix("properties.") {
        if e.raw.get("properties").is_none() {
            if e.raw.get("Properties_d").is_some() {
                walk(&e.raw, &format!("Properties_d.{rest}"), out);
            } else {
                walk(&e.raw, &format!("Properties.{rest}"), out);
            }
            return true;
        }
    } else if let Some(rest) = path.strip_prefix("Properties_d.") {
        if e.raw.get("Properties_d").is_none() {
            walk(&e.raw, &format!("properties.{rest}"), out);
            return true;
        }
    }
    false
}

fn strip_prefix_ci<'p>(s: &'p str, prefix: &str) -> Option<&'p str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn virtual_field<'a>(e: &'a Event, name: &str, out: &mut Vec<Found<'a>>) {
    let text = |s: &'a str| Found::Text(Cow::Borrowed(s));
    let opt = |s: &'a Option<String>, out: &mut Vec<Found<'a>>| {
        if let Some(s) = s {
            out.push(Found::Text(Cow::Borrowed(s)));
        }
    };
    match name {
        "cloud" => out.push(text(e.cloud.as_str())),
        "operation" => out.push(text(&e.operation)),
        "action" => out.push(text(&e.action)),
        "outcome" => out.push(text(e.outcome.label())),
        "service" => out.push(text(&e.service)),
        "account" => out.push(text(&e.account)),
        "region" => out.push(text(&e.region)),
        "event_id" => out.push(text(&e.event_id)),
        "source_ip" => opt(&e.source_ip, out),
        "user_agent" => opt(&e.user_agent, out),
        "actor.principal" => opt(&e.actor.principal, out),
        "actor.name" => opt(&e.actor.name, out),
        "actor.principal_type" => opt(&e.actor.principal_type, out),
        "actor.role" => opt(&e.actor.role, out),
        "actor.invoked_by" => opt(&e.actor.invoked_by, out),
        "actor.app_id" => opt(&e.actor.app_id, out),
        "actor.account" => opt(&e.actor.account, out),
        "actor.delegated_by" => opt(&e.actor.delegated_by, out),
        "azure.resource_id" => {
            if let Some(id) = azure_resource_id(e) {
                out.push(Found::Text(Cow::Owned(id)));
            }
        }
        "azure.resource_group" => {
            if let Some(rg) = azure_resource_id(e)
                .and_then(|id| snapback_model::arm_segment(&id, "resourcegroups"))
            {
                out.push(Found::Text(Cow::Owned(rg)));
            }
        }
        "azure.subscription" => {
            if let Some(sub) = azure_resource_id(e)
                .and_then(|id| snapback_model::arm_segment(&id, "subscriptions"))
            {
                out.push(Found::Text(Cow::Owned(sub)));
            }
        }
        "request" => {
            if let Some(v) = &e.request {
                walk(v, "", out);
            }
        }
        "response" => {
            if let Some(v) = &e.response {
                walk(v, "", out);
            }
        }
        other => {
            if let Some(rest) = other.strip_prefix("request.") {
                if let Some(v) = &e.request {
                    walk(v, rest, out);
                }
            } else if let Some(rest) = other.strip_prefix("response.") {
                if let Some(v) = &e.response {
                    walk(v, rest, out);
                }
            } else if let Some(kind) = other.strip_prefix("resources.") {
                for r in &e.resources {
                    if r.kind.as_str() == kind {
                        out.push(Found::Text(Cow::Borrowed(&r.id)));
                    }
                }
            }
        }
    }
}

/// The Azure resource id of the event ([`Event::azure_resource_id`]), lower-cased (exports
/// upper-case it).
fn azure_resource_id(e: &Event) -> Option<String> {
    e.azure_resource_id().map(str::to_ascii_lowercase)
}

/// Walk a dotted path ([`snapback_model::walk_path`]: arrays fan out, a numeric segment
/// indexes instead, a key that itself contains dots is matched whole), and where a JSON string
/// is met with path left, parse it and walk on into it.
pub(crate) fn walk<'a>(node: &'a Value, path: &str, out: &mut Vec<Found<'a>>) {
    // Both callbacks push, in the order of the walk.
    let out = std::cell::RefCell::new(out);
    snapback_model::walk_path(
        node,
        path,
        &mut |v| out.borrow_mut().push(Found::Node(v)),
        &mut |s, rest| {
            let t = s.trim_start();
            if !(t.starts_with('{') || t.starts_with('[')) {
                return;
            }
            let Ok(inner) = serde_json::from_str::<Value>(t) else {
                return;
            };
            let mut found = Vec::new();
            walk(&inner, rest, &mut found);
            out.borrow_mut().extend(found.into_iter().map(|f| match f {
                Found::Node(v) => Found::Parsed(v.clone()),
                Found::Parsed(v) => Found::Parsed(v),
                Found::Text(t) => Found::Text(Cow::Owned(t.into_owned())),
            }));
        },
    );
}

/// Correlation key values: strings, with ids normalised so that references compare equal
/// (Azure ARM ids lower-cased; Google Cloud URLs reduced to `projects/…`).
pub(crate) fn key_values(e: &Event, path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in resolve(e, path) {
        let Some(mut s) = f.to_key() else { continue };
        match e.cloud {
            Cloud::Azure
                if s.get(..15)
                    .is_some_and(|h| h.eq_ignore_ascii_case("/subscriptions/")) =>
            {
                s.make_ascii_lowercase();
            }
            Cloud::Gcp => s = snapback_model::normalise_ref(&s),
            _ => {}
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}
