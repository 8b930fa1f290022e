//! `relink executor`: the process where a linker's code runs (the protocol is
//! `memory/remote.rs`'s). It links nothing. It maps the memfd each `Reserve`
//! brings as the target view (a [`Region`] adopted, so fork handling and code
//! coherence — qemu-user's translations included — work as in process),
//! changes protections, looks names up and opens libraries in its own
//! process, calls constructors, resolvers, destructors and entry points,
//! registers unwind tables with its unwinder, and reports how it ended: a
//! fault in loaded code (signal, address, pc) or a call through a trap stub is
//! sent to the linker just before the process dies of it.

use std::collections::{HashMap, VecDeque};
use std::ffi::{c_char, c_int, CString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

use crate::arch::Arch;
use crate::error::{Error, Result};
use crate::input::Class;
use crate::memory::remote::{self, tag, AtExit, In, Out};
use crate::memory::{Placement, Region};
use crate::runtime;

/// The socket to the linker, for the fault and trap reports.
static SOCKET: AtomicI32 = AtomicI32::new(-1);

/// What runs at exit after the program's own handlers (`RunMain`).
static AT_EXIT: Mutex<Vec<AtExit>> = Mutex::new(Vec::new());

/// Serves the linker on standard input until it closes; the exit status.
pub fn serve() -> i32 {
    // The socket moves off standard input, which the linker's replaces.
    // SAFETY: duplicating our own descriptor 0.
    let sock = unsafe { libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3) };
    if sock < 0 {
        eprintln!("relink executor: standard input is not usable");
        return 2;
    }
    SOCKET.store(sock, Ordering::Relaxed);
    // SAFETY: ignoring SIGPIPE (a linker gone is seen as a failed write) and
    // registering a plain function with atexit, before any loaded constructor
    // registers its own exit handlers: ours then runs after theirs, where
    // `_dl_fini` runs a program's destructors.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::atexit(run_at_exit);
    }
    install_fault_handlers();
    let mut server = Server {
        sock,
        buf: Vec::new(),
        at: 0,
        fds: VecDeque::new(),
        regions: HashMap::new(),
        frames: HashMap::new(),
        debug: HashMap::new(),
        failed: None,
    };
    let arch = match Arch::HOST {
        Some(Arch::X86_64) => 0,
        Some(Arch::Aarch64) => 1,
        None => {
            eprintln!("relink executor: unsupported architecture");
            return 2;
        }
    };
    let hello = Out::new(tag::HELLO)
        .u32(remote::VERSION)
        .u8(arch)
        .u32(std::process::id())
        .u64(crate::memory::page_size())
        .u64(trap_handler as extern "C" fn(u64) -> ! as usize as u64)
        .u64(runtime::tls::tlsdesc_resolver_address());
    if server.send(hello).is_err() {
        return 2;
    }
    loop {
        match server.next() {
            Ok(Some(frame)) => {
                if let Err(e) = server.handle(frame) {
                    eprintln!("relink executor: {e}");
                    return 2;
                }
            }
            Ok(None) => break,
            Err(e) => {
                eprintln!("relink executor: {e}");
                return 2;
            }
        }
    }
    // The linker closed its end. Unwind tables are deregistered while the
    // memory they describe is still mapped, then the regions go.
    server.frames.clear();
    server.debug.clear();
    server.regions.clear();
    // What loaded code printed goes out now.
    // SAFETY: fflush(NULL) flushes every C stream.
    unsafe { libc::fflush(std::ptr::null_mut()) };
    0
}

struct Server {
    sock: RawFd,
    buf: Vec<u8>,
    /// Where the next frame starts in `buf`.
    at: usize,
    /// Descriptors received, for the frames that take one, in order.
    fds: VecDeque<OwnedFd>,
    regions: HashMap<u64, Region>,
    frames: HashMap<u64, runtime::unwind::Registration>,
    /// Objects handed to the debugger (GDB JIT interface), by handle.
    debug: HashMap<u64, runtime::gdb::Registration>,
    /// The first failure of a request without an answer, given with the next
    /// answer.
    failed: Option<String>,
}

