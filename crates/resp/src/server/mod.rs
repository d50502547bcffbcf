//! A Redis-compatible server (feature `server`).
//!
//! The server is a library: [`Server::serve`] runs it on any tokio runtime over a listener you
//! bound, so tests and applications can embed it; the `byo` command line's `byo serve redis`
//! is a thin wrapper.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use byo_resp::server::{Config, Server};
//!
//! let mut config = Config::default();
//! config.set("requirepass", "secret").expect("a valid value");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:6379").await?;
//! Server::new(config).serve(listener).await
//! # }
//! ```
//!
//! Inside, the parts are layered so that each can be read (and tested) alone:
//!
//! | module    | what it is                                                             |
//! |-----------|------------------------------------------------------------------------|
//! | `dict`    | the hash table, with Redis's reverse-binary `SCAN` cursor              |
//! | `zset`    | the sorted set: a member table and a skip list with spans (rank)      |
//! | `value`   | what a key holds; the compact byte string used for keys and strings    |
//! | `db`      | one database: keys, values, expiry times, lazy and sampled expiry      |
//! | `store`   | the 16 databases, configuration, client list and counters, one mutex   |
//! | `blocking`| clients blocked by `BLPOP` and friends, served oldest first            |
//! | `pubsub`  | channel and pattern subscriptions, delivery, the output buffer limit   |
//! | `notify`  | keyspace notifications: key changes published as pub/sub messages      |
//! | `aof`     | the append-only file: logging, replay, torn tails, rewrites            |
//! | `persist` | the store's use of the AOF: start-up replay, on/off, once a second     |
//! | `sample`  | random members, distinct or with repeats (`HRANDFIELD`, `SPOP`, ...)   |
//! | `script`  | Lua scripts (`EVAL`): the cache, one call, the busy and kill flags     |
//! | `reply`   | writes replies in RESP2 or RESP3, whichever the client chose           |
//! | `cmd`     | the command table, the checks before a command runs, the commands      |
//! | `net`     | tokio: a task per connection, pipelined batches, scripts on a thread   |
//!
//! Everything below `net` is synchronous and does no I/O.

mod aof;
mod bits;
mod blocking;
mod client;
mod cmd;
mod config;
mod db;
mod dict;
mod glob;
mod long_double;
mod net;
mod notify;
mod persist;
mod pubsub;
mod reply;
mod sample;
mod script;
mod store;
mod stream;
mod value;
mod zset;

use std::sync::Arc;

use tokio::net::TcpListener;

pub use config::{Config, ConfigError};

/// The Redis version whose commands and replies this server reproduces, as reported by
/// `HELLO` and `INFO`: clients use it to decide which commands they may send.
pub const REDIS_VERSION: &str = "7.0.15";

/// A Redis-compatible server over an in-memory store.
#[derive(Debug, Clone)]
pub struct Server {
    shared: Arc<net::Shared>,
}

impl Server {
    /// A server with the given configuration and an empty store.
    pub fn new(config: Config) -> Server {
        let mut store = store::Store::new(config);
        store.apply_config();
        Server { shared: Arc::new(net::Shared::new(store)) }
    }

    /// Accepts and serves connections on `listener` until a client sends `SHUTDOWN` (then
    /// returns `Ok`), or accepting fails for a reason other than a transient one (such as
    /// running out of file descriptors). Connections already open are not closed: they end
    /// with the runtime.
    ///
    /// With `appendonly yes`, the append-only file in `dir` is replayed first (a torn tail is
    /// truncated); a log that cannot be read or is damaged otherwise is an error, and nothing
    /// is served.
    pub async fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        {
            let mut store = self.shared.lock();
            if !store.loaded {
                store.loaded = true;
                if store.config.get("appendonly") == "yes" {
                    store.open_aof()?;
                }
            }
        }
        net::accept_loop(Arc::clone(&self.shared), listener).await
    }
}
