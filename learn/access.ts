/**
 * What `charter learn` records, and what each record means for the policy: the shim's
 * supervisor reports raw syscalls (number, arguments, resolved paths, socket address);
 * {@link accessesOf} turns one into the accesses Landlock and seccomp decide on.
 *
 * @module
 */
import type { LandlockFsRight } from "../compiler/plan.ts";
import { archOfAuditArch, type SeccompArch, syscallName } from "../compiler/seccomp/mod.ts";
import { isDirectory, normalizePath, parentOf } from "./paths.ts";

/** One line of the recorder's output: a syscall the child made, as the supervisor saw it. */
export interface SyscallRecord {
  /** The calling thread's id (in the launcher's pid namespace). */
  pid: number;
  /** AUDIT_ARCH value. */
  arch: number;
  /** Syscall number. */
  nr: number;
  /** The six arguments, decimal u64 strings. */
  args: string[];
  /** The path arguments, resolved against the thread's cwd or dirfd (null: unreadable). */
  paths?: (string | null)[];
  /** The socket address of connect/bind. */
  sockaddr?: { family: number; port?: number; path?: string };
  /** The socket's SO_TYPE (connect/bind), when the supervisor could read it. */
  sockType?: number;
}

/** A filesystem access, with the Landlock rights it needs and the path they are checked on. */
export interface PathAccess {
  kind: "path";
  /** What the child did. */
  op: "read" | "list" | "write" | "create" | "remove" | "exec" | "lookup";
  /** The path it named (resolved). */
  path: string;
  /** The rights Landlock checks (none for a lookup: stat, access, readlink, chdir). */
  rights: readonly LandlockFsRight[];
  /** Where they are checked: the path itself, or its parent directory (create, remove). */
  at: string;
}

/** A TCP port connected to or bound. */
export interface PortAccess {
  kind: "tcp" | "udp";
  op: "connect" | "bind";
  port: number;
}

/** A pathname UNIX socket connected to or bound. */
export interface UnixAccess {
  kind: "unix";
  op: "connect" | "bind";
  path: string;
}

/** A syscall, with its arguments, as the seccomp filter sees it. */
export interface SyscallAccess {
  kind: "syscall";
  name: string;
  arch: SeccompArch;
  nr: number;
  args: bigint[];
}

/** A signal sent to a process or thread. */
export interface SignalAccess {
  kind: "signal";
  signal: number;
  pid: number;
}

/** Anything the policy decides on. */
export type Access = PathAccess | PortAccess | UnixAccess | SyscallAccess | SignalAccess;

const O_ACCMODE = 3;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const O_DIRECTORY = 0o200000;
const O_PATH = 0o10000000;
const AT_REMOVEDIR = 0x200;
const AT_EMPTY_PATH = 0x1000;
const S_IFMT = 0o170000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;

function create(path: string, right: LandlockFsRight): PathAccess {
  return { kind: "path", op: "create", path, rights: [right], at: parentOf(path) };
}

function lookup(path: string): PathAccess {
  return { kind: "path", op: "lookup", path, rights: [], at: path };
}

function exec(path: string): PathAccess {
  return { kind: "path", op: "exec", path, rights: ["execute"], at: path };
}

function remove(path: string, dir: boolean): PathAccess {
  return {
    kind: "path",
    op: "remove",
    path,
    rights: [dir ? "remove_dir" : "remove_file"],
    at: parentOf(path),
  };
}

function opened(path: string, flags: number): PathAccess[] {
  if (flags & O_PATH) return [];
  const out: PathAccess[] = [];
  const mode = flags & O_ACCMODE;
  if (mode === 0 || mode === 2) {
    // Only a read needs to know (a stat per open, on the recorder's hot path).
    const dir = (flags & O_DIRECTORY) !== 0 || isDirectory(path);
    out.push({
      kind: "path",
      op: dir ? "list" : "read",
      path,
      rights: [dir ? "read_dir" : "read_file"],
      at: path,
    });
  }
  if (mode === 1 || mode === 2 || flags & O_TRUNC) {
    const rights: LandlockFsRight[] = flags & O_TRUNC ? ["write_file", "truncate"] : ["write_file"];
    out.push({ kind: "path", op: "write", path, rights, at: path });
  }
  if (flags & O_CREAT) out.push(create(path, "make_reg"));
  return out;
}

function mknodRight(mode: number): LandlockFsRight {
  switch (mode & S_IFMT) {
    case S_IFIFO:
      return "make_fifo";
    case S_IFSOCK:
      return "make_sock";
    case S_IFDIR:
      return "make_dir";
    case 0:
    case S_IFREG:
      return "make_reg";
    default:
      return "make_char";
  }
}

