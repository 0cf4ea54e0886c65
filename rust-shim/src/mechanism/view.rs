//! The filesystem view (`linux.visibility.view.v1`, the plan's `view` section): a private
//! mount namespace in which the child sees only what its policy names (`listed`), or the
//! host tree with some paths made inaccessible (`host` with `hide`).
//!
//! The parent turns the section into a list of [`Op`]s before clone3: every path string,
//! tmpfs option string and file content, and the `(st_dev, st_ino)` of every bind source
//! and hidden path, opened one at a time with the checks of
//! [`plan_path::open_unredirectable`]. The child runs the list with raw syscalls only
//! ([`apply`]), in the sequence docs/plan-and-shim.md gives (the `view` section).

use crate::b64;
use crate::error::{Failure, Refusal};
use crate::plan_path;
use crate::report::PhaseReports;
use crate::section::invalid;
use crate::step::{Enforce, Step};
use crate::sys::{self, Errno};
use libc::c_ulong;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::ffi::{CStr, CString};

/// `MOUNT_ATTR_RDONLY`.
const RDONLY: u64 = 0x1;
/// `MOUNT_ATTR_NOSUID`.
const NOSUID: u64 = 0x2;
/// `MOUNT_ATTR_NODEV`.
const NODEV: u64 = 0x4;
/// `MOUNT_ATTR_NOEXEC`.
const NOEXEC: u64 = 0x8;

/// The plan's mount flag names and their `MOUNT_ATTR_*` bits.
const FLAGS: [(&str, u64); 4] = [
    ("ro", RDONLY),
    ("nosuid", NOSUID),
    ("nodev", NODEV),
    ("noexec", NOEXEC),
];

/// Where the child builds the view: a tmpfs mounted over the host's `/tmp` in the new
/// mount namespace becomes the staging root (docs/decisions.md).
const STAGING: &str = "/tmp";

/// The device nodes of `dev`, bound from the host's `/dev`.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// Paths under `/proc` re-bound read-only on themselves (as bubblewrap does).
const PROC_READ_ONLY: [&str; 4] = ["sys", "sysrq-trigger", "irq", "bus"];

/// `mode` of the section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A fresh root holding only the listed paths.
    Listed,
    /// The host tree, with `hide` entries made inaccessible.
    Host,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Listed => "listed",
            Mode::Host => "host",
        }
    }
}

/// What one entry mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The tmpfs that becomes `/` (`listed`, first).
    Root {
        /// `size=` of the tmpfs.
        size: u64,
    },
    /// A host path shown at `target`.
    Bind {
        /// The policy's path.
        source: String,
        /// Its symlink-free resolution recorded at compile time, when it differs.
        resolved: Option<String>,
    },
    /// A symlink with this content.
    Symlink {
        /// The content, verbatim.
        link: String,
    },
    /// A read-only file with this content.
    File {
        /// The bytes.
        content: Vec<u8>,
    },
    /// A private empty tmpfs.
    Tmpfs {
        /// `size=` of the tmpfs.
        size: u64,
    },
    /// A proc of the child's pid namespace.
    Proc,
    /// A minimal `/dev`.
    Dev {
        /// With a private devpts instance.
        devpts: bool,
    },
    /// `host` only: `target` made inaccessible.
    Hide,
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Root { .. } => "root",
            Kind::Bind { .. } => "bind",
            Kind::Symlink { .. } => "symlink",
            Kind::File { .. } => "file",
            Kind::Tmpfs { .. } => "tmpfs",
            Kind::Proc => "proc",
            Kind::Dev { .. } => "dev",
            Kind::Hide => "hide",
        }
    }
}

/// One entry of `view.mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// What it mounts.
    pub kind: Kind,
    /// Where, in the view (`/` for the root).
    pub target: String,
    /// `MOUNT_ATTR_*` bits.
    pub attr: u64,
    /// The flags as the plan names them, in plan order.
    pub flags: Vec<String>,
}

/// The `view` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// `listed` or `host`.
    pub mode: Mode,
    /// Enforcement (`enforce.namespaces`).
    pub enforce: Enforce,
    /// The entries, in the order they are applied.
    pub mounts: Vec<Mount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    mode: Mode,
    enforce: Enforce,
    mounts: Vec<RawMount>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum RawMount {
    Root {
        #[serde(rename = "sizeBytes")]
        size_bytes: u64,
        flags: Vec<String>,
    },
    Bind {
        source: String,
        #[serde(rename = "sourceResolved")]
        source_resolved: Option<String>,
        target: String,
        flags: Vec<String>,
    },
    Symlink {
        target: String,
        link: String,
    },
    File {
        target: String,
        #[serde(rename = "contentB64")]
        content_b64: String,
        flags: Vec<String>,
    },
    Tmpfs {
        target: String,
        #[serde(rename = "sizeBytes")]
        size_bytes: u64,
        flags: Vec<String>,
    },
    Proc {
        target: String,
        flags: Vec<String>,
    },
    Dev {
        target: String,
        devpts: bool,
        flags: Vec<String>,
    },
    Hide {
        target: String,
        flags: Vec<String>,
    },
}

/// Absolute and normalized: no `.` or `..` component, no `//`, no trailing `/` (except
/// `/` itself), no NUL byte.
fn normalized(path: &str) -> bool {
    path == "/"
        || (path.starts_with('/')
            && !path.ends_with('/')
            && !path.contains('\0')
            && path[1..]
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".."))
}

/// Whether `path` is `tree` or lies beneath it.
fn within(path: &str, tree: &str) -> bool {
    tree == "/"
        || path == tree
        || (path.starts_with(tree) && path.as_bytes().get(tree.len()) == Some(&b'/'))
}

fn attr_of(index: usize, names: &[String]) -> Result<u64, Refusal> {
    let mut attr = 0;
    for name in names {
        let (_, bit) = FLAGS.iter().find(|(n, _)| n == name).ok_or_else(|| {
            invalid(format!(
                "View entry {index} has an unknown mount flag {name:?} (ro, nosuid, nodev or noexec)"
            ))
        })?;
        if attr & bit != 0 {
            return Err(invalid(format!(
                "View entry {index} lists the mount flag {name} twice"
            )));
        }
        attr |= bit;
    }
    Ok(attr)
}

