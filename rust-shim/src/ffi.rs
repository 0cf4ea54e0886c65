//! The C ABI (docs/plan-and-shim.md): eight `#[no_mangle]` functions, the ABI version as
//! data, and the handle table.
//! No panic crosses the ABI: every entry point runs under `catch_unwind`.

use crate::error::Failure;
use crate::launch::{launch, Launch};
use crate::probe;
use crate::version::ABI_VERSION;
use serde_json::json;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Running launches by handle. A handle's `Launch` is shared (`Arc`) so that a waiter
/// blocked in waitid holds no lock of this table.
static HANDLES: Mutex<BTreeMap<u64, Arc<Launch>>> = Mutex::new(BTreeMap::new());
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The outcome JSON of this thread's last `charter_launch`, for a caller whose buffer
    /// was too small (`charter_outcome`). A launch cannot be repeated to learn its size.
    static LAST_OUTCOME: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes `outcome` to the caller's buffer when it fits and keeps it for
/// [`charter_outcome`].
///
/// # Safety
/// A non-NULL `out` must point to `cap` writable bytes.
unsafe fn keep_outcome(out: *mut u8, cap: usize, outcome: Vec<u8>) {
    // SAFETY: the caller guarantees out/cap.
    unsafe { output(out, cap, &outcome) };
    LAST_OUTCOME.with(|last| *last.borrow_mut() = outcome);
}

fn handles() -> MutexGuard<'static, BTreeMap<u64, Arc<Launch>>> {
    HANDLES.lock().unwrap_or_else(PoisonError::into_inner)
}

fn find(handle: u64) -> Option<Arc<Launch>> {
    handles().get(&handle).cloned()
}

/// Borrows a caller buffer as a slice (an empty slice for NULL).
///
/// # Safety
/// A non-NULL `ptr` must point to `len` readable bytes that stay valid during the call.
unsafe fn input<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() {
        &[]
    } else {
        // SAFETY: ptr is non-NULL and the caller guarantees len readable bytes.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// Copies `bytes` into the caller's buffer with a trailing NUL when it fits; returns the
/// length of `bytes` either way (when it is larger than `cap`, nothing was written).
///
/// # Safety
/// A non-NULL `out` must point to `cap` writable bytes.
unsafe fn output(out: *mut u8, cap: usize, bytes: &[u8]) -> usize {
    if !out.is_null() && bytes.len() <= cap {
        // SAFETY: out has cap >= bytes.len() writable bytes (caller's guarantee) and cannot
        // overlap bytes, which the shim allocated.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len()) };
        if bytes.len() < cap {
            // SAFETY: bytes.len() < cap, so this byte is inside the caller's buffer.
            unsafe { *out.add(bytes.len()) = 0 };
        }
    }
    bytes.len()
}

/// The ABI version: 2 (2 added `charter_denials`).
#[no_mangle]
pub extern "C" fn charter_abi_version() -> u32 {
    ABI_VERSION
}

/// The ABI version as data, what the launcher reads: `Deno.dlopen` binds a static without
/// compiling a call trampoline (~0.2 ms per function on every launch).
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static charter_abi: u32 = ABI_VERSION;

/// Writes the probe report (JSON) to `out`; returns its length. When the length is
/// larger than `cap`, nothing useful was written: call again with that size.
///
/// # Safety
/// `out` must be NULL or point to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_probe(out: *mut u8, cap: usize) -> usize {
    let out = AssertUnwindSafe(out);
    catch_unwind(|| {
        let report = serde_json::to_vec(&probe::report()).unwrap_or_default();
        // SAFETY: the caller guarantees out/cap.
        unsafe { output(*out, cap, &report) }
    })
    .unwrap_or(0)
}

