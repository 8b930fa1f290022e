//! A load's threads, each on a CPU of its own while the load lasts
//! ([`LinkerOptions::pin_threads`](super::LinkerOptions::pin_threads)).
//!
//! The reading threads and the linking thread wake each other all through a
//! load: a chunk handed over, a full channel emptied, the address space's lock
//! released. On a wake-up the scheduler tends to put the woken thread on its
//! waker's CPU, where it waits for the waker to sleep, while the other CPU
//! idles; it moves one of them only at its next balancing, a few ms later.
//! `perf sched timehist` of one `relink run` at wide 1,001 (two CPUs, one
//! reading thread): the two threads ran in turn on CPU 0 for stretches of up
//! to 7 ms while CPU 1 idled, and waited 14 ms in all for a CPU. Pinned, they
//! waited 1.4 ms.
//!
//! Only CPUs the calling thread may already use are taken, one a thread, and
//! only if there are enough of them; the linking thread keeps the CPU it is on.
//! The calling thread's mask is put back when the load ends, however it ends.

/// The calling thread's CPU mask, put back when dropped.
pub(crate) struct Pinned {
    saved: libc::cpu_set_t,
}

/// The CPUs the load's threads take: the linking thread's first, then one per
/// reading thread.
pub(crate) struct Plan {
    cpus: Vec<usize>,
}

impl Plan {
    /// A CPU each for the calling (linking) thread and `readers` reading
    /// threads, from the calling thread's mask; `None` if it has too few (a
    /// process confined to fewer CPUs than it runs threads keeps the
    /// scheduler's choice) or the mask cannot be read.
    pub(crate) fn new(readers: usize) -> Option<(Plan, Pinned)> {
        let saved = mask()?;
        let allowed = cpus_in(&saved);
        if allowed.len() < readers + 1 {
            return None;
        }
        // SAFETY: no arguments; -1 on failure.
        let here = usize::try_from(unsafe { libc::sched_getcpu() }).ok();
        let first = here.filter(|c| allowed.contains(c)).unwrap_or(allowed[0]);
        let mut cpus = vec![first];
        cpus.extend(allowed.iter().filter(|&&c| c != first).take(readers));
        let plan = Plan { cpus };
        let pinned = Pinned { saved };
        plan.pin(0);
        Some((plan, pinned))
    }

    /// Pins the calling thread to the CPU of reading thread `which`.
    pub(crate) fn pin_reader(&self, which: usize) {
        self.pin(which + 1);
    }

    fn pin(&self, i: usize) {
        if let Some(&cpu) = self.cpus.get(i) {
            // SAFETY: a zeroed set is empty; CPU_SET writes a bit below
            // CPU_SETSIZE (the CPU came from a set).
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            unsafe { libc::CPU_SET(cpu, &mut set) };
            // A failure leaves the thread where the scheduler puts it.
            set_mask(&set);
        }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        set_mask(&self.saved);
    }
}

/// The calling thread's CPU mask.
fn mask() -> Option<libc::cpu_set_t> {
    // SAFETY: a zeroed set is valid; the call writes at most its size.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    (unsafe { libc::sched_getaffinity(0, size, &mut set) } == 0).then_some(set)
}

/// The CPUs in `set`, in order.
fn cpus_in(set: &libc::cpu_set_t) -> Vec<usize> {
    // SAFETY: `set` is a valid set; CPU_ISSET reads it.
    (0..libc::CPU_SETSIZE as usize)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, set) })
        .collect()
}

fn set_mask(set: &libc::cpu_set_t) -> bool {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `set` is a valid set of `size` bytes; 0 is the calling thread.
    unsafe { libc::sched_setaffinity(0, size, set) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<usize> {
        cpus_in(&mask().unwrap())
    }

    #[test]
    fn pins_the_caller_and_puts_its_mask_back() {
        let before = allowed();
        std::thread::spawn(move || {
            let Some((plan, pinned)) = Plan::new(1) else {
                // One CPU: nothing is pinned, the mask is untouched.
                assert!(before.len() < 2);
                assert_eq!(allowed(), before);
                return;
            };
            assert_eq!(allowed(), vec![plan.cpus[0]]);
            std::thread::scope(|s| {
                s.spawn(|| {
                    plan.pin_reader(0);
                    assert_eq!(allowed(), vec![plan.cpus[1]]);
                });
            });
            assert_ne!(plan.cpus[0], plan.cpus[1]);
            drop(pinned);
            assert_eq!(allowed(), before);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn too_few_cpus_pin_nothing() {
        let before = allowed();
        std::thread::spawn(move || {
            assert!(Plan::new(before.len()).is_none());
            assert_eq!(allowed(), before);
        })
        .join()
        .unwrap();
    }
}
