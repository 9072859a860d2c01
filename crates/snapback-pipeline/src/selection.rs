//! Which alerts a sink shows.

use snapback_model::Alert;

/// A sink's choice of alerts: at least `min_risk`, and suppressed ones only when asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Selection {
    pub min_risk: u8,
    /// Show suppressed alerts too (marked).
    pub suppressed: bool,
}

impl Selection {
    /// Every alert at or above `min_risk`, suppressed ones included (the HTML report shows
    /// what tuning hid, marked).
    pub fn with_suppressed(min_risk: u8) -> Selection {
        Selection {
            min_risk,
            suppressed: true,
        }
    }

    /// Whether `alert` reaches the sink.
    pub fn admits(&self, alert: &Alert) -> bool {
        alert.risk_score >= self.min_risk && (self.suppressed || alert.suppressed.is_none())
    }

    /// The alerts of `alerts` that reach the sink, in their order.
    pub fn pick<'a>(&self, alerts: &'a [Alert]) -> Vec<&'a Alert> {
        alerts.iter().filter(|a| self.admits(a)).collect()
    }
}
