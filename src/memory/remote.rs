//! The executor protocol, and the linker's end of it ([`Remote`]).
//!
//! `relink executor` (`src/executor.rs`) serves one linker on its standard
//! input, which is one end of a Unix stream socket. Everything the link stages
//! do to the target process goes through the requests below; the linker writes
//! code and data itself, into its working view of a memfd that the executor
//! maps as the target view (the memfd travels with the `Reserve` request as
//! `SCM_RIGHTS` ancillary data). No page is copied: the two processes share
//! them, and a slot store is one aligned 8-byte store into the shared page.
//!
//! **Frames.** Every message is `len: u32` (bytes after this field), `tag: u8`,
//! then the payload: integers little-endian `u64`/`u32`/`u8`, strings as `u32`
//! length + UTF-8 bytes. Requests that change protection, report written code or
//! release memory get no reply — they are buffered and sent with the next
//! request that needs an answer, and a failure among them comes back as that
//! answer's error — so a load is a handful of round trips, not one per section.
//!
//! **Another machine.** Nothing in the frames depends on sharing a host except
//! `Reserve`'s descriptor. A transport without descriptor passing (TCP) would
//! send `Reserve` without one, and the linker would then send each changed range
//! as `Write { target, bytes }` before the `Protect`/`Call` that needs it (the
//! [`Target::publish`](super::Target::publish) hook). That transport is not
//! written; see the README's "Executors".
//!
//! **Endings.** The executor reports a fault in loaded code (`Fault`: signal,
//! faulting address, program counter) or a call through a trap stub (`Trap`:
//! the slot) just before it dies; the linker reads the report, then the end of
//! the stream, then the child's status, and every later request fails with
//! [`Ended`]. The linker names the addresses with its own symbols.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use super::process::ProcessSymbol;
use super::Placement;
use crate::arch::Arch;
pub use crate::error::Ended;
use crate::error::{Error, Result};
use crate::input::Class;

/// Bumped when a frame changes meaning.
pub const VERSION: u32 = 1;

/// Message tags. Linker → executor requests, then executor → linker answers.
pub mod tag {
    pub const RESERVE: u8 = 1;
    pub const PROTECT: u8 = 2;
    pub const CODE_WRITTEN: u8 = 3;
    pub const RELEASE: u8 = 4;
    pub const LOOKUP: u8 = 5;
    pub const LOAD_LIBRARY: u8 = 6;
    pub const CALL: u8 = 7;
    pub const RESOLVER: u8 = 8;
    pub const CXA_FINALIZE: u8 = 9;
    pub const REGISTER_FRAMES: u8 = 10;
    pub const DEREGISTER_FRAMES: u8 = 11;
    pub const CALL_ARGS: u8 = 12;
    pub const RUN_MAIN: u8 = 13;
    pub const STDIN: u8 = 15;
    pub const CALL_MAIN: u8 = 17;
    pub const TLS_REGISTER: u8 = 18;
    pub const TLS_UNREGISTER: u8 = 19;
    pub const TLS_MAKE_STATIC: u8 = 20;
    pub const TLS_PROCESS_VARIABLE: u8 = 21;
    pub const TLS_TP_OFFSET: u8 = 22;
    pub const TLS_LIBRARY_NAMES: u8 = 23;
    pub const COPIES: u8 = 24;
    pub const GDB_REGISTER: u8 = 25;
    pub const GDB_DEREGISTER: u8 = 26;
    pub const DEBUGGABLE: u8 = 27;

    pub const HELLO: u8 = 100;
    pub const OK: u8 = 101;
    pub const VALUE: u8 = 102;
    pub const ERROR: u8 = 103;
    pub const SYMBOLS: u8 = 104;
    pub const FAULT: u8 = 105;
    pub const TRAP: u8 = 106;
}

/// What a run of `main` does at exit, after the program's own exit handlers
/// (sent with `RunMain`; the executor registers them with `atexit` first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtExit {
    /// `__cxa_finalize(handle)`.
    Finalize(u64),
    /// Calls a `void (*)(void)`.
    Call(u64),
}

/// A frame being written.
#[derive(Default)]
pub struct Out(pub Vec<u8>);

