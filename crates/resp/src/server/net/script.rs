//! Scripts on the network side: running one on a thread of its own, and answering the other
//! connections while it runs too long.
//!
//! The connection that sends `EVAL` (or an `EXEC` whose transaction holds one) hands the
//! command, its session and its output buffer to a blocking-pool thread, which takes the
//! store's lock, runs the command as any other, and hands them back. Before that, it marks a
//! script as running (one at a time), so that the other tasks wait for it rather than for the
//! lock: see [`Shared::lock_unless_busy`](super::Shared::lock_unless_busy).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::{After, Shared, finish_batch, run_command};
use crate::RequestParser;
use crate::server::client::Client;
use crate::server::cmd::{WhileBusy, command_while_busy, runs_a_script as is_script_command};
use crate::server::reply::Reply;
use crate::server::script::ScriptWatch;
use crate::server::store::unix_ms;

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

/// Runs `args` on a blocking-pool thread with the store's lock, appending its reply to
/// `output`. Returns false if the connection must close (the AOF could not be written, or
/// the thread panicked).
pub(super) async fn run_on_own_thread(
    shared: &Arc<Shared>,
    client: &mut Client,
    output: &mut BytesMut,
    args: Vec<Bytes>,
) -> bool {
    shared.claim_script().await;
    // The session moves to the thread and back; the connection keeps a stand-in meanwhile.
    let stand_in = Client::new(client.id, client.authenticated, Arc::clone(&client.wake));
    let mut session = std::mem::replace(client, stand_in);
    let mut out = std::mem::take(output);
    let thread_shared = Arc::clone(shared);
    let joined = tokio::task::spawn_blocking(move || {
        // Whatever happens, the next script may start and the waiting tasks go on.
        let _over = ScriptOver(&thread_shared);
        let mut store = thread_shared.lock();
        let now = unix_ms();
        run_command(&mut store, &mut session, &mut out, args, now);
        let durable = finish_batch(&mut store, &session, &mut out, now);
        (session, out, durable)
    })
    .await;
    match joined {
        Ok((session, out, durable)) => {
            *client = session;
            *output = out;
            durable
        }
        Err(_) => false,
    }
}

/// Marks the script as over when dropped, on the script's thread. Declared before the
/// store's guard, it drops after it: waiting tasks are woken once the lock is free.
struct ScriptOver<'a>(&'a Shared);

impl Drop for ScriptOver<'_> {
    fn drop(&mut self) {
        self.0.lockless.script.finish();
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
    /// Waits until no script runs, then marks one as running: this connection's.
    async fn claim_script(&self) {
        self.lockless.script.wait_until(ScriptWatch::try_start).await;
    }

    /// Waits until no script runs.
    pub(super) async fn script_over(&self) {
        self.lockless.script.wait_until(|s| !s.is_running()).await;
    }
}
