//! The state of one connection that only its own commands read or change.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bytes::Bytes;
use tokio::sync::Notify;

use super::cmd::Command;
use super::value::Str;

/// One client's session state.
#[derive(Debug)]
pub(crate) struct Client {
    /// The id `CLIENT ID` reports; also the key of its entry in the store's client list.
    pub(crate) id: u64,
    /// The selected database.
    pub(crate) db: usize,
    /// Whether the client said `HELLO 3`.
    pub(crate) resp3: bool,
    /// Whether the client has authenticated (or no password is required).
    pub(crate) authenticated: bool,
    /// Commands queued since `MULTI`, checked and resolved, if a transaction is open.
    pub(crate) multi: Option<Vec<(&'static Command, Vec<Bytes>)>>,
    /// The keys `WATCH`ed, for `EXEC` to check.
    pub(crate) watched: Vec<Watched>,
    /// Whether a command failed to queue, so that `EXEC` must refuse the transaction.
    pub(crate) multi_failed: bool,
    /// A transaction was discarded while a script was busy (without the store): its watched
    /// keys are to be forgotten before the next command.
    pub(crate) unwatch_pending: bool,
    /// The full name of the last command run; copied to the client list once per batch.
    pub(crate) last_command: &'static str,
    /// Set by `QUIT`: close the connection once the replies so far are written.
    pub(crate) close_after_reply: bool,
    /// Set while `EXEC` runs the queue: blocking commands must not block then.
    pub(crate) in_exec: bool,
    /// Set on a script's own client (`redis.call`): a few commands answer otherwise there
    /// (`SORT` of a set orders its output, `XREAD BLOCK` is refused), as on Redis.
    pub(crate) in_script: bool,
    /// Set by a blocking command that found nothing: the connection stops executing commands
    /// until the store serves or times out the client.
    pub(crate) blocked: bool,
    /// How many channels and patterns it subscribes to (a copy of the store's count, read on
    /// every command: in RESP2 a subscribed client may run only pub/sub commands).
    pub(crate) subscriptions: usize,
    /// `CLIENT REPLY OFF`: replies are dropped (pub/sub pushes still go out).
    pub(crate) reply_off: bool,
    /// `CLIENT REPLY SKIP`: the next command's reply is dropped.
    pub(crate) skip_next_reply: bool,
    /// The reply of the command running now is dropped (it follows a `SKIP`), unless the
    /// command is `CLIENT REPLY ON`, which clears this too and is answered.
    pub(crate) skip_this_reply: bool,
    /// Set for a connection accepted while a script was busy: its entry in the client list
    /// (local and peer address) is added by its first batch that has the store.
    pub(crate) unlisted: Option<(SocketAddr, SocketAddr)>,
    /// Set by the server to disconnect it (`CLIENT KILL`, the output buffer limit), shared
    /// with its entry in the client list: a connection reads it before each batch, which
    /// costs a load where finding its entry would cost a search of the list. It is written
    /// and read with the store's lock held, so `Relaxed` loads and stores suffice.
    pub(crate) killed: Arc<AtomicBool>,
    /// Wakes its connection (the same as in its `ClientInfo`).
    pub(crate) wake: Arc<Notify>,
}

impl Client {
    /// A new session; `authenticated` is false when the server requires a password.
    pub(crate) fn new(id: u64, authenticated: bool, wake: Arc<Notify>) -> Client {
        Client {
            id,
            db: 0,
            resp3: false,
            authenticated,
            multi: None,
            watched: Vec::new(),
            multi_failed: false,
            unwatch_pending: false,
            last_command: "NULL",
            close_after_reply: false,
            in_exec: false,
            in_script: false,
            blocked: false,
            subscriptions: 0,
            reply_off: false,
            skip_next_reply: false,
            skip_this_reply: false,
            unlisted: None,
            killed: Arc::default(),
            wake,
        }
    }
}

/// A key under `WATCH`.
#[derive(Debug)]
pub(crate) struct Watched {
    pub(crate) db: usize,
    pub(crate) key: Str,
    /// The key's modification count when it was watched.
    pub(crate) version: u64,
    /// Whether the key existed and had not expired when it was watched.
    pub(crate) live: bool,
}
