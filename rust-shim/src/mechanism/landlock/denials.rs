//! The launcher's side of recording Landlock's denials on a normal launch: each denial the
//! kernel audit stream shows for the child's domain ([`crate::audit_stream`]) is tallied as a
//! `denied` record naming the denied rights, the object and the policy key that grants
//! them; bounded whatever the child does. The launch writes them before `child_exited`.

use crate::audit_stream::Denial;
use crate::tally::Tally;
use serde_json::{json, Value};

/// The longest object (path) a record quotes, in bytes; longer ones are cut at a character
/// boundary and end in `…`, and characters that would mislead a terminal show as `?` (the
/// records after exec must fit the transcript's reservation, and a terminal shows the
/// summary).
const OBJECT_MAX: usize = 160;

/// Landlock's `denied` records of one launch.
#[derive(Debug, Default, Clone)]
pub struct Denials {
    /// Distinct (what, key), itemized up to [`crate::tally::DISTINCT_MAX`].
    tally: Tally<(String, &'static str)>,
    /// Audit records dropped while the child ran (a full backlog or reader buffer).
    dropped: u64,
    /// The stream was not read to its end (the drain's barrier did not come back).
    unconfirmed: bool,
}

/// The policy key that grants the right an audit record names as a blocker
/// (`fs.write_file`, `net.connect_tcp`, `scope.signal`, …): what `denied` records name.
/// Creating device nodes is never granted (`make_char`, `make_block`).
fn key_granting(blocker: &str) -> &'static str {
    match blocker {
        "fs.execute" => "filesystem.exec",
        "fs.read_file" | "fs.read_dir" => "filesystem.read",
        "fs.make_char" | "fs.make_block" => "none (device nodes are never granted)",
        b if b.starts_with("fs.") => "filesystem.write",
        "net.bind_tcp" => "network.bind_tcp",
        "net.connect_tcp" => "network.connect_tcp",
        "scope.signal" => "scope.signals",
        "scope.abstract_unix_socket" => "scope.abstract_unix",
        _ => "none (a right this shim does not know)",
    }
}

/// Whether a character of a path would move or reorder what a terminal shows rather than
/// show itself: control characters, and the invisible format characters of Unicode
/// (bidirectional overrides and isolates, zero-width ones, line and paragraph separators).
fn misleads_a_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

impl Denials {
    /// Counts one denial: `what` is the denied rights as the kernel names them and the
    /// object (`fs.write_file /work/x`, `net.connect_tcp port 5432`).
    pub fn note(&mut self, denial: Denial) {
        let key = denial.blockers.first().map_or("", |b| key_granting(b));
        let mut object: String = denial
            .object
            .chars()
            .map(|c| if misleads_a_terminal(c) { '?' } else { c })
            .collect();
        if object.len() > OBJECT_MAX {
            let mut cut = OBJECT_MAX;
            while !object.is_char_boundary(cut) {
                cut -= 1;
            }
            object.truncate(cut);
            object.push('…');
        }
        let what = format!("{} {}", denial.blockers.join(","), object);
        self.tally
            .note(|(w, k)| *w == what && *k == key, || (what.clone(), key));
    }

    /// Notes that `count` audit records were dropped while the child ran: the child's
    /// denials may be among them.
    pub fn dropped(&mut self, count: u32) {
        self.dropped += u64::from(count);
    }

    /// Notes that the stream was not read to its end: denials of the child's last moments
    /// may be missing.
    pub fn unconfirmed(&mut self) {
        self.unconfirmed = true;
    }

    /// Every record's (what, key, count): the distinct denials, then the counts of the
    /// rest, of what was dropped and of a stream not read to its end.
    fn entries(&self) -> impl Iterator<Item = (&str, &'static str, u64)> {
        let itemized = self
            .tally
            .items()
            .iter()
            .map(|((what, key), n)| (what.as_str(), *key, *n));
        let rest = (self.tally.omitted() > 0).then_some((
            "denials not itemized (too many distinct ones)",
            "",
            self.tally.omitted(),
        ));
        let dropped = (self.dropped > 0).then_some((
            "audit records dropped while the child ran (a full audit backlog or reader buffer; denials may be among them)",
            "",
            self.dropped,
        ));
        let unconfirmed = self.unconfirmed.then_some((
            "audit records possibly unread (the launcher's barrier record did not come back within 250 ms; denials may be missing)",
            "",
            1,
        ));
        itemized.chain(rest).chain(dropped).chain(unconfirmed)
    }

