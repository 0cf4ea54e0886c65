//! The launcher-side launch request (not signed): trusted keys, where the transcript goes,
//! and arguments to append. Parsed strictly; any problem is `plan_invalid` and, since the
//! transcript destination is part of the request, is reported without a transcript.

use crate::b64;
use crate::digest::from_hex32;
use crate::error::Refusal;
use crate::seal::Sealer;
use serde::Deserialize;
use std::ffi::CString;

/// Where the transcript is written.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged, deny_unknown_fields)]
pub enum Destination {
    /// A file, opened for appending (created 0644).
    Path {
        /// The file's path.
        path: String,
    },
    /// An fd of the launcher, written as is and never closed by the shim.
    Fd {
        /// The fd number.
        fd: i32,
    },
    /// A log daemon's Unix datagram socket: one message per record.
    #[serde(rename_all = "camelCase")]
    Socket {
        /// The socket's path (`/dev/log`, `/run/systemd/journal/socket`).
        socket: String,
        /// How records are framed.
        protocol: crate::transcript_socket::Protocol,
        /// The largest message the receiver keeps whole (default 8192).
        #[serde(default)]
        max_bytes: Option<usize>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRequest {
    trusted_keys: Vec<String>,
    #[serde(default)]
    transcript: Option<Destination>,
    #[serde(default)]
    extra_args: Vec<String>,
    #[serde(default)]
    seal_key_pkcs8: Option<String>,
    #[serde(default)]
    learn: Option<RawLearnRequest>,
}

/// `learn`: where a learn plan's supervisor writes its records.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLearnRequest {
    records: String,
}

/// A parsed launch request.
#[derive(Debug)]
pub struct Request {
    /// Raw Ed25519 public keys.
    pub trusted_keys: Vec<[u8; 32]>,
    /// The transcript destination; `None` computes the chain and writes nowhere.
    pub transcript: Option<Destination>,
    /// Arguments to append to the plan's argv.
    pub extra_args: Vec<CString>,
    /// The key that seals the transcript after its last record, if any.
    pub sealer: Option<Sealer>,
    /// A learn plan's records file (`learn.records`).
    pub learn_records: Option<String>,
}

fn invalid(detail: String) -> Refusal {
    Refusal::PlanInvalid(format!("The launch request is malformed: {detail}"))
}

/// Parses request JSON: `{"trustedKeys": [hex], "transcript": {"path"}|{"fd"}|null,
/// "extraArgs": [..]}`; `transcript` and `extraArgs` may be left out.
pub fn parse(bytes: &[u8]) -> Result<Request, Refusal> {
    let raw: RawRequest = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    let trusted_keys = raw
        .trusted_keys
        .iter()
        .map(|k| {
            from_hex32(k)
                .ok_or_else(|| invalid(format!("trusted key {k:?} is not 64 lowercase hex digits")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let extra_args = raw
        .extra_args
        .into_iter()
        .map(|a| {
            CString::new(a)
                .map_err(|_| invalid("an extra argument contains a NUL byte".to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sealer = raw
        .seal_key_pkcs8
        .map(|text| {
            let der = b64::decode(&text).ok_or_else(|| {
                invalid("sealKeyPkcs8 is not canonical padded base64".to_string())
            })?;
            Sealer::from_pkcs8(&der)
        })
        .transpose()?;
    Ok(Request {
        trusted_keys,
        transcript: raw.transcript,
        extra_args,
        sealer,
        learn_records: raw.learn.map(|l| l.records),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_destinations() {
        let key = "ab".repeat(32);
        let r = parse(
            format!(
                r#"{{"trustedKeys":["{key}"],"transcript":{{"path":"t.jsonl"}},"extraArgs":["x"]}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(r.trusted_keys, [[0xab; 32]]);
        assert_eq!(
            r.transcript,
            Some(Destination::Path {
                path: "t.jsonl".into()
            })
        );
        assert_eq!(r.extra_args, [CString::new("x").unwrap()]);
        let r = parse(br#"{"trustedKeys":[],"transcript":{"fd":3}}"#).unwrap();
        assert_eq!(r.transcript, Some(Destination::Fd { fd: 3 }));
        let r =
            parse(br#"{"trustedKeys":[],"transcript":{"socket":"/dev/log","protocol":"syslog"}}"#)
                .unwrap();
        assert_eq!(
            r.transcript,
            Some(Destination::Socket {
                socket: "/dev/log".into(),
                protocol: crate::transcript_socket::Protocol::Syslog,
                max_bytes: None
            })
        );
        let r = parse(br#"{"trustedKeys":[],"transcript":null,"extraArgs":[]}"#).unwrap();
        assert_eq!(r.transcript, None);
    }

    #[test]
    fn refuses_malformed_requests() {
        for bad in [
            &br#"{"trustedKeys":["AB"]}"#[..],
            br#"{"trustedKeys":[],"extra":1}"#,
            br#"{"trustedKeys":[],"transcript":{"path":"a","fd":3}}"#,
            br#"{"trustedKeys":[],"transcript":{"file":"a"}}"#,
            br#"{"trustedKeys":[],"extraArgs":["a\u0000b"]}"#,
            br#"{"transcript":null}"#,
        ] {
            assert_eq!(
                parse(bad).unwrap_err().code(),
                "plan_invalid",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
