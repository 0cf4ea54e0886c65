//! DSSE v1 envelopes: strict parsing, the pre-authentication encoding (PAE), Ed25519
//! verification against trusted raw keys, and OpenSSH-style key ids.

use crate::b64;
use crate::digest::sha256;
use crate::error::Refusal;
use ring::signature::{UnparsedPublicKey, ED25519};
use serde::Deserialize;

/// The payload type of an in-toto Statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

// DSSE: consumers ignore unknown fields (the signature covers only payloadType and
// payload) and `keyid` is optional.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEnvelope {
    payload_type: String,
    payload: String,
    signatures: Vec<RawSignature>,
}

#[derive(Deserialize)]
struct RawSignature {
    #[serde(default)]
    keyid: String,
    sig: String,
}

/// A structurally valid envelope whose payload decoded; not yet verified.
#[derive(Debug)]
pub struct Envelope {
    payload_type: String,
    payload: Vec<u8>,
    signatures: Vec<(String, String)>,
}

/// A verified payload and the key id of the trusted key that verified it.
#[derive(Debug)]
pub struct Verified {
    /// The exact signed payload bytes.
    pub payload: Vec<u8>,
    /// `SHA256:…` of the trusted key that verified the signature.
    pub keyid: String,
}

/// `PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The key id of a raw Ed25519 public key: `SHA256:` + unpadded base64 of
/// sha256(u32be 11 ‖ "ssh-ed25519" ‖ u32be 32 ‖ key), the OpenSSH fingerprint form.
pub fn keyid(key: &[u8; 32]) -> String {
    let mut wire = Vec::with_capacity(51);
    wire.extend_from_slice(&11u32.to_be_bytes());
    wire.extend_from_slice(b"ssh-ed25519");
    wire.extend_from_slice(&32u32.to_be_bytes());
    wire.extend_from_slice(key);
    format!("SHA256:{}", b64::encode(&sha256(&wire), false))
}

/// Parses envelope bytes: `payloadType`, `payload`, `signatures [{keyid?, sig}]`, and a
/// payload in either base64 alphabet.
pub fn parse(bytes: &[u8]) -> Result<Envelope, Refusal> {
    let raw: RawEnvelope = serde_json::from_slice(bytes).map_err(|e| {
        Refusal::PlanInvalid(format!(
            "The plan file is not a DSSE envelope ({e}); expected payloadType, payload and signatures [{{keyid?, sig}}]"
        ))
    })?;
    let payload = b64::decode_any_alphabet(&raw.payload)
        .ok_or_else(|| Refusal::PlanInvalid("The envelope's payload is not base64".to_string()))?;
    Ok(Envelope {
        payload_type: raw.payload_type,
        payload,
        signatures: raw
            .signatures
            .into_iter()
            .map(|s| (s.keyid, s.sig))
            .collect(),
    })
}

