//! The network side: accepting connections and running each one as a task.
//!
//! A connection loops over: read what the socket has, then — holding the store's lock once —
//! parse and execute every complete command in the buffer, appending each reply to one output
//! buffer, then write that buffer with a single `write_all`. Pipelined commands therefore cost
//! one lock, one read and one write per batch, not per command. Parsing happens under the lock,
//! one command at a time, because a command can change how the next one is parsed (an `AUTH`
//! lifts the unauthenticated size limits, `CONFIG SET proto-max-bulk-len` moves the bulk limit).
//!
//! The parser consumes what it has understood, so a command split across reads is never parsed
//! twice. A protocol error gets Redis's `-ERR Protocol error: ...` reply after the replies to
//! the commands before it, and then the connection is closed.
//!
//! A script is the exception to "everything under the lock, on the runtime": it may run for
//! seconds, and the other connections must still be answered meanwhile, so it runs on a thread
//! of its own (see `script`). Every task therefore takes the lock through [`Shared::lock_async`]
//! or [`Shared::lock_unless_busy`], which wait for a running script without blocking the
//! runtime's thread.

mod script;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use super::blocking::{self, serve_ready};
use super::client::Client;
use super::cmd::{Ctx, execute, unwatch_all};
use super::reply::Reply;
use super::store::{ACTIVE_EXPIRE_BUDGET_MS, ClientInfo, Lockless, Store, unix_ms};
use crate::{Limits, RequestParser};

/// What the server tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    store: Mutex<Store>,
    /// The store's own `lockless`, reachable without its lock.
    lockless: Arc<Lockless>,
    /// Scripts waiting for the script thread (see `script`).
    scripts: script::Queue,
}

impl Shared {
    pub(crate) fn new(store: Store) -> Shared {
        let lockless = Arc::clone(&store.lockless);
        Shared { store: Mutex::new(store), lockless, scripts: script::Queue::default() }
    }

    /// Locks the store, blocking the thread until it is free: for threads that may block
    /// (start-up, a script's own thread), never for a task on the runtime. A panic while it
    /// was held (a bug) must not take every other connection down with it, so a poisoned lock
    /// is still used.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the store from a task, waiting (without blocking the runtime) while a script runs.
    pub(crate) async fn lock_async(&self) -> MutexGuard<'_, Store> {
        loop {
            if let Some(store) = self.acquire(false).await {
                return store;
            }
        }
    }

    /// Like [`Shared::lock_async`], but gives up with `None` once a script has run past
    /// `lua-time-limit`: the connection then answers `-BUSY` without the store.
    pub(crate) async fn lock_unless_busy(&self) -> Option<MutexGuard<'_, Store>> {
        self.acquire(true).await
    }

    async fn acquire(&self, give_up_when_busy: bool) -> Option<MutexGuard<'_, Store>> {
        let script = &self.lockless.script;
        loop {
            if script.is_running() {
                script.wait_until(|s| !s.is_running() || (give_up_when_busy && s.is_busy())).await;
                if give_up_when_busy && script.is_busy() {
                    return None;
                }
                // Over (or another script started meanwhile): look again.
                continue;
            }
            // Never `lock()`: a script that starts between the look above and the lock would
            // block this thread, and with it the runtime, until the script ends.
            if let Some(store) = self.try_lock() {
                return Some(store);
            }
            // Another worker's batch, microseconds long.
            tokio::task::yield_now().await;
        }
    }

    fn try_lock(&self) -> Option<MutexGuard<'_, Store>> {
        match self.store.try_lock() {
            Ok(store) => Some(store),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// Accepts connections until `SHUTDOWN`, one task each; runs the active expiry cycle beside
/// them.
pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) -> std::io::Result<()> {
    let expiry = tokio::spawn(active_expiry(Arc::clone(&shared)));
    let aof = tokio::spawn(aof_timer(Arc::clone(&shared)));
    let result = loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shared.lockless.shutdown.notified() => break Ok(()),
        };
        let (socket, addr) = match accepted {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: wait for them to free up, as Redis does.
            Err(e) if is_transient(&e) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            Err(e) => break Err(e),
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            // A connection's I/O errors concern that connection only.
            let _ = serve_connection(shared, socket, addr).await;
        });
    };
    expiry.abort();
    aof.abort();
    result
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock | OutOfMemory)
        || e.raw_os_error().is_some_and(|code| code == 23 || code == 24) // ENFILE, EMFILE
}

/// Runs the active expiry cycle `hz` times a second, each run bounded in time.
async fn active_expiry(shared: Arc<Shared>) {
    loop {
        let hz = shared.lock_async().await.cached.hz;
        tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
        let deadline = Instant::now() + Duration::from_millis(ACTIVE_EXPIRE_BUDGET_MS);
        let mut store = shared.lock_async().await;
        store.active_expire(unix_ms(), deadline);
        if store.cached.notify != 0 {
            store.publish_events();
            store.wake_receivers(None);
        }
    }
}

