//! Linking for another process: [`Executor`] (a running `relink executor`) and
//! what a [`Linker`] made with [`Linker::with_executor`] does differently —
//! calls and `main` run there, and how it ended comes back named by the
//! linker's symbols.

use std::sync::Arc;

use crate::error::{Ended, Error, Result};
use crate::linker::Linker;
use crate::memory::remote::Remote;
use crate::symbols::ObjectId;

/// A process that runs loaded code for a [`Linker`] (`relink executor`; see
/// the README's "Executors").
#[derive(Debug)]
pub struct Executor(pub(crate) Arc<Remote>);

impl Executor {
    /// Starts `command` and connects to it: `"self"` for this program's own
    /// `relink executor` (the `relink` binary, or the one named by
    /// `RELINK_EXECUTOR`), or the words of a command line, e.g.
    /// `"qemu-aarch64 -L /usr/aarch64-linux-gnu path/to/aarch64/relink executor"`.
    pub fn spawn(command: &str) -> Result<Executor> {
        let command = match (command.trim(), std::env::var("RELINK_EXECUTOR")) {
            ("self", Ok(program)) if !program.is_empty() => format!("{program} executor"),
            _ => command.to_string(),
        };
        Remote::spawn(&command).map(|r| Executor(Arc::new(r)))
    }

    /// The executor's process id.
    pub fn pid(&self) -> u32 {
        self.0.hello().pid
    }
}

/// How a program run by [`Linker::run_main`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `main` returned, or the program called `exit`: its status.
    Status(i32),
    /// The executor died: the signal, and what it reported, named.
    Crashed(Ended),
}

impl Linker {
    /// Calls the function `name` with up to six integer or pointer arguments
    /// and returns its integer result — in the executor when there is one,
    /// here otherwise. Pending constructors that are complete run first.
    ///
    /// # Safety
    /// `name` must be a function taking (at most) these integer arguments and
    /// returning an integer or nothing (the result is then meaningless).
    pub unsafe fn call(&mut self, name: &str, args: &[u64]) -> Result<u64> {
        if args.len() > 6 {
            return Err(Error::BadLookup {
                symbol: name.to_string(),
                reason: format!("{} arguments (at most 6)", args.len()),
            });
        }
        self.check_resolved()?;
        let address = self.address(name)? as u64;
        let Some(remote) = self.remote.clone() else {
            let mut a = [0u64; 6];
            a[..args.len()].copy_from_slice(args);
            type F6 = extern "C" fn(u64, u64, u64, u64, u64, u64) -> u64;
            // SAFETY: the caller promises an integer function of at most six
            // arguments; extra ones are ignored by the C calling convention.
            let f: F6 = unsafe { std::mem::transmute(address as usize) };
            return Ok(f(a[0], a[1], a[2], a[3], a[4], a[5]));
        };
        remote.call_with(address, args).map_err(|e| self.explain(e))
    }

    /// Calls `entry` as `main(argc, argv, envp)` and returns its status,
    /// where code runs (here, or in the executor, which goes on serving) —
    /// what `relink watch` does on every tick. Pending constructors that are
    /// complete run first.
    ///
    /// # Safety
    /// `entry` must take (int, char **, char **) (or fewer of them) and return int.
    pub unsafe fn call_main(&mut self, entry: &str, argv: &[String]) -> Result<i32> {
        self.check_resolved()?;
        let address = self.address(entry)? as u64;
        if let Some(remote) = self.remote.clone() {
            return remote.call_main(address, argv).map_err(|e| self.explain(e));
        }
        type Main = extern "C" fn(
            std::ffi::c_int,
            *const *const std::ffi::c_char,
            *const *const std::ffi::c_char,
        ) -> std::ffi::c_int;
        let c_args: Vec<std::ffi::CString> = (argv.iter())
            .map(|a| std::ffi::CString::new(a.as_str()).unwrap_or_default())
            .collect();
        let mut ptrs: Vec<*const std::ffi::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let envp: [*const std::ffi::c_char; 1] = [std::ptr::null()];
        // SAFETY: the caller promises `entry` has C's `main` signature.
        let f: Main = unsafe { std::mem::transmute(address as usize) };
        Ok(f(
            c_args.len() as std::ffi::c_int,
            ptrs.as_ptr(),
            envp.as_ptr(),
        ))
    }

    /// Runs `entry` as `main(argc, argv, envp)` in the executor, with this
    /// process's environment, then exits it as C's `exit` does: the program's
    /// exit handlers, then the loaded objects' destructors. The executor is
    /// gone afterwards (every later request fails with its ending); to run
    /// again, make a new linker with a new executor.
    pub fn run_main(&mut self, entry: &str, argv: &[String]) -> Result<Exit> {
        let Some(remote) = self.remote.clone() else {
            return Err(Error::Executor(
                "run_main runs a program in an executor; in process, call `main` \
                 through `Linker::function`"
                    .into(),
            ));
        };
        self.check_resolved()?;
        let main = self.address(entry)? as u64;
        let ids: Vec<ObjectId> = (self.linked.objects.keys())
            .filter(|id| !self.is_pending(**id))
            .copied()
            .collect();
        let at_exit = match &self.linked.space {
            Some(space) => crate::link::finalize::exit_list(space, &self.linked.objects, &ids),
            None => Vec::new(),
        };
        let ended = remote.run_main(main, argv, &at_exit);
        Ok(match (ended.signal, ended.status) {
            (None, Some(status)) if ended.trap.is_none() => Exit::Status(status),
            _ => Exit::Crashed(self.describe(ended)),
        })
    }

    /// Names the addresses of an executor's ending report.
    pub(crate) fn explain(&self, e: Error) -> Error {
        match e {
            Error::ExecutorEnded(ended) => Error::ExecutorEnded(self.describe(ended)),
            e => e,
        }
    }

    fn describe(&self, mut ended: Ended) -> Ended {
        let name = |address: u64| match self.symbolize(address) {
            Some(s) => format!("{}+{:#x} ({})", s.function, s.offset, s.object),
            None => format!("{address:#x}"),
        };
        if let Some(slot) = ended.trap {
            let message = crate::symbols::stubs::trap_message(slot)
                .unwrap_or_else(|| format!("a call through the trap stub of slot {slot:#x}"));
            ended.described = Some(message);
        } else if let Some((signal, address, pc)) = ended.fault {
            ended.described = Some(format!(
                "{} in {} (faulting address {})",
                crate::error::signal_name(signal),
                name(pc),
                name(address)
            ));
        }
        ended
    }
}