    /// The `denied` records' fields.
    pub fn records(&self) -> Vec<Vec<(&'static str, Value)>> {
        self.entries()
            .map(|(what, key, count)| {
                vec![
                    ("mechanism", json!("landlock")),
                    ("what", json!(what)),
                    ("key", json!(key)),
                    ("count", json!(count)),
                ]
            })
            .collect()
    }

    /// The records as `[{mechanism, what, key, count}]` (what `charter_denials` reports for
    /// the launcher's summary).
    pub fn summary(&self) -> Value {
        Value::Array(
            self.entries()
                .map(|(what, key, count)| {
                    json!({ "mechanism": "landlock", "what": what, "key": key, "count": count })
                })
                .collect(),
        )
    }
}

/// The largest `denied` records Landlock can add to a launch: every distinct denial at its
/// longest, the count of the rest and of what was dropped (for the transcript's
/// reservation after the exec).
#[cfg(test)]
pub fn largest_records() -> Vec<Vec<(&'static str, Value)>> {
    let mut denials = Denials::default();
    for i in 0..=crate::tally::DISTINCT_MAX {
        denials.note(Denial {
            blockers: [
                "fs.write_file",
                "fs.make_reg",
                "fs.remove_file",
                "fs.truncate",
            ]
            .map(str::to_string)
            .to_vec(),
            // A backslash is the longest byte in JSON (`\\`) that is not a control.
            object: format!("/{i}{}", "\\".repeat(4096)),
        });
    }
    denials.tally.saturate();
    denials.dropped(u32::MAX);
    denials.unconfirmed();
    denials.records()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denial(blocker: &str, object: &str) -> Denial {
        Denial {
            blockers: vec![blocker.into()],
            object: object.into(),
        }
    }

    #[test]
    fn records_itemize_distinct_denials_then_count_the_rest_and_what_may_be_missing() {
        let mut denials = Denials::default();
        for i in 0..crate::tally::DISTINCT_MAX + 10 {
            for _ in 0..2 {
                denials.note(denial("fs.read_file", &format!("/x{i}")));
            }
        }
        denials.dropped(7);
        denials.unconfirmed();
        let entries: Vec<_> = denials.entries().collect();
        let max = crate::tally::DISTINCT_MAX;
        assert_eq!(entries.len(), max + 3);
        assert_eq!(entries[0], ("fs.read_file /x0", "filesystem.read", 2));
        let tail: Vec<u64> = entries[max..].iter().map(|e| e.2).collect();
        assert_eq!(tail, [20, 7, 1]);
        assert!(entries[max + 2].0.contains("possibly unread"));
    }

    #[test]
    fn an_object_is_cut_and_what_would_mislead_a_terminal_shown_as_question_marks() {
        let mut denials = Denials::default();
        denials.note(denial(
            "fs.write_file",
            &format!("/a\n\u{1b}[2J\u{202e}{}", "é".repeat(200)),
        ));
        let (what, key, _) = denials.entries().next().unwrap();
        assert_eq!(key, "filesystem.write");
        assert!(what.starts_with("fs.write_file /a??[2J?"));
        assert!(what.ends_with('…') && what.len() <= "fs.write_file ".len() + OBJECT_MAX + 3);
    }

    #[test]
    fn each_blocker_names_the_key_that_grants_it() {
        for (blocker, key) in [
            ("fs.execute", "filesystem.exec"),
            ("fs.read_dir", "filesystem.read"),
            ("fs.make_reg", "filesystem.write"),
            ("net.connect_tcp", "network.connect_tcp"),
            ("scope.signal", "scope.signals"),
        ] {
            assert_eq!(key_granting(blocker), key);
        }
        assert!(key_granting("fs.make_block").starts_with("none"));
    }
}
