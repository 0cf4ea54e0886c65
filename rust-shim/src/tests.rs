//! End-to-end launches on the real kernel: signed plans for /bin/sh, the internal launch
//! and wait functions and the C ABI, with transcripts checked record by record.

use crate::digest::{sha256_hex, to_hex};
use crate::error::{Failure, Refusal};
use crate::ffi;
use crate::launch::launch;
use crate::mechanism::identity::UNPRIVILEGED_ID;
use crate::sys;
use crate::testutil::{envelope, key_pair, public_key, statement};
use serde_json::{json, Value};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh path in the temp dir, unique across tests and runs.
fn temp_path(name: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("charter-shim-{}-{n}-{name}", std::process::id()))
}

fn sha256_of(path: &str) -> String {
    sha256_hex(&std::fs::read(path).unwrap())
}

/// A plan, its envelope and a request that trusts its key and writes to `transcript`.
struct Case {
    statement: Value,
    transcript: PathBuf,
    extra_args: Vec<&'static str>,
}

impl Case {
    fn sh(argv: &[&str]) -> Case {
        Case::exe("/bin/sh", &sha256_of("/bin/sh"), argv)
    }

    fn exe(exe: &str, sha256: &str, argv: &[&str]) -> Case {
        Case {
            statement: statement(exe, sha256, argv),
            transcript: temp_path("t.jsonl"),
            extra_args: vec![],
        }
    }

    fn payload(&self) -> Vec<u8> {
        serde_json::to_vec(&self.statement).unwrap()
    }

    fn envelope(&self) -> Vec<u8> {
        envelope(&self.payload(), &key_pair(7))
    }

    fn request(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "trustedKeys": [to_hex(&public_key(&key_pair(7)))],
            "transcript": { "path": self.transcript },
            "extraArgs": self.extra_args,
        }))
        .unwrap()
    }

    /// Runs the launch to completion: the status, or the failure.
    fn run(&self) -> Result<i32, Failure> {
        let launched = launch(&self.envelope(), &self.request())?;
        let status = launched.wait().expect("waitid works");
        launched
            .release()
            .expect("the transcript was written and synced");
        Ok(status)
    }

    /// Reads the transcript, checks chain, seq and launchId, and returns the records.
    fn records(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.transcript).unwrap();
        std::fs::remove_file(&self.transcript).unwrap();
        let mut prev = sha256_hex(&self.payload());
        let mut records = Vec::new();
        for (seq, line) in text.split_terminator('\n').enumerate() {
            let record: Value = serde_json::from_str(line).unwrap();
            assert_eq!(record["prev"], prev, "chain broken at record {seq}");
            assert_eq!(record["seq"], seq);
            assert_eq!(record["v"], 1);
            let first: Option<&Value> = records.first();
            assert_eq!(
                record["launchId"],
                first.unwrap_or(&record)["launchId"],
                "one launchId"
            );
            assert!(record["time"].as_str().unwrap().ends_with('Z'));
            assert!(record["monoNs"].as_u64().is_some());
            prev = sha256_hex(line.as_bytes());
            records.push(record);
        }
        records
    }
}

fn events(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect()
}

const SUCCESS: [&str; 12] = [
    "launcher_started",
    "plan_verified",
    "handles_verified",
    "child_created",
    "phase_resolved",
    "phase_resolved",
    "phase_resolved",
    "phase_resolved",
    "phase_resolved",
    "ready_to_exec",
    "exec_succeeded",
    "child_exited",
];