fn parse_mount(index: usize, raw: RawMount) -> Result<Mount, Refusal> {
    let (kind, target, flags) = match raw {
        RawMount::Root { size_bytes, flags } => {
            (Kind::Root { size: size_bytes }, "/".to_string(), flags)
        }
        RawMount::Bind {
            source,
            source_resolved,
            target,
            flags,
        } => {
            if !normalized(&source)
                || source_resolved
                    .as_ref()
                    .is_some_and(|r| !normalized(r) || *r == source)
            {
                return Err(invalid(format!(
                    "View entry {index} has the source {source:?} (resolved {source_resolved:?}); sources must be absolute normalized paths, a resolution another one"
                )));
            }
            let kind = Kind::Bind {
                source,
                resolved: source_resolved,
            };
            (kind, target, flags)
        }
        RawMount::Symlink { target, link } => {
            if link.is_empty() || link.contains('\0') {
                return Err(invalid(format!(
                    "View entry {index} is a symlink with an empty link or a NUL byte"
                )));
            }
            (Kind::Symlink { link }, target, Vec::new())
        }
        RawMount::File {
            target,
            content_b64,
            flags,
        } => {
            let content = b64::decode(&content_b64).ok_or_else(|| {
                invalid(format!(
                    "View entry {index} has a contentB64 that is not padded standard base64"
                ))
            })?;
            (Kind::File { content }, target, flags)
        }
        RawMount::Tmpfs {
            target,
            size_bytes,
            flags,
        } => (Kind::Tmpfs { size: size_bytes }, target, flags),
        RawMount::Proc { target, flags } => (Kind::Proc, target, flags),
        RawMount::Dev {
            target,
            devpts,
            flags,
        } => (Kind::Dev { devpts }, target, flags),
        RawMount::Hide { target, flags } => (Kind::Hide, target, flags),
    };
    let what = kind.name();
    if !matches!(kind, Kind::Root { .. }) && (!normalized(&target) || target == "/") {
        return Err(invalid(format!(
            "View entry {index} ({what}) has the target {target:?}; targets must be absolute normalized paths other than /"
        )));
    }
    let fixed = match kind {
        Kind::Proc => Some("/proc"),
        Kind::Dev { .. } => Some("/dev"),
        _ => None,
    };
    if fixed.is_some_and(|f| f != target) {
        return Err(invalid(format!(
            "View entry {index} ({what}) must have the target {}",
            fixed.unwrap_or_default()
        )));
    }
    if matches!(kind, Kind::Root { size: 0 } | Kind::Tmpfs { size: 0 }) {
        return Err(invalid(format!(
            "View entry {index} ({what}) has sizeBytes 0"
        )));
    }
    let attr = attr_of(index, &flags)?;
    let symlink = matches!(kind, Kind::Symlink { .. });
    let needs_nodev = !matches!(kind, Kind::Dev { .. });
    if !symlink && (attr & NOSUID == 0 || (needs_nodev && attr & NODEV == 0)) {
        return Err(invalid(format!(
            "View entry {index} ({what}) lacks nosuid or nodev; every mount of the view has nosuid, and nodev except dev"
        )));
    }
    if matches!(kind, Kind::Root { .. } | Kind::File { .. } | Kind::Hide) && attr & RDONLY == 0 {
        return Err(invalid(format!(
            "View entry {index} ({what}) lacks ro; the view's root, files and hidden paths are read-only"
        )));
    }
    Ok(Mount {
        kind,
        target,
        attr,
        flags,
    })
}

/// Parses the `view` section strictly: unknown kinds or fields, bad targets, missing
/// flags and entries out of place are `plan_invalid`, never skipped.
pub fn parse(json: &str) -> Result<Section, Refusal> {
    let raw: RawSection = serde_json::from_str(json)
        .map_err(|e| invalid(format!("The plan's view section is malformed: {e}")))?;
    let mounts = raw
        .mounts
        .into_iter()
        .enumerate()
        .map(|(i, m)| parse_mount(i, m))
        .collect::<Result<Vec<_>, _>>()?;
    for (index, mount) in mounts.iter().enumerate() {
        let root = matches!(mount.kind, Kind::Root { .. });
        let hide = mount.kind == Kind::Hide;
        let misplaced = match raw.mode {
            Mode::Listed => root != (index == 0) || hide,
            Mode::Host => !hide,
        };
        if misplaced {
            return Err(invalid(format!(
                "View entry {index} ({}) is out of place: a listed view starts with its root and has no hide, a host view has hide entries only",
                mount.kind.name()
            )));
        }
        if let Some(earlier) = mounts[..index]
            .iter()
            .position(|m| !matches!(m.kind, Kind::Root { .. }) && within(&m.target, &mount.target))
        {
            return Err(invalid(format!(
                "View entry {index} ({}) mounts {} over entry {earlier} ({}); targets must be distinct and come after the mounts they lie in",
                mount.kind.name(),
                mount.target,
                mounts[earlier].target
            )));
        }
    }
    match (raw.mode, mounts.first()) {
        (Mode::Listed, Some(m)) if matches!(m.kind, Kind::Root { .. }) => {}
        (Mode::Host, Some(_)) => {}
        _ => {
            return Err(invalid(
                "The view section has no entries (a listed view needs its root, a host view its hide entries)",
            ))
        }
    }
    Ok(Section {
        mode: raw.mode,
        enforce: raw.enforce,
        mounts,
    })
}

impl Section {
    /// `details.view` of phase 2: the mode and one item per entry, in plan order.
    pub fn details(&self) -> Value {
        let mounts: Vec<Value> = self
            .mounts
            .iter()
            .map(|m| match &m.kind {
                Kind::Symlink { link } => {
                    json!({ "kind": "symlink", "target": m.target, "link": link })
                }
                Kind::Bind { source, .. } => json!({
                    "kind": "bind", "target": m.target, "source": source, "flags": m.flags,
                }),
                kind => json!({ "kind": kind.name(), "target": m.target, "flags": m.flags }),
            })
            .collect();
        json!({ "mode": self.mode.name(), "mounts": mounts })
    }

