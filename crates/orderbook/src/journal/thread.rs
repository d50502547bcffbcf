//! [`JournalThread`]: a [`JournalWriter`](super::JournalWriter) on a thread of its own, so
//! that matching never waits for an fsync.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use super::{JournalError, JournalFile, JournalWriter};
use crate::types::Command;

/// How long the journal thread keeps polling for the next batch before it goes to sleep,
/// unless [`JournalThread::spawn_with_spin`] says otherwise.
///
/// Why poll at all: a batch sent to a sleeping thread makes the *sender* wake it, a system
/// call and an interrupt to the other core, and the sender is the matching thread. On the
/// virtual machine the benches ran on, that cost 8.5 µs a batch, a tenth of the matching
/// thread's time at 4096 commands a batch. While batches keep coming, a thread that polls
/// between them is never asleep when one arrives, so nobody pays for a wake-up; once they
/// stop for longer than this, it sleeps, and burns nothing.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(100);

/// A journal writer on its own thread, for group commit off the matching path.
///
/// The matching thread hands over each batch of commands ([`submit`](Self::submit)) and goes
/// on matching; the journal thread encodes them, and makes everything that has arrived durable
/// with one write and one fsync, so the slower the disk, the larger each group. The engine is
/// deterministic, so matching may run ahead of durability: only *publishing* a batch's events
/// must wait until [`durable`](Self::durable) reaches its ticket (write-ahead is about what the
/// world sees, not about when the book computes it).
#[derive(Debug)]
pub struct JournalThread {
    sender: Option<std::sync::mpsc::Sender<Arc<[Command]>>>,
    state: Arc<(std::sync::Mutex<Durable>, std::sync::Condvar)>,
    handle: Option<std::thread::JoinHandle<()>>,
    submitted: u64,
}

#[derive(Debug, Default)]
struct Durable {
    batches: u64,
    failed: Option<String>,
}

impl JournalThread {
    /// Starts the thread over a writer; between batches it polls for [`DEFAULT_SPIN`] before
    /// it sleeps.
    ///
    /// The thread starts with the CPU affinity of the thread that calls this (on Linux), so a
    /// caller that pins threads can place it by calling from the core it should run on.
    pub fn spawn<F: JournalFile + Send + 'static>(writer: JournalWriter<F>) -> Self {
        Self::spawn_with_spin(writer, DEFAULT_SPIN)
    }

    /// Starts the thread over a writer; between batches it polls for `spin` before it sleeps
    /// (`Duration::ZERO`: it sleeps at once, and every batch that finds it asleep wakes it).
    pub fn spawn_with_spin<F: JournalFile + Send + 'static>(
        mut writer: JournalWriter<F>,
        spin: Duration,
    ) -> Self {
        let (sender, receiver) = std::sync::mpsc::channel::<Arc<[Command]>>();
        let state =
            Arc::new((std::sync::Mutex::new(Durable::default()), std::sync::Condvar::new()));
        let shared = Arc::clone(&state);
        let handle = std::thread::spawn(move || {
            // Wait for one batch, then take whatever else is waiting: one group, one fsync.
            while let Some(first) = next_batch(&receiver, spin) {
                let mut group = 1;
                first.iter().for_each(|c| writer.append(c));
                while let Ok(more) = receiver.try_recv() {
                    more.iter().for_each(|c| writer.append(c));
                    group += 1;
                }
                let result = writer.commit();
                let (lock, wake) = &*shared;
                let mut durable = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match result {
                    Ok(()) => durable.batches += group,
                    Err(e) => durable.failed = Some(e.to_string()),
                }
                wake.notify_all();
                if durable.failed.is_some() {
                    return;
                }
            }
        });
        JournalThread { sender: Some(sender), state, handle: Some(handle), submitted: 0 }
    }

    /// Hands a batch to the journal thread; returns its ticket (1, 2, 3, ...). The batch is
    /// shared, not copied: the matching thread keeps reading it.
    pub fn submit(&mut self, batch: Arc<[Command]>) -> Result<u64, JournalError> {
        let sent = self.sender.as_ref().map(|s| s.send(batch));
        if !matches!(sent, Some(Ok(()))) {
            return Err(JournalError::Poisoned);
        }
        self.submitted += 1;
        Ok(self.submitted)
    }

    /// How many batches are durable now (they are made durable in order).
    pub fn durable(&self) -> Result<u64, JournalError> {
        let durable = self.state.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &durable.failed {
            Some(_) => Err(JournalError::Poisoned),
            None => Ok(durable.batches),
        }
    }

    /// Blocks until batch `ticket` is durable.
    pub fn wait(&self, ticket: u64) -> Result<(), JournalError> {
        let (lock, wake) = &*self.state;
        let mut durable = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while durable.batches < ticket {
            if durable.failed.is_some() {
                return Err(JournalError::Poisoned);
            }
            durable = wake.wait(durable).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        Ok(())
    }
}

/// The next batch, polled for up to `spin` and then slept for; `None` once the sender is gone
/// and every batch has been taken.
fn next_batch(receiver: &Receiver<Arc<[Command]>>, spin: Duration) -> Option<Arc<[Command]>> {
    let start = Instant::now();
    loop {
        match receiver.try_recv() {
            Ok(batch) => return Some(batch),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if start.elapsed() < spin => std::hint::spin_loop(),
            Err(TryRecvError::Empty) => return receiver.recv().ok(),
        }
    }
}

impl Drop for JournalThread {
    /// Closes the channel and waits for the thread to finish what it was given.
    fn drop(&mut self) {
        drop(self.sender.take());
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
