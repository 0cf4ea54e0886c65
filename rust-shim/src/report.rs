//! The `phase_resolved` reports of phases 1–5: each mechanism records its details here
//! as it is prepared (and once the child exists, what clone3 created); the parent writes
//! one record a phase as the child reports the phase done.

use crate::step::PHASE_NAMES;
use serde_json::{json, Map, Value};

/// One phase's `phase_resolved` result and details.
#[derive(Default)]
struct PhaseReport {
    /// The plan has a primitive of this phase.
    present: bool,
    /// Less than the plan asked for is enforced.
    degraded: bool,
    details: Map<String, Value>,
}

/// The `phase_resolved` result and details of phases 1–5.
#[derive(Default)]
pub struct PhaseReports([PhaseReport; 5]);

impl PhaseReports {
    fn phase(&mut self, phase: u8) -> &mut PhaseReport {
        &mut self.0[usize::from(phase.clamp(1, 5) - 1)]
    }

    /// Marks a phase as one the plan has a primitive of (`applied` unless degraded).
    pub fn mark_present(&mut self, phase: u8) {
        self.phase(phase).present = true;
    }

    /// Sets `details[key]` of a phase.
    pub fn insert(&mut self, phase: u8, key: &str, value: Value) {
        self.phase(phase).details.insert(key.to_string(), value);
    }

    /// Sets `details[key][field]` of a phase when `details[key]` is an object.
    pub fn insert_field(&mut self, phase: u8, key: &str, field: &str, value: Value) {
        if let Some(Value::Object(map)) = self.phase(phase).details.get_mut(key) {
            map.insert(field.to_string(), value);
        }
    }

    /// Marks a phase `degraded`.
    pub fn degrade(&mut self, phase: u8) {
        self.phase(phase).degraded = true;
    }

    /// Sets `details[key]` of a phase and marks it `degraded` when `degraded`.
    pub fn record(&mut self, phase: u8, key: &str, value: Value, degraded: bool) {
        self.insert(phase, key, value);
        if degraded {
            self.degrade(phase);
        }
    }

    /// The `phase_resolved` fields of a phase (1–5).
    pub fn fields(&self, phase: u8) -> Vec<(&'static str, Value)> {
        let index = usize::from(phase.clamp(1, 5) - 1);
        let report = &self.0[index];
        let result = match (report.present, report.degraded) {
            (false, _) => "not_required",
            (true, false) => "applied",
            (true, true) => "degraded",
        };
        vec![
            ("phase", json!(phase)),
            ("name", json!(PHASE_NAMES[index])),
            ("result", json!(result)),
            ("details", Value::Object(report.details.clone())),
        ]
    }
}
