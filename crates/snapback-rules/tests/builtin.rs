//! The built-in pack loads completely and every rule carries its metadata.

use snapback_rules::{Role, RuleSet};

#[test]
fn builtin_pack_loads_with_zero_problems() {
    let set = RuleSet::builtin();
    assert!(set.problems.is_empty(), "{:#?}", set.problems);
    assert_eq!(
        RuleSet::builtin_files().count(),
        68,
        "a rule file was added or removed: update this count and docs/rules.md"
    );
    assert_eq!(set.detections.len(), 55);
    assert_eq!(set.correlations.len(), 13);
    assert_eq!(set.filters.len(), 10);
}

#[test]
fn every_builtin_rule_has_specific_metadata() {
    let set = RuleSet::builtin();
    let metas = set
        .detections
        .iter()
        .map(|d| (&d.id, d.name.as_deref(), &d.origin, &d.meta, &d.tags))
        .chain(
            set.correlations
                .iter()
                .map(|c| (&c.id, c.name.as_deref(), &c.origin, &c.meta, &c.tags)),
        );
    let mut guides = std::collections::HashSet::new();
    for (id, name, origin, meta, tags) in metas {
        assert!(origin.starts_with("builtin:rules/"), "{origin}");
        assert!(name.is_some(), "{id} has no name");
        assert_ne!(
            meta.role,
            Role::Standalone,
            "{origin}: no snapback metadata"
        );
        assert!(
            meta.risk_reason.len() > 20,
            "{origin}: risk_reason must say why"
        );
        assert!(
            !meta.guide.check.is_empty() && !meta.guide.respond.is_empty(),
            "{origin}"
        );
        assert!(
            guides.insert(meta.guide.check.clone()) || meta.role == Role::Step,
            "{origin}: guide copied from another rule"
        );
        assert!(
            tags.iter().any(|t| t.starts_with("attack.t")),
            "{origin}: no technique tag"
        );
        assert_eq!(id.len(), 36, "{origin}: id is not a UUID");
    }
}