    /// Whether a proc is mounted (it needs the child's own pid namespace).
    fn has_proc(&self) -> bool {
        self.mounts.iter().any(|m| m.kind == Kind::Proc)
    }
}

/// Why this launcher cannot build a view: a reason and the errno the transcript records,
/// or `None`. A mount namespace needs CAP_SYS_ADMIN or a user namespace; setting mount
/// flags needs mount_setattr (Linux 5.12).
fn unavailable(with_user_namespace: bool, cap_sys_admin: bool) -> Option<(String, Errno)> {
    if !sys::has_mount_setattr() {
        return Some((
            "this kernel lacks mount_setattr (Linux 5.12+)".to_string(),
            libc::ENOSYS,
        ));
    }
    if !with_user_namespace && !cap_sys_admin {
        return Some((
            "a mount namespace needs CAP_SYS_ADMIN, which this launcher lacks, and the plan has no user namespace".to_string(),
            libc::EPERM,
        ));
    }
    None
}

/// Only when the child has its own pid namespace (proc).
const PID_NS: u8 = 1;
/// Skipped when the path does not exist (`/proc/bus` on some kernels).
const IF_EXISTS: u8 = 2;

/// One syscall (or a small fixed group) of the child's view build.
#[derive(Debug, PartialEq, Eq)]
enum Op {
    /// `mount(NULL, "/", NULL, MS_REC | MS_PRIVATE)`: nothing propagates to the host.
    Private,
    /// `mount(fstype, target, fstype, flags, data)`.
    Fs {
        fstype: &'static CStr,
        target: CString,
        flags: c_ulong,
        data: Option<CString>,
    },
    /// `mount(source, target, NULL, MS_BIND [| MS_REC])`.
    Bind {
        source: CString,
        target: CString,
        recursive: bool,
    },
    /// `mount_setattr(path, [AT_RECURSIVE], attr)`.
    SetAttr {
        path: CString,
        attr: u64,
        recursive: bool,
    },
    /// `mkdir(path, mode)`; an existing directory is fine.
    Mkdir { path: CString, mode: u32 },
    /// An empty file to mount on; an existing one is fine.
    MountPoint { path: CString },
    /// `symlink(link, path)`.
    Symlink { link: CString, path: CString },
    /// A new file (mode 0444) with `content`.
    WriteFile { path: CString, content: Vec<u8> },
    /// `chdir(path)`.
    Chdir(CString),
    /// `pivot_root(new_root, put_old)`.
    PivotRoot { new_root: CString, put_old: CString },
    /// `umount2(path, MNT_DETACH)`.
    Detach(CString),
    /// `path` (not followed) must be the inode `(dev, ino)`, else `path_changed` of
    /// check `check`.
    Is {
        path: CString,
        dev: u64,
        ino: u64,
        check: u32,
    },
    /// `path` (not followed) must be the same inode as `other`.
    Same {
        path: CString,
        other: CString,
        check: u32,
    },
}

/// The view as the child builds it, prepared by the parent.
#[derive(Debug)]
pub struct Build {
    ops: Vec<(Op, u8)>,
    /// `target.cwd` in the view, and the `(dev, ino)` the parent opened when the view
    /// shows that host directory there (not for a cwd in the shim's own tmpfs).
    cwd: Option<(CString, Option<(u64, u64)>)>,
    /// What each check names, for `path_changed` details.
    pub checked: Vec<String>,
}

/// How the child's view build broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// A syscall failed.
    Errno(Errno),
    /// Check number N found another inode than the parent opened.
    Changed(u32),
}

impl From<Errno> for Broken {
    fn from(e: Errno) -> Broken {
        Broken::Errno(e)
    }
}

fn c(path: &str) -> Result<CString, Refusal> {
    CString::new(path).map_err(|_| invalid(format!("The view path {path:?} contains a NUL byte")))
}

/// `prefix` + `path` (`/newroot` + `/` is `/newroot`).
fn under(prefix: &str, path: &str) -> String {
    if path == "/" {
        prefix.to_string()
    } else {
        format!("{prefix}{path}")
    }
}

/// Opens `path` (recorded resolution `resolved`) as [`plan_path::open_unredirectable`]
/// does, one fd at a time: `(dev, ino, is_dir)`.
fn identify(what: &str, path: &str, resolved: Option<&str>) -> Result<(u64, u64, bool), Refusal> {
    let opened =
        plan_path::open_unredirectable(what, path, resolved, libc::O_PATH)?.ok_or_else(|| {
            Refusal::HandleUnavailable(format!(
                "The {what} {path} does not exist; restore it or recompile and re-sign the plan"
            ))
        })?;
    let is_dir = opened.file.metadata().map(|m| m.is_dir()).map_err(|e| {
        Refusal::HandleUnavailable(format!("The {what} {path} cannot be examined: {e}"))
    })?;
    Ok((opened.dev, opened.ino, is_dir))
}

/// Builds the ops of a listed view, tracking which view directories exist.
struct Builder {
    ops: Vec<(Op, u8)>,
    checked: Vec<String>,
    /// Directories the shim made in the root tmpfs.
    made: BTreeSet<String>,
    /// Targets holding a tree of the host or the kernel (binds, proc), with the host path a
    /// bind shows: the shim creates nothing beneath them (that could write to the host);
    /// mount points there must exist. The shim's own tmpfs (tmp, dev) are not among them.
    trees: Vec<(String, Option<String>)>,
    /// Targets that are symlinks of the view: no later target may go through one.
    links: Vec<String>,
}

impl Builder {
    fn push(&mut self, op: Op) {
        self.ops.push((op, 0));
    }