/// Verifies the plan in `env` as `req` asks and starts the child. Returns a handle > 0
/// once the exec succeeded, else -125 (refused), -126 (setup fault) or -127 (target
/// missing). `out` receives the outcome JSON (NUL-terminated when there is room) either
/// way; when it does not fit, nothing is written and [`charter_outcome`] returns it. Call from the main thread: PR_SET_PDEATHSIG follows the cloning thread.
///
/// # Safety
/// `env`/`req` must be NULL or point to `env_len`/`req_len` readable bytes, and `out` to
/// `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_launch(
    env: *const u8,
    env_len: usize,
    req: *const u8,
    req_len: usize,
    out: *mut u8,
    cap: usize,
) -> i64 {
    let pointers = AssertUnwindSafe((env, req, out));
    let result = catch_unwind(|| {
        let (env, req, out) = *pointers;
        // SAFETY: the caller guarantees the buffers.
        let (env, req) = unsafe { (input(env, env_len), input(req, req_len)) };
        let (code, outcome) = match launch(env, req) {
            Ok(launched) => {
                let outcome = launched.outcome();
                let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
                handles().insert(handle, Arc::new(launched));
                (handle as i64, outcome)
            }
            Err(failure) => (-i64::from(failure.exit_code()), failure.outcome()),
        };
        // SAFETY: the caller guarantees out/cap.
        unsafe { keep_outcome(out, cap, serde_json::to_vec(&outcome).unwrap_or_default()) };
        code
    });
    result.unwrap_or_else(|_| {
        let failure = Failure::fault(
            "shim",
            0,
            "The shim failed internally (a bug in charter); the launch was abandoned",
        );
        let outcome = json!(failure.outcome()).to_string();
        // SAFETY: the caller guarantees out/cap.
        unsafe { keep_outcome(out, cap, outcome.into_bytes()) };
        -126
    })
}

/// Writes the outcome JSON of this thread's last `charter_launch` to `out` (every
/// outcome, however long its message); returns its length. When the length is larger
/// than `cap`, nothing was written: call again with that size.
///
/// # Safety
/// `out` must be NULL or point to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_outcome(out: *mut u8, cap: usize) -> usize {
    let out = AssertUnwindSafe(out);
    catch_unwind(|| {
        // SAFETY: the caller guarantees out/cap.
        LAST_OUTCOME.with(|last| unsafe { output(*out, cap, &last.borrow()) })
    })
    .unwrap_or(0)
}

/// Waits for the child of `handle` to exit (call as `nonblocking`); writes `child_exited`
/// and returns the status in shell form, or `-errno` (`-EBADF` for an unknown handle).
#[no_mangle]
pub extern "C" fn charter_wait(handle: u64) -> i32 {
    catch_unwind(|| match find(handle) {
        None => -libc::EBADF,
        Some(launch) => launch.wait().unwrap_or_else(|errno| -errno),
    })
    .unwrap_or(-libc::EIO)
}

/// Writes the seccomp denials recorded for the child of `handle` as JSON to `out`
/// (`{recorded, denials: [{arch, nr, errno, count, args}], omitted}`, or `null` when the
/// launch records none; complete once `charter_wait` returned); returns its length, or 0
/// for an unknown handle. When the length is larger than `cap`, nothing was written: call
/// again with that size.
///
/// # Safety
/// `out` must be NULL or point to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_denials(handle: u64, out: *mut u8, cap: usize) -> usize {
    let out = AssertUnwindSafe(out);
    catch_unwind(|| match find(handle) {
        None => 0,
        Some(launch) => {
            let json = serde_json::to_vec(&launch.denials()).unwrap_or_default();
            // SAFETY: the caller guarantees out/cap.
            unsafe { output(*out, cap, &json) }
        }
    })
    .unwrap_or(0)
}

/// Sends signal `sig` to the child of `handle` through its pidfd; 0 or `-errno`.
#[no_mangle]
pub extern "C" fn charter_signal(handle: u64, sig: i32) -> i32 {
    catch_unwind(|| match find(handle) {
        None => -libc::EBADF,
        Some(launch) => launch.signal(sig).map_or_else(|errno| -errno, |()| 0),
    })
    .unwrap_or(-libc::EIO)
}

/// Forgets `handle`: fsyncs and closes a transcript file and closes the pidfd (once no
/// waiter uses it). 0, or `-errno` when the transcript could not be completely written.
#[no_mangle]
pub extern "C" fn charter_release(handle: u64) -> i32 {
    catch_unwind(|| match handles().remove(&handle) {
        None => -libc::EBADF,
        Some(launch) => launch.release().map_or_else(|errno| -errno, |()| 0),
    })
    .unwrap_or(-libc::EIO)
}
