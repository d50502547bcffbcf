//! Scripts on the network side: running them on a thread of their own, and answering the
//! other connections while one runs too long.
//!
//! The connection that sends `EVAL` (or an `EXEC` whose transaction holds one) puts the
//! command, its session and its output buffer in a queue, and waits for them to come back.
//! The first one to find the queue idle starts a blocking-pool thread for a turn. The thread
//! marks a script as running (one turn at a time), so that the other tasks wait for it
//! rather than for the lock (see [`Shared::lock_unless_busy`](super::Shared::lock_unless_busy)),
//! takes the store's lock, and runs every job it finds in the queue, one after the other,
//! each as any other command, before it lets the lock go.
//!
//! Why a queue: handing a script to another thread and back costs two wake-ups of sleeping
//! threads, which on a small machine take longer than a short script runs. When ten clients
//! send scripts, the runtime's thread queues several of them before the script thread wakes
//! up; that thread runs them all in one turn, and their connections are woken together.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::{Bytes, BytesMut};
use tokio::sync::oneshot;

use super::{After, Shared, finish_batch, run_command};
use crate::RequestParser;
use crate::server::client::Client;
use crate::server::cmd::{WhileBusy, command_while_busy, runs_a_script as is_script_command};
use crate::server::reply::Reply;
use crate::server::script::ScriptWatch;
use crate::server::store::{Store, unix_ms};

/// Whether `args`, sent by `client`, would run a script now: `EVAL` and its kin outside a
/// transaction (inside one they are queued), or the `EXEC` of a transaction holding one.
pub(super) fn runs_a_script(client: &Client, args: &[Bytes]) -> bool {
    match &client.multi {
        None => is_script_command(&args[0]),
        Some(queue) => {
            args[0].eq_ignore_ascii_case(b"exec")
                && queue.iter().any(|(command, _)| is_script_command(command.name.as_bytes()))
        }
    }
}

/// Scripts handed to the script thread and not yet run, in arrival order.
#[derive(Debug, Default)]
pub(super) struct Queue(Mutex<Jobs>);

#[derive(Debug, Default)]
struct Jobs {
    waiting: VecDeque<Job>,
    /// A thread has been started (or is being) that will run everything in `waiting`. Set
    /// and cleared under the queue's lock, so a job is never left without a thread.
    draining: bool,
}

/// A command that runs a script, with the session and output buffer it runs with, and where
/// to send them back (with false if the connection must close: the AOF could not be
/// written).
#[derive(Debug)]
struct Job {
    session: Client,
    out: BytesMut,
    args: Vec<Bytes>,
    done: oneshot::Sender<(Client, BytesMut, bool)>,
}

impl Queue {
    fn jobs(&self) -> MutexGuard<'_, Jobs> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs `args` on the script thread with the store's lock, appending its reply to `output`.
/// Returns false if the connection must close (the AOF could not be written, or the command
/// panicked).
pub(super) async fn run_on_own_thread(
    shared: &Arc<Shared>,
    client: &mut Client,
    output: &mut BytesMut,
    args: Vec<Bytes>,
) -> bool {
    // The session moves to the thread and back; the connection keeps a stand-in meanwhile.
    let stand_in = Client::new(client.id, client.authenticated, Arc::clone(&client.wake));
    let session = std::mem::replace(client, stand_in);
    let (done, answer) = oneshot::channel();
    let job = Job { session, out: std::mem::take(output), args, done };
    let start_thread = {
        let mut jobs = shared.scripts.jobs();
        jobs.waiting.push_back(job);
        !std::mem::replace(&mut jobs.draining, true)
    };
    if start_thread {
        let thread_shared = Arc::clone(shared);
        let runtime = tokio::runtime::Handle::current();
        // Not awaited: the answers go through the jobs' channels, so the thread runs them
        // even if this task is dropped meanwhile.
        drop(tokio::task::spawn_blocking(move || {
            // The previous turn's thread may not have marked its end yet.
            runtime.block_on(thread_shared.claim_script());
            drain(&thread_shared);
        }));
    }
    match answer.await {
        Ok((session, out, durable)) => {
            *client = session;
            *output = out;
            durable
        }
        Err(_) => false,
    }
}

/// The script thread's turn: with the store's lock, runs the queued jobs until the queue is
/// empty, then hands all the replies back. A job that panics (a bug) loses its connection,
/// not the others'.
///
/// The replies wait for the end of the turn, which costs the first script's client the few
/// microseconds the others take, for two reasons. Each hand-back may wake the runtime's
/// thread, the cost this queue exists to share. And the end of the turn, when the lock is
/// released and no script runs any more, must come before any reply: on Redis nobody is told
/// `-BUSY` once a script's reply is out.
fn drain(shared: &Shared) {
    let mut turn = Turn { shared, store: Some(shared.lock()) };
    let mut answers = Vec::new();
    while let Some(Job { mut session, mut out, args, done }) = turn.next_job() {
        let Some(store) = turn.store.as_deref_mut() else { break };
        let ran = panic::catch_unwind(AssertUnwindSafe(|| {
            let now = unix_ms();
            run_command(store, &mut session, &mut out, args, now);
            finish_batch(store, &session, &mut out, now)
        }));
        if let Ok(durable) = ran {
            answers.push((done, (session, out, durable)));
        }
    }
    turn.end();
    for (done, answer) in answers {
        // The connection may have gone meanwhile: nobody to answer then.
        let _ = done.send(answer);
    }
}

/// One turn of the script thread: the store's lock, held from the first job to the last.
struct Turn<'a> {
    shared: &'a Shared,
    store: Option<MutexGuard<'a, Store>>,
}

