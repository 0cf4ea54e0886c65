//! Test helpers: compiler-shaped plan statements and DSSE envelopes signed with ring.

use crate::b64;
use crate::envelope::{keyid, pae, PAYLOAD_TYPE};
use crate::plan::{BUILD_ARCH, PREDICATE_TYPE, STATEMENT_TYPE};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};

/// A fixed "now" for plan parsing: 2023-11-14T22:13:20Z.
pub const NOW_NS: i128 = 1_700_000_000 * 1_000_000_000;

/// A statement shaped like compiler/compile.ts output, with `env.set {A: "1"}`, cwd `/`
/// and the compiler's default schedule (no kept fds).
pub fn statement(exe: &str, sha256: &str, argv: &[&str]) -> Value {
    json!({
        "_type": STATEMENT_TYPE,
        "subject": [{ "name": exe, "digest": { "sha256": sha256 } }],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "planVersion": 1,
            "arch": BUILD_ARCH,
            "target": { "exe": exe, "sha256": sha256, "argv": argv, "cwd": "/", "extraArgs": false },
            "env": { "set": { "A": "1" }, "pass": [] },
            "schedule": [
                { "id": "linux.visibility.cwd.v1", "phase": 2 },
                { "id": "linux.scrub.signals.v1", "phase": 3 },
                { "id": "linux.scrub.env.v1", "phase": 3 },
                { "id": "linux.scrub.fds.v1", "phase": 3, "keep": [] },
                { "id": "linux.scrub.no_new_privs.v1", "phase": 3 },
                { "id": "linux.exec.execveat.v1", "phase": 5 },
            ],
            "resolvedDependencies": [{ "name": "policy.yaml", "digest": { "sha256": "00".repeat(32) } }],
            "compiler": { "name": "charter", "version": "0.1.0" },
            "compiledOn": "2023-11-14T22:13:20Z",
        },
    })
}

/// A deterministic Ed25519 key pair.
pub fn key_pair(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).expect("a 32-byte seed is a valid key")
}

/// The raw public key of a pair.
pub fn public_key(key: &Ed25519KeyPair) -> [u8; 32] {
    key.public_key()
        .as_ref()
        .try_into()
        .expect("Ed25519 public keys are 32 bytes")
}

/// A DSSE envelope over `payload`, signed by `key`, as the bytes of `plan.dsse.json`.
pub fn envelope(payload: &[u8], key: &Ed25519KeyPair) -> Vec<u8> {
    let sig = key.sign(&pae(PAYLOAD_TYPE, payload));
    let env = json!({
        "payloadType": PAYLOAD_TYPE,
        "payload": b64::encode(payload, true),
        "signatures": [{ "keyid": keyid(&public_key(key)), "sig": b64::encode(sig.as_ref(), true) }],
    });
    serde_json::to_vec_pretty(&env).expect("JSON values serialize")
}