#[test]
fn sh_exit_7_runs_under_the_plan_and_the_transcript_chains() {
    let case = Case::sh(&["sh", "-c", "exit 7"]);
    assert_eq!(case.run(), Ok(7));
    let records = case.records();
    assert_eq!(events(&records), SUCCESS);
    let shim = json!({ "name": "charter_shim", "version": env!("CARGO_PKG_VERSION") });
    assert_eq!(records[0]["shim"], shim);
    assert_eq!(records[0]["pid"], std::process::id());
    assert_eq!(records[1]["planSha256"], sha256_hex(&case.payload()));
    assert_eq!(
        records[1]["keyid"],
        crate::envelope::keyid(&public_key(&key_pair(7)))
    );
    assert_eq!(records[2]["exeSha256"], sha256_of("/bin/sh"));
    let phases: Vec<(&str, &str)> = records[4..9]
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        phases,
        [
            ("identity", "not_required"),
            ("visibility", "applied"),
            ("scrub", "applied"),
            ("confine", "not_required"),
            ("exec", "applied")
        ]
    );
    let cwd = &records[5]["details"]["cwd"];
    assert_eq!((&cwd["path"], &cwd["opened"]), (&json!("/"), &json!("/")));
    assert!(cwd["ino"].is_u64() && cwd["dev"].is_u64(), "{cwd}");
    assert!(records[5]["details"]["descendants"]
        .as_str()
        .unwrap()
        .starts_with("not contained"));
    let mut scrub = json!({ "env": { "set": ["A"], "passed": [], "absent": [] }, "fds": { "kept": [] }, "signals": "reset", "noNewPrivs": true });
    if sys::effective_ids() == (0, 0) {
        // No user namespace: a root launcher's child is switched off host root.
        scrub["ids"] = records[6]["details"]["ids"].clone();
        assert_eq!(scrub["ids"]["uid"], UNPRIVILEGED_ID);
        assert_eq!(scrub["ids"]["gid"], UNPRIVILEGED_ID);
    }
    assert_eq!(records[6]["details"], scrub);
    let exited = &records[11];
    assert_eq!(exited["code"], 7);
    assert!(exited.get("signal").is_none());
    assert!(exited["durationNs"].as_u64().unwrap() > 0);
    for key in ["userUs", "systemUs", "maxRssKiB"] {
        assert!(exited["rusage"][key].as_i64().is_some(), "{key}");
    }
    assert!(records[3]["pid"].as_i64().unwrap() > 0);
}

#[test]
fn a_changed_target_is_refused_before_any_child() {
    let case = Case::exe("/bin/sh", &"00".repeat(32), &["sh", "-c", "exit 0"]);
    let failure = case.run().unwrap_err();
    assert!(
        matches!(failure, Failure::Refused(Refusal::DigestMismatch(_))),
        "{failure:?}"
    );
    assert_eq!(failure.exit_code(), 125);
    let records = case.records();
    assert_eq!(
        events(&records),
        ["launcher_started", "plan_verified", "setup_refused"]
    );
    assert_eq!(records[2]["reason"], "digest_mismatch");
}

#[test]
fn a_missing_target_is_refused_with_127() {
    let case = Case::exe("/nonexistent/charter-target", &"00".repeat(32), &["x"]);
    let failure = case.run().unwrap_err();
    assert_eq!(
        (failure.exit_code(), failure.outcome()["reason"].clone()),
        (127, json!("handle_unavailable"))
    );
    assert_eq!(
        events(&case.records()),
        ["launcher_started", "plan_verified", "setup_refused"]
    );
}

#[test]
fn a_target_that_is_not_a_regular_file_is_refused() {
    let case = Case::exe("/dev/null", &"00".repeat(32), &["null"]);
    let failure = case.run().unwrap_err();
    assert!(
        matches!(failure, Failure::Refused(Refusal::HandleUnavailable(_))),
        "{failure:?}"
    );
    assert_eq!(failure.exit_code(), 125);
    assert_eq!(
        events(&case.records()),
        ["launcher_started", "plan_verified", "setup_refused"]
    );
}

#[test]
fn an_untrusted_signature_is_refused_and_chained_from_the_payload() {
    let case = Case::sh(&["sh", "-c", "exit 0"]);
    let request = serde_json::to_vec(&json!({
        "trustedKeys": [to_hex(&public_key(&key_pair(8)))],
        "transcript": { "path": case.transcript },
    }))
    .unwrap();
    let failure = launch(&case.envelope(), &request).err().unwrap();
    assert_eq!(failure.outcome()["reason"], "signature_invalid");
    let records = case.records();
    assert_eq!(events(&records), ["launcher_started", "setup_refused"]);
}

