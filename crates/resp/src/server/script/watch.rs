//! What the connections know about the script that is running, without the store's lock.
//!
//! A script holds the store's lock from its first instruction to its last, as it must (a
//! script is atomic), so a connection that arrives meanwhile cannot look inside the store to
//! learn that one is running. It looks here instead. The flags follow Redis's life cycle:
//!
//! ```text
//!   idle --start--> running --(past lua-time-limit)--> busy --finish--> idle
//!                      \__________________finish_______________________/
//! ```
//!
//! While a script is running but not busy, other connections wait, as they would on Redis's
//! single thread. Once it is busy they are answered `-BUSY`, and `SCRIPT KILL` may stop it
//! unless it has already written to the keyspace.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use tokio::sync::Notify;

/// The running script's state, shared by the script's thread and every connection.
#[derive(Debug, Default)]
pub(crate) struct ScriptWatch {
    running: AtomicBool,
    busy: AtomicBool,
    kill: AtomicBool,
    wrote: AtomicBool,
    /// Woken when a script finishes or turns busy.
    changed: Notify,
}

/// What `SCRIPT KILL` achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kill {
    /// The script will stop at its next check (within 100,000 Lua instructions).
    Requested,
    /// No script is running, or none has run long enough to be killed.
    NotBusy,
    /// The script has written: stopping it would leave half its effects.
    Unkillable,
}

impl ScriptWatch {
    /// Marks a script as running, unless one already is (then returns false). Called by the
    /// script thread before it takes the lock, so that the other tasks wait for the script
    /// rather than spin on the lock.
    pub(crate) fn try_start(&self) -> bool {
        if self.running.compare_exchange(false, true, SeqCst, SeqCst).is_err() {
            return false;
        }
        self.next_script();
        true
    }

    /// A script starts, the first of a turn or the next without letting the lock go: it is
    /// neither busy nor asked to stop, and has written nothing.
    pub(crate) fn next_script(&self) {
        self.busy.store(false, SeqCst);
        self.kill.store(false, SeqCst);
        self.wrote.store(false, SeqCst);
    }

    /// The script is over and the store's lock released.
    pub(crate) fn finish(&self) {
        self.running.store(false, SeqCst);
        self.busy.store(false, SeqCst);
        self.kill.store(false, SeqCst);
        self.changed.notify_waiters();
    }

    /// The script has run past `lua-time-limit`: waiting connections are woken to answer
    /// `-BUSY`.
    pub(crate) fn set_busy(&self) {
        if !self.busy.swap(true, SeqCst) {
            self.changed.notify_waiters();
        }
    }

    /// The script is about to run a write command.
    pub(crate) fn set_wrote(&self) {
        self.wrote.store(true, SeqCst);
    }

    pub(crate) fn is_running(&self) -> bool {
        self.running.load(SeqCst)
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.running.load(SeqCst) && self.busy.load(SeqCst)
    }

    /// Whether `SCRIPT KILL` asked the script to stop.
    pub(crate) fn kill_requested(&self) -> bool {
        self.kill.load(SeqCst)
    }

    /// `SCRIPT KILL`, from a connection that found the server busy.
    pub(crate) fn request_kill(&self) -> Kill {
        if !self.is_busy() {
            Kill::NotBusy
        } else if self.wrote.load(SeqCst) {
            Kill::Unkillable
        } else {
            self.kill.store(true, SeqCst);
            if !self.is_busy() {
                // The busy script ended meanwhile, and the script thread may have gone on to
                // the next one (`next_script`): the request was not for that one.
                self.kill.store(false, SeqCst);
                return Kill::NotBusy;
            }
            Kill::Requested
        }
    }

    /// Waits until `ready` holds, looking again each time a script finishes or turns busy.
    /// Each look comes after registering for the next wake-up, so no change is missed.
    pub(crate) async fn wait_until(&self, ready: impl Fn(&Self) -> bool) {
        loop {
            let change = self.changed.notified();
            tokio::pin!(change);
            change.as_mut().enable();
            if ready(self) {
                return;
            }
            change.await;
        }
    }
}