    /// A bind of `source` at `target`, then its flags (`recursive`: with every mount below).
    fn bind(&mut self, source: CString, target: &CString, attr: u64, recursive: bool) {
        self.push(Op::Bind {
            source,
            target: target.clone(),
            recursive,
        });
        self.push(Op::SetAttr {
            path: target.clone(),
            attr,
            recursive,
        });
    }

    fn check(&mut self, what: String) -> u32 {
        self.checked.push(what);
        (self.checked.len() - 1) as u32
    }

    fn in_tree(&self, path: &str) -> bool {
        self.trees.iter().any(|(t, _)| within(path, t))
    }

    /// A mount point inside a bound host tree must already be there on the host, reached
    /// without a symlink (the child's mount would follow one) and of the right kind:
    /// checked before any child exists, `handle_unavailable` otherwise.
    fn existing_mount_point(&self, index: usize, target: &str, dir: bool) -> Result<(), Refusal> {
        let Some((tree, Some(host))) = self.trees.iter().rev().find(|(t, _)| within(target, t))
        else {
            return Ok(());
        };
        let path = format!("{host}{}", &target[tree.len()..]);
        let refuse = |why: &str| {
            Err(Refusal::HandleUnavailable(format!(
                "View entry {index} ({target}) lies in the bound host directory {tree}, where {path} {why}; the shim creates nothing on the host: make it exist there, or place the entry elsewhere"
            )))
        };
        let fd = match sys::open_no_symlinks(&c(&path)?, libc::O_PATH) {
            Ok(fd) => fd,
            Err(libc::ELOOP) => return refuse("is reached through a symlink"),
            Err(_) => return refuse("does not exist"),
        };
        let mode = sys::stat_id(fd, c"", libc::AT_EMPTY_PATH).map(|(_, _, mode)| mode);
        // A close of an O_PATH fd that was just opened cannot fail in a way that matters.
        let _ = sys::close(fd);
        match mode.map(|m| m & libc::S_IFMT == libc::S_IFDIR) {
            Ok(is_dir) if is_dir == dir => Ok(()),
            Ok(true) => refuse("is a directory, not a file"),
            Ok(false) => refuse("is not a directory"),
            Err(_) => refuse("cannot be examined"),
        }
    }

    /// Creates the missing parent directories of `target` in the root tmpfs and its mount
    /// point (`dir`: a directory, else a file; `None`: nothing to mount on), or, when
    /// `target` lies in a mounted tree, checks that the mount point exists there.
    fn mount_point(
        &mut self,
        index: usize,
        target: &str,
        dir: Option<bool>,
    ) -> Result<(), Refusal> {
        if self.in_tree(target) {
            return match dir {
                Some(dir) => self.existing_mount_point(index, target, dir),
                None => Ok(()),
            };
        }
        let mut at = 0;
        while let Some(next) = target[at + 1..].find('/').map(|i| i + at + 1) {
            let parent = &target[..next];
            at = next;
            if self.links.iter().any(|l| l == parent) {
                return Err(invalid(format!(
                    "View entry {index} has the target {target}, which goes through the view's symlink {parent}; name the resolved path"
                )));
            }
            if self.made.insert(parent.to_string()) {
                let path = c(&under("/newroot", parent))?;
                self.push(Op::Mkdir { path, mode: 0o755 });
            }
        }
        let path = c(&under("/newroot", target))?;
        match dir {
            Some(true) => {
                self.made.insert(target.to_string());
                self.push(Op::Mkdir { path, mode: 0o755 });
            }
            Some(false) => self.push(Op::MountPoint { path }),
            None => {}
        }
        Ok(())
    }
}

fn tmpfs_data(size: Option<u64>, mode: &str) -> Result<Option<CString>, Refusal> {
    let text = match size {
        Some(size) => format!("size={size},mode={mode}"),
        None => format!("mode={mode}"),
    };
    c(&text).map(Some)
}

const TMPFS: &CStr = c"tmpfs";
const MS_BASE: c_ulong = libc::MS_NOSUID | libc::MS_NODEV;

fn listed(section: &Section, b: &mut Builder) -> Result<(), Refusal> {
    b.push(Op::Private);
    b.push(Op::Fs {
        fstype: TMPFS,
        target: c(STAGING)?,
        flags: MS_BASE,
        data: tmpfs_data(None, "0700")?,
    });
    b.push(Op::Chdir(c(STAGING)?));
    for dir in ["newroot", "oldroot"] {
        b.push(Op::Mkdir {
            path: c(&format!("{STAGING}/{dir}"))?,
            mode: 0o755,
        });
    }
    b.push(Op::PivotRoot {
        new_root: c(".")?,
        put_old: c("oldroot")?,
    });
    b.push(Op::Chdir(c("/")?));
    let mut root_attr = 0;
    for (index, mount) in section.mounts.iter().enumerate() {
        let target = &mount.target;
        let t = c(&under("/newroot", target))?;
        match &mount.kind {
            Kind::Root { size } => {
                root_attr = mount.attr;
                b.push(Op::Fs {
                    fstype: TMPFS,
                    target: t,
                    flags: MS_BASE,
                    data: tmpfs_data(Some(*size), "0755")?,
                });
            }
            Kind::Bind { source, resolved } => {
                let (dev, ino, is_dir) = identify("view source", source, resolved.as_deref())?;
                b.mount_point(index, target, Some(is_dir))?;
                let from = resolved.as_deref().unwrap_or(source);
                b.bind(c(&under("/oldroot", from))?, &t, mount.attr, true);
                let check = b.check(format!("view source {source} (shown at {target})"));
                b.push(Op::Is {
                    path: t,
                    dev,
                    ino,
                    check,
                });
                b.trees.push((target.clone(), Some(from.to_string())));
            }
            Kind::Symlink { link } => {
                if b.in_tree(target) {
                    return Err(invalid(format!(
                        "View entry {index} is a symlink at {target}, inside a mounted host tree; the shim creates nothing there"
                    )));
                }
                b.mount_point(index, target, None)?;
                b.push(Op::Symlink {
                    link: c(link)?,
                    path: t,
                });
                b.links.push(target.clone());
            }
            Kind::File { content } => {
                let staged = c(&format!("/file-{index}"))?;
                b.push(Op::WriteFile {
                    path: staged.clone(),
                    content: content.clone(),
                });
                b.mount_point(index, target, Some(false))?;
                b.bind(staged.clone(), &t, mount.attr, false);
                let check = b.check(format!("view file {target}"));
                b.push(Op::Same {
                    path: t,
                    other: staged,
                    check,
                });
            }
            Kind::Tmpfs { size } => {
                b.mount_point(index, target, Some(true))?;
                b.push(Op::Fs {
                    fstype: TMPFS,
                    target: t.clone(),
                    flags: MS_BASE,
                    data: tmpfs_data(Some(*size), "1777")?,
                });
                b.push(Op::SetAttr {
                    path: t,
                    attr: mount.attr,
                    recursive: false,
                });
            }
            Kind::Proc => proc(b, index, mount)?,
            Kind::Dev { devpts } => dev(b, index, mount, *devpts)?,
            Kind::Hide => {
                return Err(invalid(format!(
                    "View entry {index} hides {target} in a listed view"
                )))
            }
        }
    }
    b.push(Op::Chdir(c("/newroot")?));
    b.push(Op::PivotRoot {
        new_root: c(".")?,
        put_old: c(".")?,
    });
    // The staging root, and with it the host tree at /oldroot, is stacked on the new
    // root now: detaching it leaves the child no way back.
    b.push(Op::Detach(c(".")?));
    b.push(Op::Chdir(c("/")?));
    b.push(Op::SetAttr {
        path: c("/")?,
        attr: root_attr,
        recursive: false,
    });
    Ok(())
}