impl Turn<'_> {
    /// The next job, with the script state reset for it; or, if the queue is empty, the end
    /// of the turn: the lock released, then the script marked as over, which wakes the
    /// waiting tasks once the lock is free.
    fn next_job(&mut self) -> Option<Job> {
        let job = {
            let mut jobs = self.shared.scripts.jobs();
            let job = jobs.waiting.pop_front();
            // Cleared under the queue's lock: a job queued after this starts another turn.
            jobs.draining = job.is_some();
            job
        };
        match job {
            Some(_) => self.shared.lockless.script.next_script(),
            None => self.end(),
        }
        job
    }

    fn end(&mut self) {
        if let Some(store) = self.store.take() {
            drop(store);
            self.shared.lockless.script.finish();
        }
    }
}

impl Drop for Turn<'_> {
    /// Only reached with the lock held if the thread unwinds outside a job (a bug): the jobs
    /// still queued are dropped, which closes their connections, and the next script may
    /// start.
    fn drop(&mut self) {
        if self.store.is_some() {
            let mut jobs = self.shared.scripts.jobs();
            jobs.waiting.clear();
            jobs.draining = false;
            drop(jobs);
            self.end();
        }
    }
}

/// Answers what can be answered while a script is busy, without the store: `-BUSY` for most
/// commands, `SCRIPT KILL`, `MULTI`, `QUIT`. Stops at a command that needs the store
/// (`WATCH`, `AUTH`, ...) and returns it to run once the script is over.
pub(super) fn while_busy(
    shared: &Shared,
    input: &mut BytesMut,
    output: &mut BytesMut,
    client: &mut Client,
    parser: &mut RequestParser,
    mut first: Option<Vec<Bytes>>,
) -> After {
    loop {
        let args = match first.take() {
            Some(args) => args,
            None => match parser.parse(input, client.authenticated) {
                Ok(Some(args)) => args,
                Ok(None) => return After::Read,
                Err(e) => {
                    Reply::new(output, client.resp3).error(&format!("ERR {e}"));
                    return After::Close;
                }
            },
        };
        let mut out = Reply::new(output, client.resp3);
        match command_while_busy(client, &mut out, &args, &shared.lockless) {
            WhileBusy::Answered => {}
            WhileBusy::Close => return After::Close,
            WhileBusy::Wait => return After::Wait(args),
        }
    }
}

impl Shared {
    /// Waits until no script runs, then marks one as running: the script thread's turn.
    async fn claim_script(&self) {
        self.lockless.script.wait_until(ScriptWatch::try_start).await;
    }

    /// Waits until no script runs.
    pub(super) async fn script_over(&self) {
        self.lockless.script.wait_until(|s| !s.is_running()).await;
    }
}
