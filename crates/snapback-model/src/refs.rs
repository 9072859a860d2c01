//! Cloud resource references, read the same way by every crate that reads them.

/// The segment after `name` (matched case-insensitively) in an Azure Resource Manager id:
/// `arm_segment("/subscriptions/S/resourceGroups/RG/…", "resourceGroups") == Some("RG")`.
pub fn arm_segment(id: &str, name: &str) -> Option<String> {
    let mut parts = id.split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case(name) {
            return parts.next().map(str::to_owned);
        }
    }
    None
}

/// Normalise a Compute reference: strip `https://…/compute/v1/` and similar prefixes.
pub fn normalise_ref(s: &str) -> String {
    let s = s.trim();
    let s = match s.find("/projects/") {
        Some(i) if s.starts_with("http") || s.starts_with("//") => &s[i + 1..],
        _ => s,
    };
    s.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_segments_and_compute_references() {
        let id = "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.Compute/disks/d";
        assert_eq!(arm_segment(id, "resourcegroups").as_deref(), Some("RG"));
        assert_eq!(arm_segment(id, "subscriptions").as_deref(), Some("S1"));
        assert_eq!(arm_segment(id, "nothing"), None);
        assert_eq!(
            normalise_ref("https://www.googleapis.com/compute/v1/projects/p/zones/z/disks/d"),
            "projects/p/zones/z/disks/d"
        );
        assert_eq!(
            normalise_ref(" projects/p/global/images/i "),
            "projects/p/global/images/i"
        );
    }
}
