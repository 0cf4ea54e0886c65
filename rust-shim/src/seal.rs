//! The transcript seal: after the last record of a launch, a DSSE envelope signed with
//! the launcher's key over an in-toto Statement whose subject is every byte written
//! before it. It anchors the tail of the chain: without it, the last line is protected
//! by nothing that follows.

use crate::b64;
use crate::envelope::{keyid, pae, PAYLOAD_TYPE};
use crate::error::Refusal;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};

/// The predicate type that names a transcript seal.
pub const SEAL_PREDICATE_TYPE: &str = "https://charter.dev/TranscriptSeal/v1";

/// What a seal states about the transcript before it.
pub struct SealFacts<'a> {
    /// The launch.
    pub launch_id: &'a str,
    /// sha256 of the plan payload (record 0's `prev`).
    pub plan_sha256: &'a str,
    /// Records before the seal.
    pub records: u64,
    /// sha256 of the last record's line (its successor's `prev`).
    pub head: &'a str,
    /// sha256 of every byte written before the seal, LFs included.
    pub transcript_sha256: &'a str,
    /// How the launch ended: the terminal record's event and its code, signal or reason.
    pub outcome: Value,
    /// The seal record's own `time`: signed, so the seal line cannot be edited either.
    pub sealed_time: &'a str,
    /// The seal record's own `monoNs`.
    pub sealed_mono_ns: u64,
}

/// The launcher's signing key for seals.
pub struct Sealer {
    key: Ed25519KeyPair,
    keyid: String,
}

// Prints the key id only: key material never reaches logs or panics.
impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("keyid", &self.keyid)
            .finish()
    }
}

impl Sealer {
    /// Reads an Ed25519 PKCS#8 key (v1 as WebCrypto exports it, or v2).
    pub fn from_pkcs8(der: &[u8]) -> Result<Sealer, Refusal> {
        let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| {
            Refusal::HandleUnavailable(format!("The seal key is not an Ed25519 PKCS#8 key ({e})"))
        })?;
        let public: [u8; 32] = key.public_key().as_ref().try_into().map_err(|_| {
            Refusal::HandleUnavailable("The seal key's public half is not 32 bytes".into())
        })?;
        Ok(Sealer {
            keyid: keyid(&public),
            key,
        })
    }

    /// The signed envelope for `facts`.
    pub fn seal(&self, facts: &SealFacts<'_>) -> Value {
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{
                "name": format!("transcript:{}", facts.launch_id),
                "digest": { "sha256": facts.transcript_sha256 },
            }],
            "predicateType": SEAL_PREDICATE_TYPE,
            "predicate": {
                "launchId": facts.launch_id,
                "planSha256": facts.plan_sha256,
                "records": facts.records,
                "head": facts.head,
                                "outcome": facts.outcome,
                "sealedAt": { "time": facts.sealed_time, "monoNs": facts.sealed_mono_ns },
            },
        });
        // serde_json's maps are sorted, so the payload bytes are deterministic.
        let payload = serde_json::to_vec(&statement).unwrap_or_default();
        let sig = self.key.sign(&pae(PAYLOAD_TYPE, &payload));
        json!({
            "payloadType": PAYLOAD_TYPE,
            "payload": b64::encode(&payload, true),
            "signatures": [{ "keyid": self.keyid, "sig": b64::encode(sig.as_ref(), true) }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{UnparsedPublicKey, ED25519};

    #[test]
    fn seals_verify_with_the_public_key_and_state_the_facts() {
        let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let sealer = Sealer::from_pkcs8(der.as_ref()).unwrap();
        let facts = SealFacts {
            launch_id: "00",
            plan_sha256: "aa",
            records: 12,
            head: "bb",
            transcript_sha256: "cc",
            outcome: json!({ "event": "child_exited", "code": 0 }),
            sealed_time: "2026-01-01T00:00:00.000000Z",
            sealed_mono_ns: 5,
        };
        let envelope = sealer.seal(&facts);
        let payload = b64::decode(envelope["payload"].as_str().unwrap()).unwrap();
        let sig = b64::decode(envelope["signatures"][0]["sig"].as_str().unwrap()).unwrap();
        let public = sealer.key.public_key().as_ref().to_vec();
        UnparsedPublicKey::new(&ED25519, public)
            .verify(&pae(PAYLOAD_TYPE, &payload), &sig)
            .unwrap();
        let statement: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(statement["predicate"]["records"], 12);
        assert_eq!(statement["subject"][0]["digest"]["sha256"], "cc");
    }

    #[test]
    fn refuses_a_key_that_is_not_ed25519() {
        assert_eq!(
            Sealer::from_pkcs8(b"not a key").err().unwrap().code(),
            "handle_unavailable"
        );
    }
}