/// Once a second: the AOF's `everysec` sync (outside the lock, like Redis's background
/// thread), finishing a rewrite whose snapshot is written, an automatic rewrite.
async fn aof_timer(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let handle = shared.lock_async().await.aof_tick();
        if let Some(file) = handle {
            let result = tokio::task::spawn_blocking(move || file.sync_data()).await;
            let result = result.unwrap_or_else(|e| Err(std::io::Error::other(e)));
            shared.lock_async().await.aof_synced(result);
        }
    }
}

/// Serves one client until it disconnects, sends a protocol error, or says `QUIT`.
async fn serve_connection(
    shared: Arc<Shared>,
    mut socket: TcpStream,
    addr: SocketAddr,
) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let laddr = socket.local_addr()?;
    let Some((mut client, mut parser)) = accept(&shared, addr, laddr).await else {
        socket.write_all(MAX_CLIENTS).await?;
        return Ok(());
    };
    let result = connection_loop(&shared, &mut socket, &mut client, &mut parser).await;
    let mut store = shared.lock_async().await;
    blocking::unblock(&mut store, client.id);
    store.unsubscribe_all(client.id);
    store.clients.remove(&client.id);
    unwatch_all(&mut store, &mut client);
    drop(store);
    result
}

const MAX_CLIENTS: &[u8] = b"-ERR max number of clients reached\r\n";

/// A new connection's session and parser, or `None` if `maxclients` are connected. While a
/// script is busy the client is not yet in the store's list: its first batch with the store
/// adds it, and meanwhile it can be answered (`SCRIPT KILL` from a new `redis-cli`).
async fn accept(
    shared: &Shared,
    addr: SocketAddr,
    laddr: SocketAddr,
) -> Option<(Client, RequestParser)> {
    let id = shared.lockless.next_client_id.fetch_add(1, Ordering::SeqCst);
    let authenticated = !shared.lockless.password_required.load(Ordering::SeqCst);
    let mut client = Client::new(id, authenticated, Arc::new(Notify::new()));
    client.unlisted = Some((addr, laddr));
    let mut parser = RequestParser::new(Limits::default());
    if let Some(mut store) = shared.lock_unless_busy().await {
        if !client_listed(&mut store, &mut client) {
            return None;
        }
        parser.set_limits(store.limits());
    }
    Some((client, parser))
}

/// Adds `client` to the store's client list if it is not there yet; returns false if
/// `maxclients` are connected.
fn client_listed(store: &mut Store, client: &mut Client) -> bool {
    let Some((addr, laddr)) = client.unlisted.take() else { return true };
    store.stats.connections_received += 1;
    if store.clients.len() >= store.cached.maxclients {
        store.stats.rejected_connections += 1;
        return false;
    }
    let info = ClientInfo::new(addr, laddr, Arc::clone(&client.wake), Arc::clone(&client.killed));
    store.clients.insert(client.id, info);
    true
}

/// How a batch of commands ended.
enum After {
    /// Everything buffered ran: read more.
    Read,
    /// A command blocked the client (`BLPOP` on empty keys).
    Blocked,
    /// Close the connection (`QUIT`, a protocol error, the query buffer limit).
    Close,
    /// This command runs a script: run it on a thread of its own, then go on.
    Script(Vec<Bytes>),
    /// A script is busy and this command needs the store: run it once the script is over.
    Wait(Vec<Bytes>),
}

async fn connection_loop(
    shared: &Arc<Shared>,
    socket: &mut TcpStream,
    client: &mut Client,
    parser: &mut RequestParser,
) -> std::io::Result<()> {
    let mut input = BytesMut::with_capacity(16 * 1024);
    let mut output = BytesMut::with_capacity(16 * 1024);
    let mut read = 0;
    // A command parsed while a script was busy, to run once it is over.
    let mut postponed = None;
    loop {
        let after = match shared.lock_unless_busy().await {
            Some(mut store) => {
                let first = postponed.take();
                run_batch(&mut store, &mut input, &mut output, client, parser, read, first)
            }
            None => {
                let first = postponed.take();
                script::while_busy(shared, &mut input, &mut output, client, parser, first)
            }
        };
        if !output.is_empty() && !write_output(shared, socket, &mut output, client).await? {
            return Ok(());
        }
        read = 0;
        match after {
            After::Close => return Ok(()),
            After::Script(args) => {
                if !script::run_on_own_thread(shared, client, &mut output, args).await {
                    return Ok(());
                }
            }
            After::Wait(args) => {
                shared.script_over().await;
                postponed = Some(args);
            }
            After::Blocked => {
                if !wait_while_blocked(shared, socket, &mut input, &mut output, client).await? {
                    return Ok(());
                }
            }
            After::Read => {
                reserve(&mut input);
                read = if client.subscriptions == 0 {
                    socket.read_buf(&mut input).await?
                } else {
                    wait_subscribed(shared, socket, &mut input, &mut output, client).await?
                };
                if read == 0 {
                    return Ok(());
                }
            }
        }
    }
}