#[test]
fn a_failing_setup_step_is_a_fault_and_the_child_is_reaped() {
    // An executable file the kernel cannot execute: execveat fails with ENOEXEC in the child.
    let exe = temp_path("not-a-program");
    std::fs::write(&exe, b"\0\0\0\0 not a program\n").unwrap();
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let exe_path = exe.to_str().unwrap();
    let case = Case::exe(exe_path, &sha256_of(exe_path), &["x"]);
    let failure = case.run().unwrap_err();
    std::fs::remove_file(&exe).unwrap();
    assert_eq!(failure.exit_code(), 126);
    assert_eq!(
        failure.outcome()["step"]
            .as_str()
            .zip(failure.outcome()["errno"].as_i64()),
        Some(("linux.exec.execveat.v1", i64::from(libc::ENOEXEC)))
    );
    let records = case.records();
    let events = events(&records);
    assert_eq!(
        events[..4],
        [
            "launcher_started",
            "plan_verified",
            "handles_verified",
            "child_created"
        ]
    );
    assert_eq!(
        events[events.len() - 2..],
        ["setup_faulted", "child_exited"]
    );
    assert_eq!(records.last().unwrap()["code"], 126);
}

#[test]
fn a_missing_cwd_is_refused_before_any_child_exists() {
    let mut case = Case::sh(&["sh", "-c", "exit 0"]);
    case.statement["predicate"]["target"]["cwd"] = json!("/nonexistent/charter-cwd");
    let failure = case.run().unwrap_err();
    assert_eq!(failure.outcome()["reason"], "handle_unavailable");
    assert_eq!(
        events(&case.records()),
        ["launcher_started", "plan_verified", "setup_refused"]
    );
}

#[test]
fn the_child_gets_only_the_plans_env_fds_and_clean_signal_state() {
    let [read_end, write_end] = sys::pipe_cloexec().unwrap();
    // SAFETY: pipe2 just returned these fds; this test owns them.
    let (read_end, write_end) = unsafe {
        (
            OwnedFd::from_raw_fd(read_end),
            OwnedFd::from_raw_fd(write_end),
        )
    };
    let fd: RawFd = std::os::fd::AsRawFd::as_raw_fd(&write_end);
    // As if inherited by the launcher: fds.pass refuses close-on-exec fds.
    sys::set_fd_flags(fd, 0).unwrap();
    // The status lines are read with builtins before the shell forks anything (dash blocks
    // every signal while it waits for a child), and stdout goes to the kept pipe through
    // /proc (dash's `>&N` takes single-digit fds only) without a saved copy, so while `ls`
    // runs the shell holds exactly the fds it got from the launch.
    let script = format!(
        "exec >/proc/$$/fd/{fd}; \
         while read -r line; do case $line in SigBlk*|SigIgn*|NoNewPrivs*) echo \"$line\";; esac; \
         done < /proc/$$/status; tr '\\0' '\\n' < /proc/$$/environ; ls /proc/$$/fd; pwd"
    );
    let mut case = Case::sh(&["sh", "-c", &script]);
    let predicate = &mut case.statement["predicate"];
    predicate["target"]["cwd"] = json!("/tmp");
    predicate["env"]["pass"] = json!(["PATH", "CHARTER_TEST_SURELY_ABSENT"]);
    predicate["schedule"][3]["keep"] = json!([fd]);
    // The shell reopens the kept pipe through /proc, which the launcher's uid owns: this
    // test of the scrub keeps the launcher's ids, host root included.
    let schedule = predicate["schedule"].as_array_mut().unwrap();
    schedule.insert(
        0,
        json!({ "id": "linux.identity.host_root.v1", "phase": 1 }),
    );
    let launched = launch(&case.envelope(), &case.request()).unwrap();
    drop(write_end);
    let mut output = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = sys::read(std::os::fd::AsRawFd::as_raw_fd(&read_end), &mut buf).unwrap();
        if n == 0 {
            break;
        }
        output.extend_from_slice(&buf[..n]);
    }
    assert_eq!(launched.wait(), Ok(0));
    launched.release().unwrap();
    let output = String::from_utf8(output).unwrap();
    let path = std::env::var("PATH").unwrap();
    let zeros = "0000000000000000";
    let mut fds = [
        "0".to_string(),
        "1".to_string(),
        "2".to_string(),
        fd.to_string(),
    ];
    fds.sort(); // ls sorts names as text
    let expected = format!(
        "SigBlk:\t{zeros}\nSigIgn:\t{zeros}\nNoNewPrivs:\t1\nA=1\nPATH={path}\n{}\n/tmp\n",
        fds.join("\n")
    );
    assert_eq!(output, expected);
    let records = case.records();
    assert_eq!(
        records[6]["details"]["env"],
        json!({ "set": ["A"], "passed": ["PATH"], "absent": ["CHARTER_TEST_SURELY_ABSENT"] })
    );
    assert_eq!(records[6]["details"]["fds"], json!({ "kept": [fd] }));
}

