//! [`FindingTracker`]: the hysteresis of findings over a run's checks, so that a figure
//! hovering at its threshold does not make its finding start and end again and again.

use crate::{Finding, FindingKind, Severity};

/// What one check changed: the findings to announce (started, or of a changed severity)
/// and the kinds that ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackedChanges {
    /// Indices into the check's findings of those to announce, in order.
    pub announce: Vec<usize>,
    /// The kinds that ended at this check.
    pub ended: Vec<FindingKind>,
}

/// One kind of finding being followed.
#[derive(Debug, Clone)]
struct Entry {
    kind: FindingKind,
    /// The severity announced, once the finding has started.
    shown: Option<Severity>,
    /// Consecutive checks the finding has held (before it started), or held at a severity
    /// other than the one shown (after).
    held: usize,
    /// Consecutive checks the finding has not held, after it started.
    absent: usize,
}

/// Follows the findings of a run's successive checks with hysteresis: a finding **starts**
/// (is announced) only after it has held for `hold` consecutive checks, **ends** only after
/// it has stopped holding for `hold` consecutive checks, and a new severity is announced
/// only after it has held for `hold` consecutive checks. `hold` is
/// [`Thresholds::finding_hold`](crate::Thresholds::finding_hold) in the monitor; a hold of
/// 0 or 1 follows every check.
///
/// ```
/// use gradwell_monitor::{Finding, FindingKind, FindingTracker, Severity};
/// let dead = Finding {
///     severity: Severity::Warning, kind: FindingKind::DeadUnits, layers: vec![],
///     figure: 0.6, threshold: 0.5, message: String::new(), cures: vec![],
/// };
/// let mut t = FindingTracker::new(2);
/// assert!(t.update(std::slice::from_ref(&dead)).announce.is_empty()); // held once
/// assert_eq!(t.update(std::slice::from_ref(&dead)).announce, [0]); // twice: starts
/// assert!(t.update(&[]).ended.is_empty()); // gone once
/// assert_eq!(t.update(&[]).ended, [FindingKind::DeadUnits]); // twice: ends
/// ```
#[derive(Debug, Clone, Default)]
pub struct FindingTracker {
    hold: usize,
    entries: Vec<Entry>,
}

impl FindingTracker {
    /// A tracker with nothing started.
    pub fn new(hold: usize) -> Self {
        FindingTracker {
            hold: hold.max(1),
            entries: Vec::new(),
        }
    }

    /// The kinds started and not ended, with the severity announced.
    pub fn active(&self) -> impl Iterator<Item = (FindingKind, Severity)> + '_ {
        self.entries.iter().filter_map(|e| Some((e.kind, e.shown?)))
    }

    /// Takes one check's findings (several of one kind count as one, at the worst
    /// severity); returns what to announce and what ended.
    pub fn update(&mut self, findings: &[Finding]) -> TrackedChanges {
        let mut changes = TrackedChanges::default();
        let mut kinds: Vec<(FindingKind, Severity)> = Vec::new();
        for f in findings {
            match kinds.iter_mut().find(|(k, _)| *k == f.kind) {
                Some((_, s)) => *s = (*s).max(f.severity),
                None => kinds.push((f.kind, f.severity)),
            }
        }
        for &(kind, severity) in &kinds {
            let i = match self.entries.iter().position(|e| e.kind == kind) {
                Some(i) => i,
                None => {
                    self.entries.push(Entry {
                        kind,
                        shown: None,
                        held: 0,
                        absent: 0,
                    });
                    self.entries.len() - 1
                }
            };
            let e = &mut self.entries[i];
            e.absent = 0;
            if e.shown == Some(severity) {
                e.held = 0;
                continue;
            }
            e.held += 1;
            if e.held >= self.hold {
                e.shown = Some(severity);
                e.held = 0;
                changes.announce.extend(
                    findings
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| f.kind == kind)
                        .map(|(i, _)| i),
                );
            }
        }
        let hold = self.hold;
        self.entries.retain_mut(|e| {
            if kinds.iter().any(|(k, _)| *k == e.kind) {
                return true;
            }
            if e.shown.is_none() {
                // Held for fewer than `hold` checks in a row: never started.
                return false;
            }
            e.held = 0;
            e.absent += 1;
            if e.absent >= hold {
                changes.ended.push(e.kind);
                return false;
            }
            true
        });
        changes.announce.sort_unstable();
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: FindingKind, severity: Severity) -> Finding {
        Finding {
            severity,
            kind,
            layers: vec!["1".into()],
            figure: 0.6,
            threshold: 0.5,
            message: String::new(),
            cures: Vec::new(),
        }
    }

    /// Feeds `checks` (whether the dead-units finding holds at each) and returns the
    /// changes printed, as `(check, "start" | "end")`.
    fn changes(hold: usize, checks: &[bool]) -> Vec<(usize, &'static str)> {
        let dead = finding(FindingKind::DeadUnits, Severity::Warning);
        let mut t = FindingTracker::new(hold);
        let mut out = Vec::new();
        for (i, &holds) in checks.iter().enumerate() {
            let c = if holds {
                t.update(std::slice::from_ref(&dead))
            } else {
                t.update(&[])
            };
            out.extend(c.announce.iter().map(|_| (i, "start")));
            out.extend(c.ended.iter().map(|_| (i, "end")));
        }
        out
    }

    #[test]
    fn a_finding_that_flaps_around_its_threshold_changes_only_after_holding() {
        // The dead-unit fraction of a training run crossing its threshold back and forth:
        // isolated crossings, then a stretch that holds, a short gap, and a long absence.
        let checks = [
            true, false, true, false, false, true, true, false, // flapping
            true, true, true, true, false, true, true, // holds (a one-check gap)
            false, false, true, false, false, false, false, // gone
        ];
        // Without hysteresis every crossing is a change.
        let every = changes(1, &checks);
        assert_eq!(every.len(), 12, "{every:?}");
        // With a hold of 3: it starts at the third check in a row and ends at the third
        // absence in a row, once each.
        assert_eq!(changes(3, &checks), [(10, "start"), (20, "end")]);
    }

    #[test]
    fn a_new_severity_is_announced_only_after_holding() {
        let warn = finding(FindingKind::DeadUnits, Severity::Warning);
        let crit = finding(FindingKind::DeadUnits, Severity::Critical);
        let mut t = FindingTracker::new(2);
        t.update(std::slice::from_ref(&warn));
        assert_eq!(t.update(std::slice::from_ref(&warn)).announce, [0]);
        assert!(t.update(std::slice::from_ref(&crit)).announce.is_empty());
        assert!(t.update(std::slice::from_ref(&warn)).announce.is_empty());
        assert!(t.update(std::slice::from_ref(&crit)).announce.is_empty());
        assert_eq!(t.update(std::slice::from_ref(&crit)).announce, [0]);
        assert_eq!(
            t.active().collect::<Vec<_>>(),
            [(FindingKind::DeadUnits, Severity::Critical)]
        );
    }

    #[test]
    fn findings_of_one_kind_are_announced_together() {
        let a = finding(FindingKind::ExplodingGradients, Severity::Warning);
        let b = finding(FindingKind::DeadUnits, Severity::Warning);
        let mut t = FindingTracker::new(1);
        assert_eq!(t.update(&[a.clone(), b, a]).announce, [0, 1, 2]);
    }
}