fn reserve(input: &mut BytesMut) {
    if input.capacity() - input.len() < 4096 {
        input.reserve(16 * 1024);
    }
}

/// Holding the lock once, parses and runs every complete command in `input` (until one
/// blocks the client, or runs a script), appending the replies to `output`. `read` is how
/// many bytes the last read added, for the statistics; `first`, a command parsed earlier to
/// run before those in `input`.
fn run_batch(
    store: &mut Store,
    input: &mut BytesMut,
    output: &mut BytesMut,
    client: &mut Client,
    parser: &mut RequestParser,
    read: usize,
    mut first: Option<Vec<Bytes>>,
) -> After {
    store.stats.total_net_input_bytes += read as u64;
    if input.len() > store.cached.query_buffer_limit {
        // Redis closes such a client without a reply.
        return After::Close;
    }
    if client.subscriptions > 0 && !take_outbox(store, client.id, output) {
        return After::Close;
    }
    if client.killed.load(Ordering::Relaxed) {
        // `CLIENT KILL` disconnected it while it was idle: this is the first it hears of it.
        return After::Close;
    }
    if !client_listed(store, client) {
        output.extend_from_slice(MAX_CLIENTS);
        return After::Close;
    }
    if std::mem::take(&mut client.unwatch_pending) {
        unwatch_all(store, client);
    }
    parser.set_limits(store.limits());
    let mut after = After::Read;
    // The clock is read once per batch (one read's worth of commands, run back to back under
    // the lock, usually within microseconds): every command of a pipeline sees the same
    // millisecond, where Redis reads the clock again for each command.
    let now = unix_ms();
    while !client.blocked {
        let parsed = match first.take() {
            Some(args) => Ok(Some(args)),
            None => parser.parse(input, client.authenticated),
        };
        match parsed {
            Ok(Some(args)) if script::runs_a_script(client, &args) => {
                after = After::Script(args);
                break;
            }
            Ok(Some(args)) => {
                run_command(store, client, output, args, now);
                if client.close_after_reply {
                    after = After::Close;
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                let text = format!("ERR {e}");
                store.stats.count_error(text.as_bytes());
                Reply::new(output, client.resp3).error(&text);
                after = After::Close;
                break;
            }
        }
    }
    if client.blocked && matches!(after, After::Read) {
        after = After::Blocked;
    }
    if !finish_batch(store, client, output, now) {
        return After::Close;
    }
    after
}

/// What follows a batch: the AOF is written (and synced under `always`), the client list
/// and the statistics are updated. Returns false if the batch could not be made durable.
fn finish_batch(store: &mut Store, client: &Client, output: &mut BytesMut, now: i64) -> bool {
    if !store.flush_aof() {
        // Under `appendfsync always` a batch that could not be made durable is not
        // acknowledged: the client sees its connection close instead of its replies.
        output.clear();
        return false;
    }
    if let Some(info) = store.clients.get_mut(&client.id) {
        info.last_interaction = now;
        info.last_command = client.last_command;
    }
    store.stats.total_net_output_bytes += output.len() as u64;
    true
}

/// Runs one command and what follows it: serving clients blocked on keys it created,
/// publishing the keyspace events it caused, dropping its reply under `CLIENT REPLY OFF` or
/// `SKIP`, waking the connections it sent pushes to, and putting its own pushes in front of
/// its reply.
fn run_command(
    store: &mut Store,
    client: &mut Client,
    output: &mut BytesMut,
    args: Vec<Bytes>,
    now: i64,
) {
    let (resp3, start) = (client.resp3, output.len());
    client.skip_this_reply = std::mem::take(&mut client.skip_next_reply);
    let mut ctx = Ctx { store, client, out: Reply::new(output, resp3), now };
    execute(&mut ctx, args);
    serve_ready(store, now);
    if store.cached.notify != 0 {
        store.publish_events();
    }
    if client.reply_off || std::mem::take(&mut client.skip_this_reply) {
        output.truncate(start);
    }
    if !store.woken.is_empty() && store.wake_receivers(Some(client.id)) {
        // Its own pushes precede its reply, and go out whatever CLIENT REPLY says.
        let reply = output.split_off(start);
        take_outbox(store, client.id, output);
        output.extend_from_slice(&reply);
    }
}

/// Appends what other clients' commands wrote for client `id` to `output`; returns false if
/// the client is gone or was disconnected by the server.
fn take_outbox(store: &mut Store, id: u64, output: &mut BytesMut) -> bool {
    let Some(info) = store.clients.get_mut(&id) else { return false };
    if info.killed.load(Ordering::Relaxed) {
        return false;
    }
    if output.is_empty() {
        std::mem::swap(output, &mut info.outbox);
    } else {
        output.extend_from_slice(&info.outbox);
        info.outbox.clear();
    }
    true
}

/// Writes `output` and clears it. A subscriber's write may wait on a client that does not
/// read while its outbox grows past the output buffer limit; the server then disconnects it,
/// and the write is abandoned. Returns false in that case.
async fn write_output(
    shared: &Shared,
    socket: &mut TcpStream,
    output: &mut BytesMut,
    client: &Client,
) -> std::io::Result<bool> {
    if client.subscriptions == 0 {
        socket.write_all(output).await?;
        output.clear();
        return Ok(true);
    }
    set_in_flight(shared, client.id, output.len()).await;
    let mut written = 0;
    while written < output.len() {
        tokio::select! {
            n = socket.write(&output[written..]) => match n? {
                0 => return Err(std::io::ErrorKind::WriteZero.into()),
                n => written += n,
            },
            // New messages (taken after this write) or a disconnection.
            () = client.wake.notified() => {
                let store = shared.lock_async().await;
                if store.clients.get(&client.id).is_none_or(|i| i.killed.load(Ordering::Relaxed)) {
                    return Ok(false);
                }
            }
        }
    }
    output.clear();
    set_in_flight(shared, client.id, 0).await;
    Ok(true)
}

async fn set_in_flight(shared: &Shared, id: u64, bytes: usize) {
    if let Some(info) = shared.lock_async().await.clients.get_mut(&id) {
        info.in_flight = bytes;
    }
}

/// A subscribed client waits for a command or a message, whichever comes first, writing
/// messages as they arrive. Returns how many bytes of command it read (0: close).
async fn wait_subscribed(
    shared: &Shared,
    socket: &mut TcpStream,
    input: &mut BytesMut,
    output: &mut BytesMut,
    client: &mut Client,
) -> std::io::Result<usize> {
    loop {
        {
            let mut store = shared.lock_async().await;
            if !take_outbox(&mut store, client.id, output) {
                return Ok(0);
            }
            store.stats.total_net_output_bytes += output.len() as u64;
        }
        if !output.is_empty() {
            if !write_output(shared, socket, output, client).await? {
                return Ok(0);
            }
            continue;
        }
        // A message published after the outbox was looked at has stored a wake-up permit,
        // so `notified` returns at once: nothing is missed between the two.
        tokio::select! {
            read = socket.read_buf(input) => return read,
            () = client.wake.notified() => {}
        }
    }
}

/// Waits until the blocked client is served or times out, appending its reply to `output`.
/// Meanwhile the socket is still read (into `input`, not executed) so that a client that
/// disconnects is noticed, and pushes (to a subscribed RESP3 client) are written. Returns
/// false if the connection must close.
async fn wait_while_blocked(
    shared: &Shared,
    socket: &mut TcpStream,
    input: &mut BytesMut,
    output: &mut BytesMut,
    client: &mut Client,
) -> std::io::Result<bool> {
    let deadline = shared.lock_async().await.blocked.get(&client.id).and_then(|b| b.deadline);
    let timer = async {
        match deadline {
            Some(at) => {
                let wait = u64::try_from(at - unix_ms()).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::pin!(timer);
    loop {
        tokio::select! {
            () = client.wake.notified() => {
                let (served, alive) = {
                    let mut store = shared.lock_async().await;
                    let served = !store.blocked.contains_key(&client.id);
                    (served, take_outbox(&mut store, client.id, output))
                };
                if !alive {
                    return Ok(false);
                }
                if served {
                    client.blocked = false;
                    return Ok(true);
                }
                if !output.is_empty() && !write_output(shared, socket, output, client).await? {
                    return Ok(false);
                }
            }
            () = &mut timer => {
                let mut store = shared.lock_async().await;
                // Served in the meantime? Then the reply is in the outbox, and this adds none.
                if !take_outbox(&mut store, client.id, output) {
                    return Ok(false);
                }
                client.blocked = false;
                blocking::time_out(&mut store, client.id, &mut Reply::new(output, client.resp3));
                return Ok(true);
            }
            read = socket.read_buf(input) => {
                let read = read?;
                let mut store = shared.lock_async().await;
                store.stats.total_net_input_bytes += read as u64;
                if read == 0 || input.len() > store.cached.query_buffer_limit {
                    blocking::unblock(&mut store, client.id);
                    return Ok(false);
                }
                reserve(input);
            }
        }
    }
}