function socketAccess(record: SyscallRecord, op: "connect" | "bind"): Access[] {
  const addr = record.sockaddr;
  if (!addr) return [];
  if (addr.family === AF_UNIX && addr.path !== undefined) {
    const unix: UnixAccess = { kind: "unix", op, path: addr.path };
    // Binding a pathname socket creates its file.
    return op === "bind" ? [unix, create(addr.path, "make_sock")] : [unix];
  }
  if ((addr.family === AF_INET || addr.family === AF_INET6) && addr.port !== undefined) {
    // Port 0 on bind asks the kernel for any port; Landlock checks it as port 0.
    return [{ kind: record.sockType === SOCK_DGRAM ? "udp" : "tcp", op, port: addr.port }];
  }
  return [];
}

/**
 * The accesses one recorded syscall stands for: always the syscall itself (seccomp decides
 * on it), and for watched calls the paths, ports and signals Landlock decides on.
 *
 * @example
 * ```ts
 * import { accessesOf } from "./access.ts";
 * const record = {
 *   pid: 1, arch: 0xc000003e, nr: 257,
 *   args: ["18446744073709551516", "0", String(0o1101), "0", "0", "0"],
 *   paths: ["/work/out/x"],
 * };
 * console.log(accessesOf(record).map((a) => a.kind === "path" ? `${a.op} ${a.at}` : a.kind));
 * // ["syscall", "write /work/out/x", "create /work/out"]
 * ```
 */
export function accessesOf(record: SyscallRecord): Access[] {
  const arch = archOfAuditArch(record.arch >>> 0);
  if (!arch) return [];
  const name = syscallName(arch, record.nr) ?? `syscall_${record.nr}`;
  const args = record.args.map((a) => BigInt(a));
  const out: Access[] = [{ kind: "syscall", name, arch, nr: record.nr, args }];
  const [p0, p1] = (record.paths ?? []).map((p) => (p ? normalizePath(p) : undefined));
  const int = (i: number) => Number(BigInt.asIntN(32, args[i] ?? 0n));
  switch (name) {
    case "open":
      if (p0) out.push(...opened(p0, int(1)));
      break;
    case "openat":
    case "openat2": // openat2's flags are in a struct; its callers pass O_RDONLY-like how.flags rarely
      if (p0) out.push(...opened(p0, name === "openat" ? int(2) : 0));
      break;
    case "creat":
      if (p0) out.push(...opened(p0, O_CREAT | O_TRUNC | 1));
      break;
    case "execve":
      if (p0) out.push(exec(p0));
      break;
    case "execveat":
      if (p0 && !(int(4) & AT_EMPTY_PATH)) out.push(exec(p0));
      break;
    case "truncate":
      if (p0) out.push({ kind: "path", op: "write", path: p0, rights: ["truncate"], at: p0 });
      break;
    case "mkdir":
    case "mkdirat":
      if (p0) out.push(create(p0, "make_dir"));
      break;
    case "mknod":
      if (p0) out.push(create(p0, mknodRight(int(1))));
      break;
    case "mknodat":
      if (p0) out.push(create(p0, mknodRight(int(2))));
      break;
    case "rmdir":
      if (p0) out.push(remove(p0, true));
      break;
    case "unlink":
      if (p0) out.push(remove(p0, false));
      break;
    case "unlinkat":
      if (p0) out.push(remove(p0, (int(2) & AT_REMOVEDIR) !== 0));
      break;
    case "rename":
    case "renameat":
    case "renameat2":
      if (p0 && p1) {
        const dir = isDirectory(p1) || isDirectory(p0);
        out.push(remove(p0, dir), create(p1, dir ? "make_dir" : "make_reg"));
        if (parentOf(p0) !== parentOf(p1)) {
          out.push({ kind: "path", op: "create", path: p1, rights: ["refer"], at: parentOf(p1) });
        }
      }
      break;
    case "link":
    case "linkat":
      if (p1) out.push(create(p1, "make_reg"));
      break;
    case "symlink":
    case "symlinkat":
      if (p0) out.push(create(p0, "make_sym"));
      break;
    case "connect":
    case "bind":
      out.push(...socketAccess(record, name));
      break;
    case "stat":
    case "lstat":
    case "access":
    case "faccessat":
    case "faccessat2":
    case "readlink":
    case "readlinkat":
    case "chdir":
      if (p0) out.push(lookup(p0));
      break;
    case "newfstatat":
    case "statx":
      // fstat(fd) is newfstatat(fd, "", AT_EMPTY_PATH): no path is looked up.
      if (p0 && !(int(name === "statx" ? 2 : 3) & AT_EMPTY_PATH)) {
        out.push(lookup(p0));
      }
      break;
    case "kill":
    case "tkill":
      out.push({ kind: "signal", signal: int(1), pid: int(0) });
      break;
    case "tgkill":
      out.push({ kind: "signal", signal: int(2), pid: int(0) });
      break;
  }
  return out;
}