impl Envelope {
    /// The decoded payload (unverified).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Verifies the envelope: accepted when any trusted key verifies any signature; a
    /// signature's `keyid` only decides which keys are tried first.
    pub fn verify(self, trusted: &[[u8; 32]]) -> Result<Verified, Refusal> {
        if self.payload_type != PAYLOAD_TYPE {
            return Err(Refusal::PlanInvalid(format!(
                "The envelope's payloadType is {:?}, expected {PAYLOAD_TYPE}",
                self.payload_type
            )));
        }
        if self.signatures.is_empty() {
            return Err(Refusal::PlanInvalid(
                "The envelope carries no signature".to_string(),
            ));
        }
        let message = pae(&self.payload_type, &self.payload);
        let keys: Vec<(String, &[u8; 32])> = trusted.iter().map(|k| (keyid(k), k)).collect();
        for (claimed, sig) in &self.signatures {
            let Some(sig) = b64::decode_any_alphabet(sig) else {
                continue;
            };
            let hinted = keys.iter().filter(|(id, _)| id == claimed);
            let others = keys.iter().filter(|(id, _)| id != claimed);
            for (id, key) in hinted.chain(others) {
                if UnparsedPublicKey::new(&ED25519, key)
                    .verify(&message, &sig)
                    .is_ok()
                {
                    return Ok(Verified {
                        payload: self.payload,
                        keyid: id.clone(),
                    });
                }
            }
        }
        let signers: Vec<&str> = self.signatures.iter().map(|(id, _)| id.as_str()).collect();
        Err(Refusal::SignatureInvalid(format!(
            "No trusted key verifies the plan's signature (signed by {}); pass the signer's public key with --trust",
            signers.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{envelope, key_pair, public_key};

    #[test]
    fn pae_matches_the_dsse_spec() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn keyid_matches_an_independent_computation() {
        // python3: k = bytes(range(32)); w = struct.pack(">I", 11) + b"ssh-ed25519" +
        //   struct.pack(">I", 32) + k
        //   "SHA256:" + base64.b64encode(hashlib.sha256(w).digest()).decode().rstrip("=")
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(
            keyid(&key),
            "SHA256:ZkAslGjFiUHdGf/WUL8rQvkib4PTvQatUV0OUQSncCA"
        );
    }

    fn verify(bytes: &[u8], trusted: &[[u8; 32]]) -> Result<Verified, Refusal> {
        parse(bytes)?.verify(trusted)
    }

    #[test]
    fn a_ring_signature_verifies_and_names_the_trusted_key() {
        let key = key_pair(1);
        let bytes = envelope(b"{\"a\":1}", &key);
        let other = public_key(&key_pair(2));
        let verified = verify(&bytes, &[other, public_key(&key)]).unwrap();
        assert_eq!(verified.payload, b"{\"a\":1}");
        assert_eq!(verified.keyid, keyid(&public_key(&key)));
    }

    #[test]
    fn tampering_and_untrusted_keys_are_refused() {
        let key = key_pair(1);
        let trusted = [public_key(&key)];
        let good = envelope(b"{\"a\":1}", &key);
        let mut doc: serde_json::Value = serde_json::from_slice(&good).unwrap();
        let flip = |field: &str| {
            let mut d = doc.clone();
            let pointer = format!("/{field}");
            let text = d.pointer(&pointer).unwrap().as_str().unwrap();
            let mut raw = b64::decode(text).unwrap();
            raw[0] ^= 1;
            *d.pointer_mut(&pointer).unwrap() = b64::encode(&raw, true).into();
            serde_json::to_vec(&d).unwrap()
        };
        for tampered in [flip("payload"), flip("signatures/0/sig")] {
            assert_eq!(
                verify(&tampered, &trusted).unwrap_err().code(),
                "signature_invalid"
            );
        }
        assert_eq!(
            verify(&good, &[public_key(&key_pair(2))])
                .unwrap_err()
                .code(),
            "signature_invalid"
        );
        assert_eq!(verify(&good, &[]).unwrap_err().code(), "signature_invalid");
        doc["payloadType"] = "text/plain".into();
        assert_eq!(
            verify(&serde_json::to_vec(&doc).unwrap(), &trusted)
                .unwrap_err()
                .code(),
            "plan_invalid"
        );
    }

    #[test]
    fn malformed_envelopes_are_plan_invalid() {
        for bad in [
            &b"not json"[..],
            br#"{"payloadType":"t","payload":"e3!=","signatures":[]}"#,
            br#"{"payloadType":"t","payload":"e+_=","signatures":[]}"#,
            br#"{"payloadType":"t","payload":"e30=","signatures":[{"keyid":"k"}]}"#,
        ] {
            assert_eq!(parse(bad).unwrap_err().code(), "plan_invalid");
        }
        let unsigned = br#"{"payloadType":"t","payload":"e30=","signatures":[]}"#;
        assert_eq!(verify(unsigned, &[]).unwrap_err().code(), "plan_invalid");
    }

    #[test]
    fn url_safe_unpadded_keyless_envelopes_with_extra_fields_verify() {
        // DSSE: verifiers accept both alphabets, `keyid` is optional, unknown fields are
        // ignored. The payload chosen encodes with '+' and '/' in the standard alphabet.
        let key = key_pair(3);
        let payload = [0xfbu8, 0xff, 0xbf, 0x3e];
        let good: serde_json::Value = serde_json::from_slice(&envelope(&payload, &key)).unwrap();
        let url_safe = |text: &str| text.replace('+', "-").replace('/', "_").replace('=', "");
        let reencoded = serde_json::json!({
            "payloadType": good["payloadType"],
            "payload": url_safe(good["payload"].as_str().unwrap()),
            "signatures": [{ "sig": url_safe(good["signatures"][0]["sig"].as_str().unwrap()) }],
            "producer": "another tool",
        });
        assert!(reencoded["payload"].as_str().unwrap().contains(['-', '_']));
        let verified = verify(
            &serde_json::to_vec(&reencoded).unwrap(),
            &[public_key(&key)],
        );
        assert_eq!(verified.unwrap().payload, payload);
    }
}