/// `proc`: a proc of the child's pid namespace (left out without one), with
/// [`PROC_READ_ONLY`] re-bound read-only on themselves.
fn proc(b: &mut Builder, index: usize, mount: &Mount) -> Result<(), Refusal> {
    let target = &mount.target;
    let t = c(&under("/newroot", target))?;
    b.mount_point(index, target, Some(true))?;
    b.ops.push((
        Op::Fs {
            fstype: c"proc",
            target: t.clone(),
            flags: MS_BASE | libc::MS_NOEXEC,
            data: None,
        },
        PID_NS,
    ));
    for sub in PROC_READ_ONLY {
        let path = c(&under("/newroot", &format!("{target}/{sub}")))?;
        b.ops.push((
            Op::Bind {
                source: path.clone(),
                target: path.clone(),
                recursive: true,
            },
            PID_NS | IF_EXISTS,
        ));
        b.ops.push((
            Op::SetAttr {
                path,
                attr: RDONLY | NOSUID | NODEV | NOEXEC,
                recursive: true,
            },
            PID_NS | IF_EXISTS,
        ));
    }
    b.ops.push((
        Op::SetAttr {
            path: t,
            attr: mount.attr,
            recursive: false,
        },
        PID_NS,
    ));
    b.trees.push((target.clone(), None));
    Ok(())
}

/// `dev`: a tmpfs with the host's [`DEVICES`] bound over empty files, the fd symlinks, an
/// empty shm and, with `devpts`, a private devpts instance.
fn dev(b: &mut Builder, index: usize, mount: &Mount, devpts: bool) -> Result<(), Refusal> {
    let target = &mount.target;
    let t = c(&under("/newroot", target))?;
    b.mount_point(index, target, Some(true))?;
    b.push(Op::Fs {
        fstype: TMPFS,
        target: t.clone(),
        flags: libc::MS_NOSUID | libc::MS_NOEXEC,
        data: tmpfs_data(None, "0755")?,
    });
    let at = |name: &str| c(&under("/newroot", &format!("{target}/{name}")));
    for node in DEVICES {
        b.push(Op::MountPoint { path: at(node)? });
        b.push(Op::Bind {
            source: c(&format!("/oldroot/dev/{node}"))?,
            target: at(node)?,
            recursive: false,
        });
    }
    let links = [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    for (name, link) in links {
        b.push(Op::Symlink {
            link: c(link)?,
            path: at(name)?,
        });
    }
    b.push(Op::Mkdir {
        path: at("shm")?,
        mode: 0o1777,
    });
    if devpts {
        b.push(Op::Mkdir {
            path: at("pts")?,
            mode: 0o755,
        });
        b.push(Op::Fs {
            fstype: c"devpts",
            target: at("pts")?,
            flags: libc::MS_NOSUID | libc::MS_NOEXEC,
            data: Some(c("newinstance,ptmxmode=0666,mode=620")?),
        });
        b.push(Op::Symlink {
            link: c("pts/ptmx")?,
            path: at("ptmx")?,
        });
    }
    b.push(Op::SetAttr {
        path: t,
        attr: mount.attr,
        recursive: true,
    });
    Ok(())
}

fn host(section: &Section, b: &mut Builder) -> Result<(), Refusal> {
    b.push(Op::Private);
    for mount in &section.mounts {
        let target = &mount.target;
        let t = c(target)?;
        let (dev, ino, is_dir) = identify("hidden path", target, None)?;
        let check = b.check(format!("hidden path {target}"));
        b.push(Op::Is {
            path: t.clone(),
            dev,
            ino,
            check,
        });
        if is_dir {
            b.push(Op::Fs {
                fstype: TMPFS,
                target: t.clone(),
                flags: MS_BASE | libc::MS_NOEXEC,
                data: tmpfs_data(None, "0000")?,
            });
        } else {
            b.push(Op::Bind {
                source: c("/dev/null")?,
                target: t.clone(),
                recursive: false,
            });
        }
        b.push(Op::SetAttr {
            path: t.clone(),
            attr: mount.attr,
            recursive: false,
        });
        if !is_dir {
            let check = b.check(format!("hidden path {target} (covered by /dev/null)"));
            b.push(Op::Same {
                path: t,
                other: c("/dev/null")?,
                check,
            });
        }
    }
    Ok(())
}

/// Whether the view shows the host's (symlink-free) `path` at `path`: in a host view
/// always; in a listed view when the innermost entry holding it binds its source (as
/// resolved) at the same place.
fn shows_host_path(section: &Section, path: &str) -> bool {
    match section.mode {
        Mode::Host => true,
        Mode::Listed => section
            .mounts
            .iter()
            .rev()
            .find(|m| within(path, &m.target))
            .is_some_and(|m| {
                matches!(&m.kind, Kind::Bind { source, resolved }
                    if *resolved.as_ref().unwrap_or(source) == m.target)
            }),
    }
}

/// `target.cwd` as the parent opened it: the path, its recorded resolution (or the path)
/// and the `(dev, ino)` of what was opened.
type OpenedCwd<'a> = (&'a str, &'a str, u64, u64);

/// Builds the child's sequence for `section`, and the cwd step's when the plan has one.
fn build(section: &Section, cwd: Option<OpenedCwd<'_>>) -> Result<Build, Refusal> {
    let mut b = Builder {
        ops: Vec::new(),
        checked: Vec::new(),
        made: BTreeSet::new(),
        trees: Vec::new(),
        links: Vec::new(),
    };
    match section.mode {
        Mode::Listed => listed(section, &mut b)?,
        Mode::Host => host(section, &mut b)?,
    }
    let cwd = match cwd {
        Some((path, resolved, dev, ino)) => {
            b.checked.push(format!("cwd {path}"));
            let id = shows_host_path(section, resolved).then_some((dev, ino));
            Some((c(path)?, id))
        }
        None => None,
    };
    Ok(Build {
        ops: b.ops,
        cwd,
        checked: b.checked,
    })
}

/// The view of a launch: what the child builds, until best_effort gives it up for the
/// host's.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The child's build; `None` without a view or once given up.
    pub build: Option<Build>,
    /// The view must not be given up.
    pub required: bool,
    /// The plan's mode, for the fallback details.
    requested: Option<Mode>,
    /// The plan mounts a proc.
    proc: bool,
}