#[test]
fn extra_args_are_appended_only_when_the_plan_allows_them() {
    let mut case = Case::sh(&["sh", "-c", "exit $#", "sh"]);
    case.extra_args = vec!["a", "b"];
    assert_eq!(
        case.run().unwrap_err().outcome()["reason"],
        "extra_args_forbidden"
    );
    case.records();
    case.statement["predicate"]["target"]["extraArgs"] = json!(true);
    assert_eq!(case.run(), Ok(2));
    assert_eq!(events(&case.records()), SUCCESS);
}

#[test]
fn a_script_target_runs_through_its_interpreter() {
    let script = temp_path("script.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = script.to_str().unwrap();
    let case = Case::exe(path, &sha256_of(path), &["script"]);
    assert_eq!(case.run(), Ok(3));
    std::fs::remove_file(&script).unwrap();
    let records = case.records();
    assert_eq!(records[8]["details"], json!({ "script": true }));
}

#[test]
fn the_c_abi_launches_signals_waits_and_releases() {
    let case = Case::sh(&["sh", "-c", "exec sleep 30"]);
    let (env, req) = (case.envelope(), case.request());
    let mut out = vec![0u8; 4096];
    // SAFETY: all buffers are valid for their lengths.
    let handle = unsafe {
        ffi::charter_launch(
            env.as_ptr(),
            env.len(),
            req.as_ptr(),
            req.len(),
            out.as_mut_ptr(),
            out.len(),
        )
    };
    assert!(handle > 0, "{}", String::from_utf8_lossy(&out));
    let end = out.iter().position(|&b| b == 0).unwrap();
    let outcome: Value = serde_json::from_slice(&out[..end]).unwrap();
    assert_eq!(outcome["outcome"], "running");
    let handle = handle as u64;
    let waiter = std::thread::spawn(move || ffi::charter_wait(handle));
    assert_eq!(ffi::charter_signal(handle, libc::SIGTERM), 0);
    assert_eq!(waiter.join().unwrap(), 128 + libc::SIGTERM);
    assert_eq!(
        ffi::charter_wait(handle),
        128 + libc::SIGTERM,
        "a second wait returns the same status"
    );
    assert_eq!(ffi::charter_signal(handle, libc::SIGTERM), -libc::ESRCH);
    assert_eq!(ffi::charter_release(handle), 0);
    assert_eq!(ffi::charter_release(handle), -libc::EBADF);
    assert_eq!(ffi::charter_wait(handle), -libc::EBADF);
    let records = case.records();
    assert_eq!(events(&records), SUCCESS);
    assert_eq!(records[11]["signal"], libc::SIGTERM);
    assert_eq!(records[0]["launchId"], outcome["launchId"]);
    assert_eq!(records[3]["pid"], outcome["pid"]);
}

#[test]
fn the_c_abi_reports_refusals_and_the_probe() {
    let req = br#"{"trustedKeys":[],"transcript":null}"#;
    let mut out = vec![0u8; 4096];
    // SAFETY: all buffers are valid for their lengths (the envelope is empty).
    let code = unsafe {
        ffi::charter_launch(
            std::ptr::null(),
            0,
            req.as_ptr(),
            req.len(),
            out.as_mut_ptr(),
            out.len(),
        )
    };
    assert_eq!(code, -125);
    let end = out.iter().position(|&b| b == 0).unwrap();
    let outcome: Value = serde_json::from_slice(&out[..end]).unwrap();
    assert_eq!(
        (outcome["outcome"].as_str(), outcome["reason"].as_str()),
        (Some("refused"), Some("plan_invalid"))
    );
    assert_eq!(ffi::charter_abi_version(), 2);
    // SAFETY: a NULL buffer of capacity 0 only asks for the size.
    let unknown = unsafe { ffi::charter_denials(u64::MAX, std::ptr::null_mut(), 0) };
    assert_eq!(unknown, 0, "no such handle");
    // SAFETY: a NULL buffer of capacity 0 only asks for the size.
    let needed = unsafe { ffi::charter_probe(std::ptr::null_mut(), 0) };
    let mut buf = vec![0u8; needed];
    // SAFETY: buf has `needed` writable bytes.
    let written = unsafe { ffi::charter_probe(buf.as_mut_ptr(), buf.len()) };
    assert_eq!(written, needed);
    let probe: Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(probe["clone3"], true);
}

#[test]
fn a_transcript_fd_is_written_and_left_open() {
    let case = Case::sh(&["sh", "-c", "exit 0"]);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&case.transcript)
        .unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    let request = serde_json::to_vec(&json!({
        "trustedKeys": [to_hex(&public_key(&key_pair(7)))],
        "transcript": { "fd": fd },
    }))
    .unwrap();
    let launched = launch(&case.envelope(), &request).unwrap();
    assert_eq!(launched.wait(), Ok(0));
    assert_eq!(launched.release(), Ok(()));
    assert!(sys::fd_flags(fd).is_ok(), "the launcher's fd stays open");
    drop(file);
    assert_eq!(events(&case.records()), SUCCESS);
}

