//! Correlation keys: the values of a group-by field, normalised so that references compare
//! equal, scoped by cloud and account.

use snapback_model::{Cloud, Event};
use snapback_rules::RuleSet;

/// The values of a field as correlation keys: [`RuleSet::field_values`] (Azure ids
/// lower-cased, Google Cloud URLs reduced to `projects/…`), and for Azure every value
/// lower-cased. Azure compares as a class: ids, resource and group names, GUIDs are all
/// case-insensitive, and real records spell one id in different cases (an upper-cased
/// `resourceId` in a storage export; the same disk's id as typed in a VM write's body),
/// including values that do not start with `/subscriptions/` (a name, a GUID in a body).
pub(crate) fn key_values(e: &Event, path: &str) -> Vec<String> {
    let mut values = RuleSet::field_values(e, path);
    if e.cloud == Cloud::Azure {
        for v in &mut values {
            v.make_ascii_lowercase();
        }
        values.sort();
        values.dedup();
    }
    values
}

/// Group keys of an event for a correlation: one per combination of group-by values,
/// scoped by cloud, account and (for AWS, whose ids are regional) region.
pub(crate) fn group_keys(rules: &RuleSet, c: usize, rule: usize, e: &Event) -> Vec<String> {
    let corr = &rules.correlations[c];
    let scope = match e.cloud {
        Cloud::Aws => format!("{}|{}|{}", e.cloud, e.account, e.region),
        _ => format!("{}|{}", e.cloud, e.account),
    };
    let mut keys = vec![scope];
    for field in &corr.group_by {
        let path = corr
            .aliases
            .get(field)
            .and_then(|m| m.get(&rule))
            .map(String::as_str)
            .unwrap_or(field.as_str());
        let mut values = key_values(e, path);
        values.sort();
        values.dedup();
        if values.is_empty() {
            return Vec::new();
        }
        let mut next = Vec::new();
        for k in &keys {
            for v in &values {
                if next.len() >= 256 {
                    break;
                }
                next.push(format!("{k}|{v}"));
            }
        }
        keys = next;
    }
    keys
}