/// The filesystem view: refused (`required`) or given up for the host's (`best_effort`,
/// `details.view = {mode: "host", requested, errno}`) when this launcher cannot create a
/// mount namespace; otherwise the child's build, with `details.view` recorded. `cwd` is
/// `target.cwd`, its recorded resolution (or itself) and the parent's fd of it, when the
/// plan has a cwd step.
pub fn prepare(
    section: Option<&Section>,
    cwd: Option<(&str, &str, libc::c_int)>,
    with_user_namespace: bool,
    cap_sys_admin: bool,
    reports: &mut PhaseReports,
) -> Result<Prepared, Failure> {
    let Some(section) = section else {
        return Ok(Prepared::default());
    };
    let mut prepared = Prepared {
        build: None,
        required: section.enforce == Enforce::Required,
        requested: Some(section.mode),
        proc: section.has_proc(),
    };
    match unavailable(with_user_namespace, cap_sys_admin) {
        Some((reason, _)) if prepared.required => {
            return Err(Refusal::KernelUnsupported(format!(
                "The plan requires a filesystem view, but {reason}; add `user: {{ namespace: true }}` to the policy, or set enforce.namespaces: best_effort"
            ))
            .into())
        }
        Some((_, errno)) => prepared.give_up(errno, reports),
        None => {
            let cwd = match cwd {
                Some((path, resolved, fd)) => {
                    let (dev, ino, _) = sys::stat_id(fd, c"", libc::AT_EMPTY_PATH)
                        .map_err(|e| Failure::fault(Step::Cwd.id(), e, "Examining the cwd failed"))?;
                    Some((path, resolved, dev, ino))
                }
                None => None,
            };
            prepared.build = Some(build(section, cwd)?);
            reports.insert(2, "view", section.details());
        }
    }
    Ok(prepared)
}

impl Prepared {
    /// `CLONE_NEWNS` while the launch has a view to build, else 0.
    pub fn flag(&self) -> u64 {
        match self.build {
            Some(_) => libc::CLONE_NEWNS as u64,
            None => 0,
        }
    }

    /// Gives the view up for the host's (best_effort; `errno` says why) and records it.
    pub fn give_up(&mut self, errno: Errno, reports: &mut PhaseReports) {
        self.build = None;
        if let Some(mode) = self.requested {
            let details = json!({ "mode": "host", "requested": mode.name(), "errno": errno });
            reports.record(2, "view", details, true);
        }
    }

    /// Once clone3 said what was created: without a pid namespace the view's proc was
    /// left out (a proc of the launcher's pid namespace would show the host's processes).
    pub fn resolve(&self, clone_flags: u64, reports: &mut PhaseReports) {
        let pid_ns = clone_flags & libc::CLONE_NEWPID as u64 != 0;
        if self.build.is_some() && self.proc && !pid_ns {
            let why = "no pid namespace was created, so /proc is an empty directory";
            reports.record(2, "viewProcSkipped", json!(why), true);
        }
    }

    /// What each check of the child's build names, for `path_changed` details.
    pub fn checked(self) -> Vec<String> {
        self.build.map(|b| b.checked).unwrap_or_default()
    }
}

fn is(path: &CStr, dev: u64, ino: u64, check: u32) -> Result<(), Broken> {
    let (d, i, _) = sys::stat_id(libc::AT_FDCWD, path, libc::AT_SYMLINK_NOFOLLOW)?;
    if (d, i) == (dev, ino) {
        Ok(())
    } else {
        Err(Broken::Changed(check))
    }
}

fn exists_ok(result: Result<(), Errno>) -> Result<(), Errno> {
    match result {
        Err(libc::EEXIST) => Ok(()),
        other => other,
    }
}

fn write_file(path: &CStr, content: &[u8]) -> Result<(), Errno> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
    let fd = sys::open_at(path, flags, 0o444)?;
    let written = sys::write_all(fd, content);
    sys::close(fd)?;
    written
}

