//! The shim's identity: crate name and version, and the C ABI version.

use serde_json::{json, Value};

/// The C ABI version (`charter_abi_version`); ffi/symbols.ts expects the same.
pub const ABI_VERSION: u32 = 2;

/// `{name, version}` of this shim, as `launcher_started` and the probe report it.
pub fn shim() -> Value {
    json!({ "name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION") })
}