#[test]
fn a_broken_envelope_is_refused_and_chained_from_its_bytes() {
    let case = Case::sh(&["sh", "-c", "exit 0"]);
    let broken = br#"{"payloadType":"application/vnd.in-toto+json","payload":"not base64!","signatures":[]}"#;
    let failure = launch(broken, &case.request()).err().unwrap();
    assert_eq!(failure.outcome()["reason"], "plan_invalid");
    let text = std::fs::read_to_string(&case.transcript).unwrap();
    std::fs::remove_file(&case.transcript).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events(&records), ["launcher_started", "setup_refused"]);
    assert_eq!(records[0]["prev"], sha256_hex(broken));
}

#[test]
fn a_confined_sh_gets_every_primitive_and_the_transcript_says_what_was_enforced() {
    let denied = temp_path("denied");
    let script = format!(
        "[ $$ = 1 ] && [ \"$(ulimit -n)\" = 32 ] && [ \"$(cat /proc/sys/kernel/hostname)\" = box ] \
         && grep -q '^ *1000 ' /proc/self/uid_map && ! (echo x > {}) 2>/dev/null && exit 7",
        denied.display()
    );
    let mut case = Case::sh(&["sh", "-c", &script]);
    let predicate = &mut case.statement["predicate"];
    predicate["schedule"] = json!([
        { "id": "linux.identity.userns.v1", "phase": 1, "uid": 1000, "gid": 1000, "enforce": "required" },
        { "id": "linux.visibility.namespaces.v1", "phase": 2, "net": true, "pid": true,
          "ipc": true, "uts": true, "cgroup": false, "enforce": "required" },
        { "id": "linux.visibility.hostname.v1", "phase": 2, "hostname": "box" },
        { "id": "linux.visibility.cwd.v1", "phase": 2 },
        { "id": "linux.scrub.signals.v1", "phase": 3 },
        { "id": "linux.scrub.env.v1", "phase": 3 },
        { "id": "linux.scrub.fds.v1", "phase": 3, "keep": [] },
        { "id": "linux.scrub.rlimits.v1", "phase": 3, "limits": [{ "resource": "NOFILE", "value": 32 }] },
        { "id": "linux.scrub.setsid.v1", "phase": 3 },
        { "id": "linux.scrub.pdeathsig.v1", "phase": 3, "signal": 9 },
        { "id": "linux.scrub.capabilities.v1", "phase": 3, "keep": [] },
        { "id": "linux.scrub.no_new_privs.v1", "phase": 3 },
        { "id": "linux.confine.landlock.v1", "phase": 4 },
        { "id": "linux.exec.execveat.v1", "phase": 5 },
    ]);
    predicate["landlock"] = json!({
        "enforce": "required",
        "handledFs": ["write_file", "make_reg"],
        "fs": [{ "path": "/nonexistent/charter", "access": ["write_file"] }],
        "handledNet": ["bind_tcp"],
        "net": [],
        "scoped": ["signal"],
    });
    assert_eq!(case.run(), Ok(7));
    assert!(std::fs::metadata(&denied).is_err(), "the write was denied");
    let records = case.records();
    assert_eq!(events(&records), SUCCESS);
    let results: Vec<&str> = records[4..9]
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["applied"; 5]);
    let host = |id: u32| if id == 0 { UNPRIVILEGED_ID } else { id };
    let (euid, egid) = (host(sys::effective_ids().0), host(sys::effective_ids().1));
    let user = &records[4]["details"]["userNamespace"];
    assert_eq!(user["uidMap"], format!("1000 {euid} 1"));
    assert_eq!(user["gidMap"], format!("1000 {egid} 1"));
    assert!(user["inode"].as_u64().is_some());
    let visibility = &records[5]["details"];
    for ns in ["net", "pid", "ipc", "uts"] {
        assert!(visibility["namespaces"][ns].as_u64().is_some(), "{ns}");
    }
    assert_eq!(visibility["hostname"], "box");
    let scrub = &records[6]["details"];
    assert_eq!(scrub["rlimits"], json!({ "NOFILE": 32 }));
    assert_eq!(scrub["capabilities"]["bounding"], json!([]));
    let landlock = &records[7]["details"]["landlock"];
    assert_eq!(landlock["absentPaths"], json!(["/nonexistent/charter"]));
    assert_eq!(landlock["handledFs"], json!(["write_file", "make_reg"]));
    assert_eq!(landlock["scoped"], json!(["signal"]));
    assert_eq!(landlock["fsRules"], 0);
}

#[test]
fn a_required_but_impossible_cgroup_is_refused_before_any_child() {
    let mut case = Case::sh(&["sh", "-c", "exit 0"]);
    let schedule = case.statement["predicate"]["schedule"]
        .as_array_mut()
        .unwrap();
    schedule.insert(
        4,
        json!({ "id": "linux.scrub.cgroup.v1", "phase": 3, "pidsMax": 8, "enforce": "required" }),
    );
    let pids_available = crate::mechanism::cgroup::hierarchy()
        .and_then(|h| crate::mechanism::cgroup::controllers(&h))
        .is_ok_and(|c| c.iter().any(|c| c == "pids"));
    if pids_available {
        // Not this project's test machines (TOOLCHAIN.md, only hugetlb in cgroup v2).
        return;
    }
    let failure = case.run().unwrap_err();
    assert_eq!(failure.outcome()["reason"], "kernel_unsupported");
    assert_eq!(
        events(&case.records()),
        ["launcher_started", "plan_verified", "setup_refused"]
    );
}