fn run(op: &Op) -> Result<(), Broken> {
    match op {
        Op::Private => sys::mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None)?,
        Op::Fs {
            fstype,
            target,
            flags,
            data,
        } => sys::mount(Some(fstype), target, Some(fstype), *flags, data.as_deref())?,
        Op::Bind {
            source,
            target,
            recursive,
        } => {
            let rec = if *recursive { libc::MS_REC } else { 0 };
            sys::mount(Some(source), target, None, libc::MS_BIND | rec, None)?
        }
        Op::SetAttr {
            path,
            attr,
            recursive,
        } => {
            let flags = if *recursive { sys::AT_RECURSIVE } else { 0 };
            sys::mount_setattr(path, flags, *attr)?
        }
        Op::Mkdir { path, mode } => exists_ok(sys::mkdir(path, *mode))?,
        Op::MountPoint { path } => exists_ok(sys::make_empty_file(path, 0o444))?,
        Op::Symlink { link, path } => sys::symlink(link, path)?,
        Op::WriteFile { path, content } => write_file(path, content)?,
        Op::Chdir(path) => sys::chdir(path)?,
        Op::PivotRoot { new_root, put_old } => sys::pivot_root(new_root, put_old)?,
        Op::Detach(path) => sys::umount2(path, libc::MNT_DETACH)?,
        Op::Is {
            path,
            dev,
            ino,
            check,
        } => is(path, *dev, *ino, *check)?,
        Op::Same { path, other, check } => {
            let (dev, ino, _) = sys::stat_id(libc::AT_FDCWD, other, libc::AT_SYMLINK_NOFOLLOW)?;
            is(path, dev, ino, *check)?
        }
    }
    Ok(())
}

/// Builds the view (in the child, raw syscalls only; `pid_ns`: the child has its own pid
/// namespace, without which proc is left out). umask is 0 meanwhile, so that modes are
/// exactly the prepared ones.
pub fn apply(view: &Build, pid_ns: bool) -> Result<(), Broken> {
    let umask = sys::umask(0);
    let result = view.ops.iter().try_for_each(|(op, guard)| {
        if guard & PID_NS != 0 && !pid_ns {
            return Ok(());
        }
        match run(op) {
            Err(Broken::Errno(libc::ENOENT)) if guard & IF_EXISTS != 0 => Ok(()),
            other => other,
        }
    });
    sys::umask(umask);
    result
}