impl Out {
    pub fn new(tag: u8) -> Out {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(&[0, 0, 0, 0, tag]);
        Out(v)
    }
    pub fn u8(mut self, v: u8) -> Out {
        self.0.push(v);
        self
    }
    pub fn u32(mut self, v: u32) -> Out {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> Out {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn str(self, s: &str) -> Out {
        let mut o = self.u32(s.len() as u32);
        o.0.extend_from_slice(s.as_bytes());
        o
    }
    /// The frame's bytes, length filled in.
    pub fn finish(mut self) -> Vec<u8> {
        let len = (self.0.len() - 4) as u32;
        self.0[..4].copy_from_slice(&len.to_le_bytes());
        self.0
    }
}

/// A frame being read: its tag and a cursor over its payload. Reading past the
/// end is an error, never a panic (the peer may be broken).
pub struct In {
    pub tag: u8,
    bytes: Vec<u8>,
    at: usize,
}

impl In {
    pub fn new(tag: u8, bytes: Vec<u8>) -> In {
        In { tag, bytes, at: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| bad(format!("message {} is truncated", self.tag)))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    pub fn str(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| bad("a string is not UTF-8".into()))
    }
}

fn bad(what: String) -> Error {
    Error::Executor(format!("protocol: {what}"))
}

/// Largest frame either side accepts (a `Lookup` of every name of a big link
/// is well below it).
pub const MAX_FRAME: usize = 64 << 20;

/// Reads one frame; `None` at a clean end of the stream.
pub fn read_frame(r: &mut impl Read) -> Result<Option<In>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(Error::Executor(format!("reading: {e}"))),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len == 0 || len > MAX_FRAME {
        return Err(bad(format!("a frame of {len} bytes")));
    }
    let mut bytes = vec![0u8; len];
    r.read_exact(&mut bytes)
        .map_err(|e| Error::Executor(format!("reading: {e}")))?;
    let tag = bytes[0];
    bytes.remove(0);
    Ok(Some(In::new(tag, bytes)))
}

/// Sends `bytes` with one descriptor attached (`SCM_RIGHTS`, with the first
/// byte); the rest of a partial send follows as plain writes.
pub fn send_with_fd(sock: RawFd, bytes: &[u8], fd: RawFd) -> std::io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    // SAFETY: a zeroed msghdr is valid; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: the control buffer has room for one header with one descriptor
    // (CMSG_SPACE above), so CMSG_FIRSTHDR is non-null and CMSG_DATA in bounds.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), fd);
    }
    let sent = loop {
        // SAFETY: `msg` points at live buffers (above).
        let n = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            break n as usize;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    send_all(sock, &bytes[sent..])
}