impl Server {
    fn send(&mut self, frame: Out) -> std::io::Result<()> {
        let bytes = frame.finish();
        remote::send_all(self.sock, &bytes)
    }

    /// The answer to a request, or the failure of one before it.
    fn answer(&mut self, frame: Out) -> std::io::Result<()> {
        match self.failed.take() {
            Some(e) => self.send(Out::new(tag::ERROR).str(&e)),
            None => self.send(frame),
        }
    }

    fn error(&mut self, what: String) -> std::io::Result<()> {
        self.failed = None;
        self.send(Out::new(tag::ERROR).str(&what))
    }

    /// The next frame; `None` when the linker has closed its end.
    fn next(&mut self) -> Result<Option<In>> {
        loop {
            let b = &self.buf[self.at..];
            if b.len() >= 4 {
                let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
                if len == 0 || len > remote::MAX_FRAME {
                    return Err(Error::Executor(format!("a frame of {len} bytes")));
                }
                if b.len() >= 4 + len {
                    let frame = In::new(b[4], b[5..4 + len].to_vec());
                    // A cursor, not a drain: a batch of posted frames is read
                    // without moving the rest of the buffer each time.
                    self.at += 4 + len;
                    return Ok(Some(frame));
                }
            }
            self.buf.drain(..self.at);
            self.at = 0;
            let mut chunk = [0u8; 64 << 10];
            let mut fds = Vec::new();
            let n = remote::recv_with_fds(self.sock, &mut chunk, &mut fds)
                .map_err(|e| Error::Executor(format!("reading: {e}")))?;
            self.fds.extend(fds);
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn region_at(&mut self, target: u64) -> Option<&mut Region> {
        (self.regions.values_mut())
            .find(|r| target >= r.target_base() && target - r.target_base() < r.size())
    }

    fn handle(&mut self, mut f: In) -> Result<()> {
        let io = |e: std::io::Error| Error::Executor(format!("writing: {e}"));
        match f.tag {
            tag::STDIN => {
                if let Some(fd) = self.fds.pop_front() {
                    // SAFETY: replacing our standard input with the linker's.
                    unsafe { libc::dup2(fd.as_raw_fd(), 0) };
                }
            }
            tag::RESERVE => {
                let size = f.u64()?;
                let placement = match f.u8()? {
                    1 => Placement::Low,
                    2 => Placement::NearProcess,
                    _ => Placement::Anywhere,
                };
                let Some(fd) = self.fds.pop_front() else {
                    return self
                        .error("reserve: no memfd came with it".into())
                        .map_err(io);
                };
                match Region::adopt(fd, size, placement) {
                    Ok(region) => {
                        let base = region.target_base();
                        self.regions.insert(base, region);
                        self.answer(Out::new(tag::VALUE).u64(base)).map_err(io)?;
                    }
                    Err(e) => self.error(e.to_string()).map_err(io)?,
                }
            }
            tag::PROTECT => {
                let (base, offset, len, class) = (f.u64()?, f.u64()?, f.u64()?, f.u8()?);
                let done = match self.regions.get_mut(&base) {
                    Some(r) => match class {
                        0 => r.protect(offset, len, Class::Code).is_ok(),
                        1 => r.protect(offset, len, Class::ReadOnly).is_ok(),
                        2 => r.protect(offset, len, Class::Data).is_ok(),
                        _ => r.protect_none(offset, len),
                    },
                    None => false,
                };
                if !done && self.failed.is_none() {
                    self.failed = Some(format!(
                        "protecting {len} bytes at offset {offset:#x} of the region at {base:#x} failed"
                    ));
                }
            }
            tag::CODE_WRITTEN => {
                let (target, len, reused) = (f.u64()?, f.u64()?, f.u8()? != 0);
                if let Some(r) = self.region_at(target) {
                    r.code_written(target, len, reused);
                }
            }
            tag::RELEASE => {
                let base = f.u64()?;
                self.regions.remove(&base);
            }
            tag::LOOKUP => {
                let n = f.u32()? as usize;
                let mut out = Out::new(tag::SYMBOLS).u32(n as u32);
                for _ in 0..n {
                    let name = f.str()?;
                    out = match crate::symbols::dlsym(&name) {
                        Some(s) => out.u8(1).u64(s.address).u64(s.size).u8(s.function as u8),
                        None => out.u8(0).u64(0).u64(0).u8(0),
                    };
                }
                self.answer(out).map_err(io)?;
            }
            tag::LOAD_LIBRARY => {
                let name = f.str()?;
                match crate::linker::libraries::open(&name) {
                    Ok(()) => self.answer(Out::new(tag::OK)).map_err(io)?,
                    Err(Error::Library { reason, .. }) => self.error(reason).map_err(io)?,
                    Err(e) => self.error(e.to_string()).map_err(io)?,
                }
            }
            tag::CALL => {
                runtime::call(f.u64()?);
                self.answer(Out::new(tag::OK)).map_err(io)?;
            }
            tag::RESOLVER => {
                let address = runtime::call_resolver(f.u64()?);
                self.answer(Out::new(tag::VALUE).u64(address)).map_err(io)?;
            }
            tag::CXA_FINALIZE => {
                runtime::cxa_finalize(f.u64()?);
                self.answer(Out::new(tag::OK)).map_err(io)?;
            }
            tag::REGISTER_FRAMES => {
                let handle = f.u64()?;
                let section = f.u64()?;
                let n = f.u32()? as usize;
                let fdes = (0..n).map(|_| f.u64()).collect::<Result<Vec<u64>>>()?;
                let frames = runtime::unwind::Frames::from_parts(section, fdes);
                if let Some(r) = runtime::unwind::register(frames) {
                    self.frames.insert(handle, r);
                }
            }
            tag::DEREGISTER_FRAMES => {
                self.frames.remove(&f.u64()?);
            }
            tag::CALL_ARGS => {
                let address = f.u64()?;
                let n = (f.u32()? as usize).min(6);
                let mut a = [0u64; 6];
                for x in a.iter_mut().take(n) {
                    *x = f.u64()?;
                }
                type F6 = extern "C" fn(u64, u64, u64, u64, u64, u64) -> u64;
                // SAFETY: the linker's caller promised an integer function of at
                // most six integer arguments (`Linker::call`).
                let g: F6 = unsafe { std::mem::transmute(address as usize) };
                let v = g(a[0], a[1], a[2], a[3], a[4], a[5]);
                self.answer(Out::new(tag::VALUE).u64(v)).map_err(io)?;
            }
            tag::RUN_MAIN => {
                let main = f.u64()?;
                let n = f.u32()? as usize;
                let args = (0..n).map(|_| f.str()).collect::<Result<Vec<String>>>()?;
                let m = f.u32()? as usize;
                let mut at_exit = Vec::with_capacity(m);
                for _ in 0..m {
                    at_exit.push(match f.u8()? {
                        0 => AtExit::Finalize(f.u64()?),
                        _ => AtExit::Call(f.u64()?),
                    });
                }
                *AT_EXIT.lock().unwrap_or_else(|p| p.into_inner()) = at_exit;
                let status = run_main(main, &args);
                // SAFETY: exit as the program's `main` returning would: its
                // exit handlers, then ours (the loaded objects' destructors).
                unsafe { libc::exit(status) };
            }
            tag::CALL_MAIN => {
                let entry = f.u64()?;
                let n = f.u32()? as usize;
                let args = (0..n).map(|_| f.str()).collect::<Result<Vec<String>>>()?;
                let status = run_main(entry, &args);
                // What it printed goes out before the linker looks.
                // SAFETY: fflush(NULL) flushes every C stream.
                unsafe { libc::fflush(std::ptr::null_mut()) };
                self.answer(Out::new(tag::VALUE).u64(status as u32 as u64))
                    .map_err(io)?;
            }
            tag::TLS_REGISTER => {
                let template = runtime::tls::Template {
                    image: f.u64()?,
                    init_len: f.u64()?,
                    size: f.u64()?,
                    align: f.u64()?,
                };
                let id = runtime::tls::register(template).unwrap_or(0);
                self.answer(Out::new(tag::VALUE).u64(id)).map_err(io)?;
            }
            tag::TLS_UNREGISTER => runtime::tls::unregister(f.u64()?),
            tag::TLS_MAKE_STATIC => {
                let id = f.u64()?;
                let n = f.u32()? as usize;
                let image: Vec<u8> = (0..n).map(|_| f.u8()).collect::<Result<_>>()?;
                match runtime::tls::make_static(id, &image) {
                    Ok(offset) => self.answer(Out::new(tag::VALUE).u64(offset as u64)),
                    Err(why) => self.error(why),
                }
                .map_err(io)?;
            }
            tag::TLS_PROCESS_VARIABLE => {
                let name = f.str()?;
                match runtime::process_tls::variable(&name) {
                    Ok(v) => self.answer(Out::new(tag::VALUE).u64(v.module).u64(v.offset)),
                    Err(why) => self.error(why),
                }
                .map_err(io)?;
            }
            tag::TLS_TP_OFFSET => {
                let name = f.str()?;
                match runtime::process_tls::thread_pointer_offset(&name) {
                    Ok(tp) => self.answer(Out::new(tag::VALUE).u64(tp as u64)),
                    Err(why) => self.error(why),
                }
                .map_err(io)?;
            }
            tag::TLS_LIBRARY_NAMES => {
                let names = crate::memory::process::library_thread_locals();
                let mut out = Out::new(tag::SYMBOLS).u32(names.len() as u32);
                for n in names.iter() {
                    out = out.str(n);
                }
                self.answer(out).map_err(io)?;
            }
            tag::COPIES => {
                let n = f.u32()? as usize;
                let mut wanted = Vec::with_capacity(n);
                for _ in 0..n {
                    let name = f.str()?;
                    let symbol = crate::memory::process::ProcessSymbol {
                        address: f.u64()?,
                        size: f.u64()?,
                        function: f.u8()? != 0,
                    };
                    wanted.push((name, symbol));
                }
                let wanted: Vec<(&str, _)> = wanted.iter().map(|(n, s)| (n.as_str(), *s)).collect();
                match crate::memory::copies::make(&wanted) {
                    Ok(copies) => {
                        let mut out = Out::new(tag::SYMBOLS).u32(copies.len() as u32);
                        for c in copies {
                            out = out.u8(1).u64(c.address).u64(c.size).u8(c.function as u8);
                        }
                        self.answer(out)
                    }
                    Err((i, why)) => self.error(format!("{i}\t{why}")),
                }
                .map_err(io)?;
            }
            tag::GDB_REGISTER => {
                let handle = f.u64()?;
                let n = f.u32()? as usize;
                let image: Vec<u8> = (0..n).map(|_| f.u8()).collect::<Result<_>>()?;
                self.debug.insert(handle, runtime::gdb::register(image));
            }
            tag::GDB_DEREGISTER => {
                self.debug.remove(&f.u64()?);
            }
            tag::DEBUGGABLE => {
                let base = f.u64()?;
                if !crate::memory::qemu_user() {
                    if let Some(r) = self.regions.get_mut(&base) {
                        if let Err(e) = r.make_debuggable() {
                            self.failed.get_or_insert(e.to_string());
                        }
                    }
                }
            }
            t => return Err(Error::Executor(format!("unknown request {t}"))),
        }
        Ok(())
    }
}

fn run_main(main: u64, args: &[String]) -> c_int {
    type Main = extern "C" fn(c_int, *const *const c_char, *const *const c_char) -> c_int;
    let c_args: Vec<CString> = (args.iter())
        .map(|a| CString::new(a.as_str()).unwrap_or_default())
        .collect();
    let mut argv: Vec<*const c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    extern "C" {
        static environ: *const *const c_char;
    }
    // SAFETY: the linker resolved `main` (or the entry it was asked for) in
    // loaded code, which takes (int, char **, char **) as C's `main` does;
    // `environ` is glibc's, always initialised.
    unsafe {
        let f: Main = std::mem::transmute(main as usize);
        f(c_args.len() as c_int, argv.as_ptr(), environ)
    }
}

/// The loaded objects' destructors, from C's `exit` (registered first, so it
/// runs after the program's own exit handlers).
extern "C" fn run_at_exit() {
    let list = std::mem::take(&mut *AT_EXIT.lock().unwrap_or_else(|p| p.into_inner()));
    for a in list {
        match a {
            AtExit::Finalize(handle) => runtime::cxa_finalize(handle),
            AtExit::Call(f) => runtime::call(f),
        }
    }
}

/// Writes a report frame with no allocation (from a signal handler).
fn report(tag: u8, words: &[u64]) {
    let mut frame = [0u8; 5 + 3 * 8];
    let len = 1 + 8 * words.len().min(3);
    frame[..4].copy_from_slice(&(len as u32).to_le_bytes());
    frame[4] = tag;
    for (i, w) in words.iter().take(3).enumerate() {
        frame[5 + 8 * i..13 + 8 * i].copy_from_slice(&w.to_le_bytes());
    }
    let fd = SOCKET.load(Ordering::Relaxed);
    if fd >= 0 {
        let _ = remote::send_all(fd, &frame[..4 + len]);
    }
}

/// Where every trap stub jumps in this process: tells the linker which slot
/// (it knows the name), then aborts as the in-process handler does.
extern "C" fn trap_handler(slot: u64) -> ! {
    report(tag::TRAP, &[slot]);
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        b"relink executor: call through an undefined or unloaded symbol (the linker names it)\n",
    );
    // SAFETY: restoring the default action, so that abort ends the process
    // without a second report.
    unsafe { libc::signal(libc::SIGABRT, libc::SIG_DFL) };
    std::process::abort()
}

/// Reports a fatal signal (and the faulting address and pc), then lets it
/// kill the process: the handler is reset, so the fault recurs with the
/// default action when the instruction runs again (or `raise` re-sends it).
extern "C" fn on_fault(signal: c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo and ucontext to an SA_SIGINFO
    // handler.
    let (address, pc) = unsafe { ((*info).si_addr() as u64, pc_of(context)) };
    report(tag::FAULT, &[signal as u64, address, pc]);
    if signal == libc::SIGABRT {
        // SAFETY: re-raising with the default action restored (SA_RESETHAND).
        unsafe { libc::raise(signal) };
    }
}

/// The interrupted program counter of a signal's context.
///
/// # Safety
/// `context` must be the `ucontext_t` an `SA_SIGINFO` handler received.
unsafe fn pc_of(context: *mut libc::c_void) -> u64 {
    let uc = context as *const libc::ucontext_t;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: per the function's contract.
    return unsafe { (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as u64 };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: per the function's contract.
    return unsafe { (*uc).uc_mcontext.pc };
    #[allow(unreachable_code)]
    {
        let _ = uc;
        0
    }
}

fn install_fault_handlers() {
    const STACK: usize = 64 << 10;
    let stack = Box::leak(vec![0u8; STACK].into_boxed_slice());
    let ss = libc::stack_t {
        ss_sp: stack.as_mut_ptr().cast(),
        ss_flags: 0,
        ss_size: STACK,
    };
    // SAFETY: an alternate stack that lives forever (leaked), and handlers
    // that only write to a socket (async-signal-safe) before the process dies.
    unsafe {
        libc::sigaltstack(&ss, std::ptr::null_mut());
        for signal in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGTRAP,
            libc::SIGABRT,
        ] {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESETHAND;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(signal, &sa, std::ptr::null_mut());
        }
    }
}