/// `linux.visibility.cwd.v1` in the view: chdir by path inside the new root (a host fd
/// would lead out of it), then the directory must be the one the parent opened.
pub fn enter_cwd(view: &Build) -> Result<(), Broken> {
    let Some((path, id)) = &view.cwd else {
        return Ok(());
    };
    sys::chdir(path)?;
    let Some(id) = id else {
        return Ok(());
    };
    if sys::stat_id(libc::AT_FDCWD, c".", 0).map(|(d, i, _)| (d, i))? == *id {
        Ok(())
    } else {
        Err(Broken::Changed((view.checked.len() - 1) as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn listed_view() -> Value {
        json!({
            "mode": "listed", "enforce": "required",
            "mounts": [
                { "kind": "root", "sizeBytes": 1048576, "flags": ["ro", "nosuid", "nodev"] },
                { "kind": "symlink", "target": "/lib", "link": "usr/lib" },
                { "kind": "bind", "source": "/usr", "target": "/usr", "flags": ["ro", "nosuid", "nodev"] },
                { "kind": "bind", "source": "/etc/hosts", "sourceResolved": "/etc/hosts.real",
                  "target": "/etc/hosts", "flags": ["ro", "nosuid", "nodev", "noexec"] },
                { "kind": "file", "target": "/etc/resolv.conf", "contentB64": "aGk=",
                  "flags": ["ro", "nosuid", "nodev", "noexec"] },
                { "kind": "tmpfs", "target": "/tmp", "sizeBytes": 4096, "flags": ["nosuid", "nodev", "noexec"] },
                { "kind": "proc", "target": "/proc", "flags": ["nosuid", "nodev", "noexec"] },
                { "kind": "dev", "target": "/dev", "devpts": true, "flags": ["nosuid", "noexec"] },
            ],
        })
    }

    fn parse_value(v: &Value) -> Result<Section, Refusal> {
        parse(&v.to_string())
    }

    #[test]
    fn parses_every_kind() {
        let section = parse_value(&listed_view()).unwrap();
        assert_eq!(section.mode, Mode::Listed);
        assert_eq!(section.mounts.len(), 8);
        assert_eq!(section.mounts[0].attr, RDONLY | NOSUID | NODEV);
        assert_eq!(
            section.mounts[3].kind,
            Kind::Bind {
                source: "/etc/hosts".into(),
                resolved: Some("/etc/hosts.real".into())
            }
        );
        assert_eq!(
            section.mounts[4].kind,
            Kind::File {
                content: b"hi".to_vec()
            }
        );
        assert!(section.has_proc());
        let details = section.details();
        assert_eq!(
            details["mounts"][1],
            json!({ "kind": "symlink", "target": "/lib", "link": "usr/lib" })
        );
        assert_eq!(details["mounts"][3]["source"], json!("/etc/hosts"));
        assert_eq!(details["mounts"][0]["target"], json!("/"));
    }

    #[test]
    fn refuses_what_it_does_not_fully_understand() {
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit); 22] = [
            ("unknown kind", |v| {
                v["mounts"][2]["kind"] = json!("overlay")
            }),
            ("unknown field", |v| {
                v["mounts"][2]["propagation"] = json!("shared")
            }),
            ("unknown section field", |v| v["extra"] = json!(1)),
            ("unknown mode", |v| v["mode"] = json!("none")),
            ("unknown flag", |v| {
                v["mounts"][2]["flags"] = json!(["ro", "nosuid", "nodev", "sync"])
            }),
            ("flag twice", |v| {
                v["mounts"][2]["flags"] = json!(["nosuid", "nosuid", "nodev"])
            }),
            ("bind without nosuid", |v| {
                v["mounts"][2]["flags"] = json!(["ro", "nodev"])
            }),
            ("tmpfs without nodev", |v| {
                v["mounts"][5]["flags"] = json!(["nosuid"])
            }),
            ("dev without nosuid", |v| {
                v["mounts"][7]["flags"] = json!(["noexec"])
            }),
            ("writable root", |v| {
                v["mounts"][0]["flags"] = json!(["nosuid", "nodev"])
            }),
            ("writable file", |v| {
                v["mounts"][4]["flags"] = json!(["nosuid", "nodev"])
            }),
            ("relative target", |v| {
                v["mounts"][2]["target"] = json!("usr")
            }),
            ("dotdot target", |v| {
                v["mounts"][2]["target"] = json!("/usr/../etc")
            }),
            ("trailing slash", |v| {
                v["mounts"][2]["target"] = json!("/usr/")
            }),
            ("double slash", |v| {
                v["mounts"][2]["target"] = json!("//usr")
            }),
            ("target /", |v| v["mounts"][2]["target"] = json!("/")),
            ("relative source", |v| {
                v["mounts"][2]["source"] = json!("usr")
            }),
            ("resolution equal to source", |v| {
                v["mounts"][3]["sourceResolved"] = json!("/etc/hosts")
            }),
            ("root not first", |v| {
                let root = v["mounts"].as_array_mut().unwrap().remove(0);
                v["mounts"].as_array_mut().unwrap().push(root);
            }),
            ("hide in listed", |v| {
                v["mounts"].as_array_mut().unwrap().push(
                    json!({ "kind": "hide", "target": "/run", "flags": ["ro", "nosuid", "nodev", "noexec"] }),
                )
            }),
            ("proc elsewhere", |v| v["mounts"][6]["target"] = json!("/p")),
            ("later entry covers an earlier one", |v| {
                v["mounts"].as_array_mut().unwrap().push(
                    json!({ "kind": "tmpfs", "target": "/etc", "sizeBytes": 1, "flags": ["nosuid", "nodev"] }),
                )
            }),
        ];
        for (name, edit) in cases {
            let mut v = listed_view();
            edit(&mut v);
            assert_eq!(
                parse_value(&v).map(|_| ()).map_err(|e| e.code()),
                Err("plan_invalid"),
                "{name}"
            );
        }
        let host = json!({ "mode": "host", "enforce": "best_effort", "mounts": [
            { "kind": "root", "sizeBytes": 1, "flags": ["ro", "nosuid", "nodev"] },
        ] });
        assert!(parse_value(&host).is_err(), "root in a host view");
        let empty = json!({ "mode": "host", "enforce": "required", "mounts": [] });
        assert!(parse_value(&empty).is_err(), "an empty host view");
    }

    #[test]
    fn a_listed_view_pivots_detaches_and_creates_nothing_in_host_trees() {
        let mut v = listed_view();
        // Sources that exist on every test host, opened by the parent.
        v["mounts"][2]["source"] = json!("/usr");
        v["mounts"][3] = json!({ "kind": "bind", "source": "/etc", "target": "/etc",
            "flags": ["ro", "nosuid", "nodev"] });
        // A file in a bound host tree goes onto a file that is there (every host has this).
        v["mounts"][4]["target"] = json!("/etc/passwd");
        let section = parse_value(&v).unwrap();
        let prepared = build(&section, Some(("/usr", "/usr", 1, 2))).unwrap();
        let ops: Vec<&Op> = prepared.ops.iter().map(|(op, _)| op).collect();
        assert_eq!(ops[0], &Op::Private, "MS_PRIVATE before any mount");
        let mkdirs: Vec<&CStr> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Mkdir { path, .. } | Op::MountPoint { path } => Some(path.as_c_str()),
                _ => None,
            })
            .collect();
        // Nothing is created under /newroot/etc (a host tree): the file binds onto the
        // host's /etc/passwd.
        assert!(!mkdirs
            .iter()
            .any(|p| p.to_bytes().starts_with(b"/newroot/etc/")));
        assert!(mkdirs.contains(&c"/newroot/usr"));
        let tail: Vec<&Op> = ops[ops.len() - 5..].to_vec();
        assert_eq!(
            tail,
            [
                &Op::Chdir(c("/newroot").unwrap()),
                &Op::PivotRoot {
                    new_root: c(".").unwrap(),
                    put_old: c(".").unwrap()
                },
                &Op::Detach(c(".").unwrap()),
                &Op::Chdir(c("/").unwrap()),
                &Op::SetAttr {
                    path: c("/").unwrap(),
                    attr: RDONLY | NOSUID | NODEV,
                    recursive: false
                },
            ]
        );
        let binds = ops
            .iter()
            .filter(
                |op| matches!(op, Op::Bind { source, .. } if source.as_c_str() == c"/oldroot/usr"),
            )
            .count();
        assert_eq!(binds, 1);
        assert_eq!(prepared.checked.last().unwrap(), "cwd /usr");
    }

    #[test]
    fn refuses_targets_through_view_symlinks_and_symlinks_in_host_trees() {
        let mut v = listed_view();
        v["mounts"][2]["target"] = json!("/lib/x");
        v["mounts"][2]["source"] = json!("/usr");
        let section = parse_value(&v).unwrap();
        assert_eq!(build(&section, None).unwrap_err().code(), "plan_invalid");
        let mut v = listed_view();
        v["mounts"][1]["target"] = json!("/usr/x");
        v["mounts"].as_array_mut().unwrap().swap(1, 2);
        let section = parse_value(&v).unwrap();
        assert_eq!(build(&section, None).unwrap_err().code(), "plan_invalid");
    }

    #[test]
    fn a_missing_source_is_refused_before_any_child() {
        let mut v = listed_view();
        v["mounts"][2]["source"] = json!("/nonexistent/charter-view");
        v["mounts"][2]["target"] = json!("/x");
        let section = parse_value(&v).unwrap();
        assert_eq!(
            build(&section, None).unwrap_err().code(),
            "handle_unavailable"
        );
    }
}