/// Sends all of `bytes` on `sock` with plain `send` calls (no allocation: the
/// executor's signal handlers use it too). A peer gone is an error, never
/// `SIGPIPE`.
pub fn send_all(sock: RawFd, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: sending from a live slice on our socket.
        let n = unsafe { libc::send(sock, bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// Receives into `buf`, collecting descriptors that arrive (`SCM_RIGHTS`).
pub fn recv_with_fds(sock: RawFd, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> std::io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = [0u64; 16];
    // SAFETY: a zeroed msghdr is valid; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    let n = loop {
        // SAFETY: `msg` points at live buffers (above).
        let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    // SAFETY: walking the control messages the kernel wrote into `control`.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c).cast::<RawFd>();
                let header = libc::CMSG_LEN(0) as usize;
                let count = ((*c).cmsg_len as usize).saturating_sub(header) / 4;
                for i in 0..count {
                    let fd = std::ptr::read_unaligned(data.add(i));
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(n)
}

/// What the executor said about itself when it started.
#[derive(Clone, Copy, Debug)]
pub struct Hello {
    pub arch: Arch,
    pub pid: u32,
    pub page: u64,
    /// Its trap handler (`trap[i]` stubs jump there with the slot's address).
    pub trap_handler: u64,
    /// Its TLS descriptor resolver (`runtime/tls.rs`).
    pub tlsdesc_resolver: u64,
}

struct Conn {
    sock: UnixStream,
    /// Requests without an answer, sent with the next one that has one.
    queued: Vec<u8>,
    child: Option<Child>,
    ended: Option<Ended>,
    /// Round trips made (statistics).
    round_trips: u64,
    /// The last handle given to a registration.
    next_handle: u64,
    /// Thread-local modules made static there: their thread-pointer offsets.
    tls_static: std::collections::HashMap<u64, i64>,
    /// The thread-local variables its libraries export (asked once, and again
    /// after a library is opened there).
    library_tls: Option<std::sync::Arc<crate::memory::process::ThreadLocalNames>>,
    /// The executor's `Hello`, once read.
    hello: Option<Hello>,
}

/// The linker's end of an executor: a connection and the child process.
pub struct Remote {
    conn: Mutex<Conn>,
    arch: Arch,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Remote({:?})", self.arch)
    }
}

impl Remote {
    /// Starts `command` (words; `self` for this program's own `relink
    /// executor`) with one end of a socket as its standard input, and reads its
    /// `Hello`.
    pub fn spawn(command: &str) -> Result<Remote> {
        let words: Vec<String> = if command.trim() == "self" {
            let exe = std::env::current_exe()
                .map_err(|e| Error::Executor(format!("finding this program: {e}")))?;
            vec![exe.display().to_string(), "executor".into()]
        } else {
            command.split_whitespace().map(String::from).collect()
        };
        let Some((program, args)) = words.split_first() else {
            return Err(Error::Executor("the executor command is empty".into()));
        };
        let (ours, theirs) = UnixStream::pair()
            .map_err(|e| Error::Executor(format!("making a socket pair: {e}")))?;
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::from(OwnedFd::from(theirs)));
        if program.contains("qemu-") {
            // The executor must help qemu-user notice patched code (see
            // `memory::qemu_user`).
            cmd.env("RELINK_QEMU_USER", "1");
        }
        let child = cmd
            .spawn()
            .map_err(|e| Error::Executor(format!("starting `{command}`: {e}")))?;
        let known = (command.trim() == "self").then_some(Arch::HOST).flatten();
        Remote::connect(ours, Some(child), known)
    }

    /// Speaks to an executor over `sock` (its child, if this process started
    /// it). `arch`: the executor's architecture when it is known without asking
    /// (this program's own `relink executor`); its `Hello` is then read only
    /// when first needed, so that the executor starts while the linker reads
    /// and parses its first objects. Otherwise the `Hello` is read now.
    pub fn connect(sock: UnixStream, child: Option<Child>, arch: Option<Arch>) -> Result<Remote> {
        let mut conn = Conn {
            sock,
            queued: Vec::new(),
            child,
            ended: None,
            round_trips: 0,
            next_handle: 0,
            tls_static: Default::default(),
            library_tls: None,
            hello: None,
        };
        // The program's standard input is ours, not the socket.
        let stdin = Out::new(tag::STDIN).finish();
        send_with_fd(conn.sock.as_raw_fd(), &stdin, 0)
            .map_err(|e| Error::Executor(format!("sending standard input: {e}")))?;
        let arch = match arch {
            Some(arch) => arch,
            None => conn.hello()?.arch,
        };
        Ok(Remote {
            conn: Mutex::new(conn),
            arch,
        })
    }

    /// The executor's architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// What the executor said about itself (read at first need); an executor
    /// that did not start answers zeros, and its next request fails.
    pub fn hello(&self) -> Hello {
        let mut c = self.conn();
        c.hello().unwrap_or(Hello {
            arch: self.arch,
            pid: c.child.as_ref().map_or(0, |c| c.id()),
            page: super::page_size(),
            trap_handler: 0,
            tlsdesc_resolver: 0,
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Conn> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A handle for a registration made there (never 0), chosen here so that
    /// registering needs no answer.
    fn next_handle(&self) -> u64 {
        let mut c = self.conn();
        c.next_handle += 1;
        c.next_handle
    }

    /// Queues a request that has no answer.
    pub fn post(&self, frame: Out) {
        let mut c = self.conn();
        if c.ended.is_none() {
            c.queued.extend_from_slice(&frame.finish());
        }
    }

    /// Sends what is queued and `frame`, and reads the answer.
    pub fn request(&self, frame: Out) -> Result<In> {
        self.conn().request(frame.finish(), None)
    }

    /// As [`Remote::request`], with a descriptor attached.
    pub fn request_with_fd(&self, frame: Out, fd: RawFd) -> Result<In> {
        self.conn().request(frame.finish(), Some(fd))
    }

    /// Answer `Ok`, or the executor's error.
    pub fn request_ok(&self, frame: Out) -> Result<()> {
        let a = self.request(frame)?;
        expect(a, tag::OK).map(|_| ())
    }

    /// Answer `Value(v)`.
    pub fn request_value(&self, frame: Out) -> Result<u64> {
        let mut a = expect(self.request(frame)?, tag::VALUE)?;
        a.u64()
    }

    /// Round trips made so far.
    pub fn round_trips(&self) -> u64 {
        self.conn().round_trips
    }

    /// Reserves `size` bytes of the memfd `fd` in the executor, placed as
    /// `placement` says; the target address.
    pub fn reserve(&self, fd: RawFd, size: u64, placement: Placement) -> Result<u64> {
        let p = match placement {
            Placement::Auto | Placement::Anywhere => 0,
            Placement::Low => 1,
            Placement::NearProcess => 2,
        };
        let frame = Out::new(tag::RESERVE).u64(size).u8(p);
        let mut a = expect(self.request_with_fd(frame, fd)?, tag::VALUE)?;
        a.u64()
    }

    pub fn protect(&self, base: u64, offset: u64, len: u64, class: Class, no_exec: bool) {
        let c = match class {
            Class::Code if no_exec => 1,
            Class::Code => 0,
            Class::ReadOnly => 1,
            Class::Data | Class::Zero => 2,
        };
        self.post(Out::new(tag::PROTECT).u64(base).u64(offset).u64(len).u8(c));
    }

    /// Makes `[offset, offset + len)` of the target view inaccessible.
    pub fn protect_none(&self, base: u64, offset: u64, len: u64) {
        self.post(Out::new(tag::PROTECT).u64(base).u64(offset).u64(len).u8(3));
    }

    pub fn code_written(&self, target: u64, len: u64, reused: bool) {
        self.post(Out::new(tag::CODE_WRITTEN).u64(target).u64(len).u8(reused as u8));
    }

    pub fn release(&self, base: u64) {
        self.post(Out::new(tag::RELEASE).u64(base));
    }

    /// Looks names up in the executor's process.
    pub fn lookup_many(&self, names: &[&str]) -> Result<Vec<Option<ProcessSymbol>>> {
        let mut frame = Out::new(tag::LOOKUP).u32(names.len() as u32);
        for n in names {
            frame = frame.str(n);
        }
        let mut a = expect(self.request(frame)?, tag::SYMBOLS)?;
        let n = a.u32()? as usize;
        if n != names.len() {
            return Err(bad(format!("{n} answers to {} look-ups", names.len())));
        }
        (0..n)
            .map(|_| {
                let found = a.u8()?;
                let address = a.u64()?;
                let size = a.u64()?;
                let function = a.u8()? != 0;
                Ok((found != 0).then_some(ProcessSymbol {
                    address,
                    size,
                    function,
                }))
            })
            .collect()
    }

    /// One name; an executor that is gone finds nothing.
    pub fn lookup(&self, name: &str) -> Option<ProcessSymbol> {
        self.lookup_many(&[name]).ok().and_then(|v| v.into_iter().next().flatten())
    }

    /// `dlopen` there (`RTLD_NOW | RTLD_GLOBAL`).
    pub fn load_library(&self, name: &str) -> Result<()> {
        self.conn().library_tls = None;
        self.request_ok(Out::new(tag::LOAD_LIBRARY).str(name))
    }

    /// Calls a `void (*)(void)` there.
    pub fn call(&self, f: u64) -> Result<()> {
        self.request_ok(Out::new(tag::CALL).u64(f))
    }

    /// Calls an IFUNC resolver there.
    pub fn call_resolver(&self, f: u64) -> Result<u64> {
        self.request_value(Out::new(tag::RESOLVER).u64(f))
    }

    pub fn cxa_finalize(&self, handle: u64) -> Result<()> {
        self.request_ok(Out::new(tag::CXA_FINALIZE).u64(handle))
    }

    /// Registers an unwind section there (posted, no answer awaited): the
    /// handle to deregister it with, chosen here.
    pub fn register_frames(&self, section: u64, fdes: &[u64]) -> u64 {
        let handle = self.next_handle();
        let mut frame = Out::new(tag::REGISTER_FRAMES)
            .u64(handle)
            .u64(section)
            .u32(fdes.len() as u32);
        for f in fdes {
            frame = frame.u64(*f);
        }
        self.post(frame);
        handle
    }

    pub fn deregister_frames(&self, handle: u64) {
        self.post(Out::new(tag::DEREGISTER_FRAMES).u64(handle));
    }

    /// Registers a thread-local module there (`runtime::tls::register`): its id.
    pub fn tls_register(&self, image: u64, init_len: u64, size: u64, align: u64) -> Option<u64> {
        let frame = Out::new(tag::TLS_REGISTER)
            .u64(image)
            .u64(init_len)
            .u64(size)
            .u64(align);
        self.request_value(frame).ok().filter(|id| *id != 0)
    }

    pub fn tls_unregister(&self, id: u64) {
        self.conn().tls_static.remove(&id);
        self.post(Out::new(tag::TLS_UNREGISTER).u64(id));
    }

    /// Makes module `id` static TLS there (`runtime::tls::make_static`).
    pub fn tls_make_static(&self, id: u64, image: &[u8]) -> std::result::Result<i64, String> {
        if let Some(offset) = self.tls_static_offset(id) {
            return Ok(offset);
        }
        let mut frame = Out::new(tag::TLS_MAKE_STATIC)
            .u64(id)
            .u32(image.len() as u32);
        frame.0.extend_from_slice(image);
        match self.request_value(frame) {
            Ok(v) => {
                self.conn().tls_static.insert(id, v as i64);
                Ok(v as i64)
            }
            Err(Error::Executor(why)) => Err(why),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The thread-pointer offset of module `id` if it was made static there.
    pub fn tls_static_offset(&self, id: u64) -> Option<i64> {
        self.conn().tls_static.get(&id).copied()
    }

    /// `(module, offset)` of a library's thread-local `name` there
    /// (`runtime::process_tls::variable`).
    pub fn tls_process_variable(&self, name: &str) -> std::result::Result<(u64, u64), String> {
        let answer = self.request(Out::new(tag::TLS_PROCESS_VARIABLE).str(name));
        let mut a = match answer.and_then(|a| expect(a, tag::VALUE)) {
            Ok(a) => a,
            Err(Error::Executor(why)) => return Err(why),
            Err(e) => return Err(e.to_string()),
        };
        let module = a.u64().map_err(|e| e.to_string())?;
        let offset = a.u64().map_err(|e| e.to_string())?;
        Ok((module, offset))
    }

    /// The thread-pointer offset of a library's thread-local `name` there.
    pub fn tls_thread_pointer_offset(&self, name: &str) -> std::result::Result<i64, String> {
        match self.request_value(Out::new(tag::TLS_TP_OFFSET).str(name)) {
            Ok(v) => Ok(v as i64),
            Err(Error::Executor(why)) => Err(why),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The thread-local variables the executor's libraries export: asked for
    /// once (and again after `load_library`).
    pub fn library_thread_locals(&self) -> std::sync::Arc<crate::memory::process::ThreadLocalNames> {
        if let Some(names) = &self.conn().library_tls {
            return names.clone();
        }
        let names = std::sync::Arc::new(self.ask_library_thread_locals().unwrap_or_default());
        self.conn().library_tls = Some(names.clone());
        names
    }

    fn ask_library_thread_locals(&self) -> Result<crate::memory::process::ThreadLocalNames> {
        let mut a = expect(self.request(Out::new(tag::TLS_LIBRARY_NAMES))?, tag::SYMBOLS)?;
        let n = a.u32()? as usize;
        (0..n).map(|_| a.str()).collect()
    }

    /// Hands an object's ELF image to the debugger there (the GDB JIT
    /// interface, posted): the handle to take it back with.
    pub fn gdb_register(&self, image: &[u8]) -> u64 {
        let handle = self.next_handle();
        let mut frame = Out::new(tag::GDB_REGISTER)
            .u64(handle)
            .u32(image.len() as u32);
        frame.0.extend_from_slice(image);
        self.post(frame);
        handle
    }

    pub fn gdb_deregister(&self, handle: u64) {
        self.post(Out::new(tag::GDB_DEREGISTER).u64(handle));
    }

    /// Makes the code of the region at `base` debuggable there (breakpoints
    /// can be written into it: `Region::make_debuggable`).
    pub fn make_debuggable(&self, base: u64) {
        self.post(Out::new(tag::DEBUGGABLE).u64(base));
    }

    /// Copies process variables into reach there (`memory::copies::make`):
    /// the copies, or the index of the first that cannot be copied and why.
    pub fn make_copies(
        &self,
        wanted: &[(&str, ProcessSymbol)],
    ) -> std::result::Result<Vec<ProcessSymbol>, (usize, String)> {
        let mut frame = Out::new(tag::COPIES).u32(wanted.len() as u32);
        for (name, s) in wanted {
            frame = frame.str(name).u64(s.address).u64(s.size).u8(s.function as u8);
        }
        let answer = self.request(frame);
        let mut a = match answer {
            Ok(a) if a.tag == tag::SYMBOLS => a,
            Ok(mut a) if a.tag == tag::ERROR => {
                let why = a.str().unwrap_or_default();
                let (i, why) = why.split_once('\t').unwrap_or(("0", &why));
                return Err((i.parse().unwrap_or(0), why.to_string()));
            }
            Ok(a) => return Err((0, format!("unexpected answer {}", a.tag))),
            Err(e) => return Err((0, e.to_string())),
        };
        let n = a.u32().map_err(|e| (0, e.to_string()))? as usize;
        (0..n)
            .map(|_| {
                let read = |a: &mut In| -> Result<ProcessSymbol> {
                    a.u8()?;
                    Ok(ProcessSymbol {
                        address: a.u64()?,
                        size: a.u64()?,
                        function: a.u8()? != 0,
                    })
                };
                read(&mut a).map_err(|e| (0, e.to_string()))
            })
            .collect()
    }

    /// Calls `f(args…)` (at most six integer arguments) there; its result.
    pub fn call_with(&self, f: u64, args: &[u64]) -> Result<u64> {
        let mut frame = Out::new(tag::CALL_ARGS).u64(f).u32(args.len() as u32);
        for a in args {
            frame = frame.u64(*a);
        }
        self.request_value(frame)
    }

    /// Calls `entry(argc, argv, envp)` there and returns its status (the
    /// executor goes on serving: `relink watch` calls its entry repeatedly).
    pub fn call_main(&self, entry: u64, argv: &[String]) -> Result<i32> {
        let mut frame = Out::new(tag::CALL_MAIN).u64(entry).u32(argv.len() as u32);
        for a in argv {
            frame = frame.str(a);
        }
        self.request_value(frame).map(|v| v as i32)
    }

    /// Runs `main(argc, argv, envp)` there with this process's environment,
    /// then `exit` with its status, running `at_exit` after the program's own
    /// exit handlers. Returns how the executor ended.
    pub fn run_main(&self, main: u64, argv: &[String], at_exit: &[AtExit]) -> Ended {
        let mut frame = Out::new(tag::RUN_MAIN).u64(main).u32(argv.len() as u32);
        for a in argv {
            frame = frame.str(a);
        }
        frame = frame.u32(at_exit.len() as u32);
        for a in at_exit {
            frame = match *a {
                AtExit::Finalize(h) => frame.u8(0).u64(h),
                AtExit::Call(f) => frame.u8(1).u64(f),
            };
        }
        let mut c = self.conn();
        match c.request(frame.finish(), None) {
            Ok(_) | Err(_) => c.ended.clone().unwrap_or_else(|| c.finish()),
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        let mut c = self.conn();
        if c.ended.is_none() {
            // What is queued (deregistrations, releases) goes first.
            let queued = std::mem::take(&mut c.queued);
            let _ = c.sock.write_all(&queued);
            let _ = c.sock.shutdown(std::net::Shutdown::Write);
            c.finish();
        }
    }
}

/// The answer, if it has `want`'s tag; the executor's error otherwise.
fn expect(mut a: In, want: u8) -> Result<In> {
    if a.tag == want {
        return Ok(a);
    }
    if a.tag == tag::ERROR {
        return Err(Error::Executor(a.str()?));
    }
    Err(bad(format!("expected message {want}, got {}", a.tag)))
}

impl Conn {
    /// The executor's `Hello`, read now if it was not yet.
    fn hello(&mut self) -> Result<Hello> {
        if let Some(h) = self.hello {
            return Ok(h);
        }
        if let Some(e) = &self.ended {
            return Err(Error::ExecutorEnded(e.clone()));
        }
        let mut hello = self.answer()?;
        if hello.tag != tag::HELLO {
            return Err(bad(format!("expected hello, got message {}", hello.tag)));
        }
        let version = hello.u32()?;
        if version != VERSION {
            return Err(Error::Executor(format!(
                "the executor speaks protocol {version}, this linker {VERSION}"
            )));
        }
        let arch = match hello.u8()? {
            0 => Arch::X86_64,
            1 => Arch::Aarch64,
            a => return Err(bad(format!("unknown architecture {a}"))),
        };
        let hello = Hello {
            arch,
            pid: hello.u32()?,
            page: hello.u64()?,
            trap_handler: hello.u64()?,
            tlsdesc_resolver: hello.u64()?,
        };
        self.hello = Some(hello);
        Ok(hello)
    }

    fn request(&mut self, frame: Vec<u8>, fd: Option<RawFd>) -> Result<In> {
        if let Some(e) = &self.ended {
            return Err(Error::ExecutorEnded(e.clone()));
        }
        self.hello()?;
        let mut bytes = std::mem::take(&mut self.queued);
        let sent = match fd {
            Some(fd) => {
                let flushed = self.sock.write_all(&bytes);
                flushed.and_then(|()| send_with_fd(self.sock.as_raw_fd(), &frame, fd))
            }
            None => {
                bytes.extend_from_slice(&frame);
                self.sock.write_all(&bytes)
            }
        };
        bytes.clear();
        self.queued = bytes;
        self.round_trips += 1;
        if sent.is_err() {
            // It is gone: what it said last, then its status.
            let ended = self.finish();
            return Err(Error::ExecutorEnded(ended));
        }
        self.answer()
    }

    /// The next answer; a fault or trap report is kept and the end awaited.
    fn answer(&mut self) -> Result<In> {
        loop {
            let frame = match read_frame(&mut self.sock) {
                Ok(Some(f)) => f,
                Ok(None) | Err(_) => {
                    let ended = self.finish();
                    return Err(Error::ExecutorEnded(ended));
                }
            };
            match frame.tag {
                tag::FAULT | tag::TRAP => self.report(frame),
                _ => return Ok(frame),
            }
        }
    }

    fn report(&mut self, mut f: In) {
        let ended = self.ended.get_or_insert_with(Ended::default);
        if f.tag == tag::FAULT {
            if let (Ok(s), Ok(a), Ok(pc)) = (f.u64(), f.u64(), f.u64()) {
                ended.fault = Some((s as i32, a, pc));
            }
        } else if let Ok(slot) = f.u64() {
            ended.trap = Some(slot);
        }
    }

    /// Reads what is left (reports), waits for the child, and records the end.
    fn finish(&mut self) -> Ended {
        loop {
            match read_frame(&mut self.sock) {
                Ok(Some(f)) if f.tag == tag::FAULT || f.tag == tag::TRAP => self.report(f),
                Ok(Some(_)) => continue,
                _ => break,
            }
        }
        let mut ended = self.ended.take().unwrap_or_default();
        if let Some(child) = &mut self.child {
            if let Ok(status) = child.wait() {
                use std::os::unix::process::ExitStatusExt;
                ended.signal = status.signal();
                ended.status = status.code();
            }
        }
        self.ended = Some(ended.clone());
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame reads back as written; a truncated or oversized one is an
    /// error, never a panic or an out-of-bounds read.
    #[test]
    fn frames_round_trip_and_bad_ones_are_errors() {
        let bytes = Out::new(tag::LOOKUP).u32(2).str("puts").u64(7).u8(1).finish();
        let mut f = read_frame(&mut &bytes[..]).unwrap().unwrap();
        assert_eq!(f.tag, tag::LOOKUP);
        assert_eq!(f.u32().unwrap(), 2);
        assert_eq!(f.str().unwrap(), "puts");
        assert_eq!(f.u64().unwrap(), 7);
        assert_eq!(f.u8().unwrap(), 1);
        assert!(f.u8().is_err(), "past the end");
        // A string whose length runs past the frame.
        let lying = Out::new(tag::LOOKUP).u32(1000).finish();
        let mut f = read_frame(&mut &lying[..]).unwrap().unwrap();
        assert!(f.str().is_err());
        // The stream ends inside a frame, or announces one too large.
        assert!(read_frame(&mut &bytes[..bytes.len() - 1]).is_err());
        let huge = ((MAX_FRAME + 1) as u32).to_le_bytes();
        assert!(read_frame(&mut &huge[..]).is_err());
        assert!(read_frame(&mut &[][..]).unwrap().is_none(), "a clean end");
    }
}
