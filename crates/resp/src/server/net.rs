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

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::client::Client;
use super::cmd::{Ctx, execute, unwatch_all};
use super::reply::Reply;
use super::store::{ACTIVE_EXPIRE_BUDGET_MS, ClientInfo, Store, unix_ms};
use crate::RequestParser;

/// What the server tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    store: Mutex<Store>,
}

impl Shared {
    pub(crate) fn new(store: Store) -> Shared {
        Shared { store: Mutex::new(store) }
    }

    /// Locks the store. A panic while it was held (a bug) must not take every other
    /// connection down with it, so a poisoned lock is still used.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Accepts connections forever, one task each; runs the active expiry cycle beside them.
pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) -> std::io::Result<()> {
    let expiry = tokio::spawn(active_expiry(Arc::clone(&shared)));
    let result = loop {
        let (socket, addr) = match listener.accept().await {
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
        let hz = shared.lock().cached.hz;
        tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
        let deadline = Instant::now() + Duration::from_millis(ACTIVE_EXPIRE_BUDGET_MS);
        shared.lock().active_expire(unix_ms(), deadline);
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
    let registered = register(&shared, addr, laddr);
    let Some((mut client, mut parser)) = registered else {
        socket.write_all(b"-ERR max number of clients reached\r\n").await?;
        return Ok(());
    };
    let result = connection_loop(&shared, &mut socket, &mut client, &mut parser).await;
    let mut store = shared.lock();
    store.clients.remove(&client.id);
    unwatch_all(&mut store, &mut client);
    drop(store);
    result
}

/// Adds a client to the store's list, or returns `None` if `maxclients` are connected.
fn register(
    shared: &Shared,
    addr: SocketAddr,
    laddr: SocketAddr,
) -> Option<(Client, RequestParser)> {
    let mut store = shared.lock();
    store.stats.connections_received += 1;
    if store.clients.len() >= store.cached.maxclients {
        store.stats.rejected_connections += 1;
        return None;
    }
    let id = store.next_client_id;
    store.next_client_id += 1;
    let now = Instant::now();
    let info = ClientInfo {
        addr,
        laddr,
        name: None,
        db: 0,
        created: now,
        last_interaction: now,
        last_command: "NULL",
        resp: 2,
        multi: -1,
    };
    store.clients.insert(id, info);
    let authenticated = store.config.get("requirepass").is_empty();
    Some((Client::new(id, authenticated), RequestParser::new(store.limits())))
}

async fn connection_loop(
    shared: &Shared,
    socket: &mut TcpStream,
    client: &mut Client,
    parser: &mut RequestParser,
) -> std::io::Result<()> {
    let mut input = BytesMut::with_capacity(16 * 1024);
    let mut output = BytesMut::with_capacity(16 * 1024);
    loop {
        if input.capacity() - input.len() < 4096 {
            input.reserve(16 * 1024);
        }
        let read = socket.read_buf(&mut input).await?;
        if read == 0 {
            return Ok(());
        }
        let mut close = false;
        {
            let mut store = shared.lock();
            store.stats.total_net_input_bytes += read as u64;
            if input.len() > store.cached.query_buffer_limit {
                // Redis closes such a client without a reply.
                return Ok(());
            }
            parser.set_limits(store.limits());
            loop {
                match parser.parse(&mut input, client.authenticated) {
                    Ok(Some(args)) => {
                        let resp3 = client.resp3;
                        let mut ctx = Ctx {
                            store: &mut store,
                            client,
                            out: Reply::new(&mut output, resp3),
                            now: unix_ms(),
                        };
                        execute(&mut ctx, args);
                        if client.close_after_reply {
                            close = true;
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        store.stats.total_error_replies += 1;
                        Reply::new(&mut output, client.resp3).error(&format!("ERR {e}"));
                        close = true;
                        break;
                    }
                }
            }
            if let Some(info) = store.clients.get_mut(&client.id) {
                info.last_interaction = Instant::now();
                info.last_command = client.last_command;
            }
            store.stats.total_net_output_bytes += output.len() as u64;
        }
        if !output.is_empty() {
            socket.write_all(&output).await?;
            output.clear();
        }
        if close {
            return Ok(());
        }
    }
}
