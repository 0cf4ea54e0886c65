//! What every parser of a plan section shares: strict schedule entries, `plan_invalid`
//! refusals, C strings without NUL bytes and recorded resolutions.

use crate::error::Refusal;
use serde::Deserialize;
use std::ffi::CString;

/// A primitive without parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlainEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
}

/// Parses one schedule entry strictly into `T` (unknown keys are errors).
pub fn strict<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|e| e.to_string())
}

/// A `plan_invalid` refusal.
pub fn invalid(detail: impl Into<String>) -> Refusal {
    Refusal::PlanInvalid(detail.into())
}

/// `value` as a C string; `plan_invalid` naming `what` when it holds a NUL byte.
pub fn c_string(what: &str, value: &str) -> Result<CString, Refusal> {
    CString::new(value).map_err(|_| invalid(format!("The plan's {what} contains a NUL byte")))
}

/// A recorded resolution must be an absolute path other than the path itself.
pub fn check_resolved(what: &str, path: &str, resolved: Option<&str>) -> Result<(), Refusal> {
    match resolved {
        Some(r) if !r.starts_with('/') || r == path => Err(invalid(format!(
            "The {what} {path} has the resolution {r:?}; it must be another absolute path"
        ))),
        Some(r) => c_string(what, r).map(drop),
        None => Ok(()),
    }
}
