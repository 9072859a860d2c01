//! The HTML report: self-contained, rendered by headless Chromium, hostile strings shown as text
//! with no script of theirs run, and usable with 10,000 alerts.

mod support;

use std::time::Instant;

use snapback_output::{report, sample, Scope};

fn scope() -> Scope {
    Scope {
        inputs: vec![
            "examples/atomic/".into(),
            "<img src=x onerror=alert(1)>.json".into(),
        ],
        events: 1234,
        skipped: 2,
        not_audit: 7,
        suppressed: 1,
        first_event: Some("2025-01-01T12:00:00Z".into()),
        last_event: Some("2025-01-02T12:00:00Z".into()),
        rules_loaded: 17,
        generated_at: "2025-01-03T00:00:00Z".into(),
    }
}

/// No URL that a browser would fetch: no http(s) or protocol-relative address in src, href,
/// url(…), @import or srcset.
fn assert_self_contained(page: &str) {
    let lower = page.to_ascii_lowercase();
    for needle in [
        "src=\"http",
        "src='http",
        "src=http",
        "href=\"http",
        "href='http",
        "href=http",
        "url(http",
        "url(\"http",
        "url('http",
        "url(//",
        "src=\"//",
        "href=\"//",
        "@import",
        "srcset=",
        "<link",
        "<iframe",
        "<object",
        "<embed",
    ] {
        assert!(
            !lower.contains(needle),
            "the report refers to the network: {needle}"
        );
    }
}

#[test]
fn report_is_self_contained_and_escapes_every_field() {
    let mut alerts: Vec<_> = (0..12).map(sample::alert).collect();
    for (i, (_, p)) in sample::HOSTILE.iter().enumerate() {
        alerts.push(sample::hostile(100 + i, p));
    }
    let refs: Vec<_> = alerts.iter().collect();
    let page = report::render(&refs, &scope());
    assert_self_contained(&page);
    // Only the page's own two script elements, and no payload tag outside the JSON block.
    assert_eq!(page.matches("<script").count(), 2);
    assert!(!page.contains("<img"), "an <img> made it into the HTML");
    assert!(!page.contains("<svg onload"));
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;.json"));
    let data = &page[page.find("id=\"alert-data\">").unwrap()..];
    let data = &data[..data.find("</script>").unwrap()];
    assert!(!data.contains('<') && !data.contains('\u{2028}'));
}

#[test]
fn chromium_renders_the_report_and_runs_no_injected_script() {
    if !support::have_chromium() {
        return;
    }
    let mut alerts: Vec<_> = (0..6).map(sample::alert).collect();
    for (i, (_, p)) in sample::HOSTILE.iter().enumerate() {
        alerts.push(sample::hostile(100 + i, p));
    }
    let refs: Vec<_> = alerts.iter().collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    std::fs::write(&path, report::render(&refs, &scope())).unwrap();

    // Every request the page could make goes to this proxy; it must see none.
    let tripwire = support::Tripwire::start();
    let out = support::chromium(
        &["--virtual-time-budget=3000", "--dump-dom"],
        &path,
        Some(tripwire.port),
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The script ran and rendered every alert (they fit on one page).
    assert_eq!(
        dom.matches("<article class=\"alert").count(),
        alerts.len(),
        "{dom}"
    );
    // No payload ran or became an element.
    assert!(
        dom.contains("<title>snapback report"),
        "title changed: {}",
        &dom[..dom.len().min(600)]
    );
    assert!(!dom.contains("PWNED</title>"));
    // Text nodes serialise `<` as `&lt;`, so a literal `<tag` in the DOM is a real element.
    assert_eq!(
        dom.matches("<svg").count(),
        dom.matches("<svg class=\"tl\"").count(),
        "an injected <svg> exists"
    );
    assert!(!dom.contains("<img"), "an injected <img> exists");
    assert!(!dom.contains("<b id"), "an injected <b> exists");
    // …and every payload is there as text.
    for (name, p) in sample::HOSTILE {
        if p.chars().any(|c| c.is_control()) {
            continue; // control characters are shown, but serialised differently
        }
        let escaped = p
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(dom.contains(&escaped), "payload {name} not shown as text");
    }
    assert_eq!(
        tripwire.page_requests(),
        Vec::<String>::new(),
        "the page made network requests"
    );

    // And a picture of it, for people.
    let png = dir.path().join("report.png");
    let out = support::chromium(
        &[
            "--virtual-time-budget=3000",
            "--window-size=1280,2400",
            &format!("--screenshot={}", png.display()),
        ],
        &path,
        Some(tripwire.port),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "screenshot too small"
    );
    assert_eq!(
        tripwire.page_requests(),
        Vec::<String>::new(),
        "the page made network requests"
    );
}

#[test]
fn ten_thousand_alerts() {
    let alerts: Vec<_> = (0..10_000).map(sample::alert).collect();
    let refs: Vec<_> = alerts.iter().collect();
    let t = Instant::now();
    let page = report::render(&refs, &scope());
    let took = t.elapsed();
    eprintln!("10,000 alerts: {} bytes in {took:?}", page.len());
    assert!(page.len() < 40 * 1024 * 1024, "{} bytes", page.len());
    assert_eq!(page.matches("\"id\":\"sb-").count(), 10_000);
    // Highest risk first.
    let first = page.find("\"risk\":95").unwrap();
    let last = page.find("\"risk\":10").unwrap();
    assert!(first < last);
    if !support::have_chromium() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.html");
    std::fs::write(&path, &page).unwrap();
    let out = support::chromium(&["--virtual-time-budget=5000", "--dump-dom"], &path, None);
    let dom = String::from_utf8_lossy(&out.stdout);
    // One page of 50 alerts is in the DOM, not 10,000.
    assert_eq!(dom.matches("<article class=\"alert").count(), 50);
    assert!(
        dom.contains("Showing 1–50 of 10000 matching alert(s)"),
        "pager text missing"
    );
}
