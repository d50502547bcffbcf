//! Everything the connections share: the 16 databases, the configuration, the connected
//! clients as `CLIENT LIST` shows them, and the counters `INFO` reports.
//!
//! One [`Store`] sits behind one mutex. A connection takes the lock once per batch of pipelined
//! commands and runs them all, so commands never interleave and each batch sees a consistent
//! keyspace, as on Redis's single thread, and the lock is taken once per read rather than once
//! per command.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;

use super::aof::Aof;
use super::blocking::Blocked;
use super::config::{Config, output_limit};
use super::db::Db;
use super::notify;
use super::pubsub::{OutputLimit, PubSub, Subscriptions};
use super::script::{ScriptCache, ScriptWatch};
use crate::Limits;

/// The number of databases, as in Redis's default configuration.
pub(crate) const DATABASES: usize = 16;

/// How much of each active expiry cycle may be spent, and how often one runs.
pub(crate) const ACTIVE_EXPIRE_BUDGET_MS: u64 = 25;
/// Keys tested per database per round of the active cycle.
const ACTIVE_EXPIRE_SAMPLES: usize = 20;

/// The shared server state.
#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) dbs: Vec<Db>,
    pub(crate) config: Config,
    pub(crate) clients: BTreeMap<u64, ClientInfo>,
    /// The clients blocked by a blocking command, by id.
    pub(crate) blocked: HashMap<u64, Blocked>,
    /// Channel and pattern subscriptions.
    pub(crate) pubsub: PubSub,
    /// Clients whose outbox received something during the current command, to be woken
    /// when it is over.
    pub(crate) woken: Vec<u64>,
    pub(crate) stats: Stats,
    pub(crate) started: Instant,
    /// What connections read without this store's lock: the running script's state, client
    /// ids, whether a password is required, the shutdown signal.
    pub(crate) lockless: Arc<Lockless>,
    /// Numeric parameters read on every batch, parsed once per `CONFIG SET`.
    pub(crate) cached: Cached,
    /// The append-only file, while `appendonly` is on.
    pub(crate) aof: Option<Aof>,
    /// Whether the log was replayed (once, when the server starts serving).
    pub(crate) loaded: bool,
    /// Scripts by SHA-1, for `EVALSHA`.
    pub(crate) scripts: ScriptCache,
    rng: u64,
}

/// What a connection reads without the store's lock: it is accepted, and may have to be
/// answered, while a script holds the lock (see `net`).
#[derive(Debug)]
pub(crate) struct Lockless {
    /// Whether a script is running, busy, asked to stop.
    pub(crate) script: ScriptWatch,
    /// The id the next connection gets (`CLIENT ID`).
    pub(crate) next_client_id: AtomicU64,
    /// Whether `requirepass` is set, kept by [`Store::apply_config`].
    pub(crate) password_required: AtomicBool,
    /// `SHUTDOWN`: the accept loop stops (a permit is kept if it is not waiting yet).
    pub(crate) shutdown: Notify,
    /// Error replies given while a script held the store (`-BUSY` and the others of
    /// `command_while_busy`), counted here, away from the store's [`Stats`], and added to
    /// them when they are next read or reset ([`Store::settle_errors_while_busy`]). Only the
    /// error counters of this `Stats` are used.
    pub(crate) errors_while_busy: std::sync::Mutex<Stats>,
}

impl Lockless {
    /// Counts an error reply given while a script holds the store.
    pub(crate) fn count_error_while_busy(&self, text: &str) {
        let mut pending =
            self.errors_while_busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.count_error(text.as_bytes());
    }
}

/// Configuration values the hot path reads, kept parsed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cached {
    pub(crate) max_bulk: usize,
    pub(crate) query_buffer_limit: usize,
    pub(crate) maxclients: usize,
    pub(crate) hz: u64,
    /// The keyspace event classes that are published (`notify-keyspace-events`).
    pub(crate) notify: u32,
    pub(crate) pubsub_limit: OutputLimit,
}

/// What other clients can see of a connection (`CLIENT LIST`).
#[derive(Clone, Debug)]
pub(crate) struct ClientInfo {
    pub(crate) addr: SocketAddr,
    pub(crate) laddr: SocketAddr,
    pub(crate) name: Option<Bytes>,
    pub(crate) db: usize,
    pub(crate) created: Instant,
    /// When its last batch of commands ran, in Unix milliseconds: the batch's own clock
    /// reading, so that keeping this costs no second one.
    pub(crate) last_interaction: i64,
    /// The full name of the last command run, such as `client|list`.
    pub(crate) last_command: &'static str,
    pub(crate) resp: u8,
    /// Commands queued by `MULTI`, or -1 outside a transaction.
    pub(crate) multi: i64,
    /// Replies produced for this client by other clients' commands (an element served to it
    /// while blocked, pub/sub messages); its connection writes them when woken.
    pub(crate) outbox: BytesMut,
    /// How much of what the connection took from `outbox` it is still writing; counts
    /// towards the output buffer limit with `outbox`.
    pub(crate) in_flight: usize,
    /// Since when the output has been over the soft limit.
    pub(crate) soft_since: Option<Instant>,
    /// Wakes the connection when `outbox` has something or its state changed.
    pub(crate) wake: Arc<Notify>,
    /// The channels and patterns it subscribes to.
    pub(crate) subscriptions: Subscriptions,
    /// Set when the server disconnects it (`CLIENT KILL`, the output buffer limit): its
    /// connection closes. The connection holds the same flag.
    pub(crate) killed: Arc<AtomicBool>,
}

impl ClientInfo {
    /// A client that just connected.
    pub(crate) fn new(
        addr: SocketAddr,
        laddr: SocketAddr,
        wake: Arc<Notify>,
        killed: Arc<AtomicBool>,
    ) -> ClientInfo {
        let now = Instant::now();
        ClientInfo {
            addr,
            laddr,
            name: None,
            db: 0,
            created: now,
            last_interaction: unix_ms(),
            last_command: "NULL",
            resp: 2,
            multi: -1,
            outbox: BytesMut::new(),
            in_flight: 0,
            soft_since: None,
            wake,
            subscriptions: Subscriptions::default(),
            killed,
        }
    }
}

/// Counters reported by `INFO stats`.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) connections_received: u64,
    pub(crate) commands_processed: u64,
    pub(crate) keyspace_hits: u64,
    pub(crate) keyspace_misses: u64,
    pub(crate) rejected_connections: u64,
    pub(crate) total_net_input_bytes: u64,
    pub(crate) total_net_output_bytes: u64,
    pub(crate) total_error_replies: u64,
    /// Error replies by code (`INFO errorstats`), in the byte order Redis lists them in.
    pub(crate) errors: BTreeMap<String, u64>,
}

/// The most distinct error codes `INFO errorstats` tracks: a script can reply with errors of
/// any code it likes, and each would otherwise stay in the table for good. (Redis 7.2 caps
/// them at the same number.) Errors of further codes still count in `total_error_replies`.
const ERROR_CODES: usize = 128;

impl Stats {
    /// Counts an error reply, `text` without its leading `-`: its code is its first word
    /// when that ends within 31 bytes, as Redis reads it, and `ERR` otherwise.
    pub(crate) fn count_error(&mut self, text: &[u8]) {
        self.total_error_replies += 1;
        let head = &text[..text.len().min(31)];
        let code = match head.iter().position(|&b| b == b' ') {
            Some(end) => &text[..end],
            None => b"ERR",
        };
        // INFO's own separators would break its lines: Redis writes them as `_`.
        let code: String = String::from_utf8_lossy(code)
            .chars()
            .map(|c| if matches!(c, '#' | ':' | '\n' | '\r') { '_' } else { c })
            .collect();
        self.add_to_code(code, 1);
    }

    /// Adds `count` errors of `code` to its tally, if it has one or there is room for one.
    fn add_to_code(&mut self, code: String, count: u64) {
        let tracked = self.errors.len();
        match self.errors.get_mut(&code) {
            Some(tally) => *tally += count,
            None if tracked < ERROR_CODES => {
                self.errors.insert(code, count);
            }
            None => {}
        }
    }

    /// Adds the error counters of `other`, which counted errors away from the store.
    pub(crate) fn add_errors(&mut self, other: Stats) {
        self.total_error_replies += other.total_error_replies;
        for (code, count) in other.errors {
            self.add_to_code(code, count);
        }
    }

    /// Counts the error at the start of an encoded reply, if it is one.
    pub(crate) fn count_if_error(&mut self, reply: &[u8]) {
        if let Some(line) = reply.strip_prefix(b"-") {
            let end = line.iter().position(|&b| b == b'\r').unwrap_or(line.len());
            self.count_error(&line[..end]);
        }
    }
}

impl Store {
    /// An empty store with the given configuration.
    pub(crate) fn new(config: Config) -> Store {
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        Store {
            dbs: (0..DATABASES).map(|_| Db::default()).collect(),
            config,
            clients: BTreeMap::new(),
            blocked: HashMap::new(),
            pubsub: PubSub::default(),
            woken: Vec::new(),
            aof: None,
            loaded: false,
            scripts: ScriptCache::default(),
            stats: Stats::default(),
            started: Instant::now(),
            lockless: Arc::new(Lockless {
                script: ScriptWatch::default(),
                next_client_id: AtomicU64::new(1),
                password_required: AtomicBool::new(false),
                shutdown: Notify::new(),
                errors_while_busy: std::sync::Mutex::default(),
            }),
            cached: Cached::default(),
            rng: seed | 1,
        }
    }

    /// Adds the errors counted while a script held the store to the statistics.
    pub(crate) fn settle_errors_while_busy(&mut self) {
        let pending = std::mem::take(
            &mut *self
                .lockless
                .errors_while_busy
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        self.stats.add_errors(pending);
    }

    /// Re-reads the parameters the server caches; called after every configuration change.
    pub(crate) fn apply_config(&mut self) {
        let required = !self.config.get("requirepass").is_empty();
        self.lockless.password_required.store(required, Ordering::SeqCst);
        let int = |name| usize::try_from(self.config.get_int(name)).unwrap_or(usize::MAX);
        self.cached = Cached {
            max_bulk: int("proto-max-bulk-len"),
            query_buffer_limit: int("client-query-buffer-limit"),
            maxclients: int("maxclients"),
            hz: self.config.get_int("hz").clamp(1, 500) as u64,
            notify: notify::parse_flags(self.config.get("notify-keyspace-events")).unwrap_or(0),
            pubsub_limit: {
                let value = self.config.get("client-output-buffer-limit");
                let [hard, soft, seconds] = output_limit(value, "pubsub").unwrap_or([0, 0, 0]);
                let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
                OutputLimit { hard: size(hard), soft: size(soft), soft_seconds: seconds }
            },
        };
        let recorded = notify::recorded(self.cached.notify);
        for db in &mut self.dbs {
            db.notify = recorded;
            if recorded == 0 {
                db.events.clear();
            }
        }
    }

    /// The request parser's limits under the current configuration.
    pub(crate) fn limits(&self) -> Limits {
        Limits { max_bulk: self.cached.max_bulk, ..Limits::default() }
    }

    /// A random number source borrowing only the generator, so that it can be passed to a
    /// database method while the database is borrowed too.
    pub(crate) fn split_random(&mut self) -> (&mut Vec<Db>, impl FnMut() -> u64 + '_) {
        let rng = &mut self.rng;
        (&mut self.dbs, move || next_random(rng))
    }

    /// One active expiry cycle: in every database, sample volatile keys and remove expired
    /// ones, repeating while more than a quarter of a sample had expired, until `deadline`.
    /// Returns how many keys were removed.
    pub(crate) fn active_expire(&mut self, now: i64, deadline: Instant) -> u64 {
        let mut removed = 0;
        let (dbs, mut random) = self.split_random();
        for db in dbs.iter_mut() {
            loop {
                let (sampled, expired) = db.expire_sample(now, ACTIVE_EXPIRE_SAMPLES, &mut random);
                removed += expired as u64;
                if sampled == 0 || expired * 4 <= sampled || Instant::now() >= deadline {
                    break;
                }
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        removed
    }
}

fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// The current Unix time in milliseconds.
pub(crate) fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::{ERROR_CODES, Stats};

    #[test]
    fn errors_count_by_code_as_redis_reads_it() {
        let mut stats = Stats::default();
        stats.count_error(b"ERR wrong number of arguments for 'get' command");
        stats.count_error(b"WRONGTYPE Operation against a key holding the wrong kind of value");
        stats.count_error(b"NOSPACEINTHEFIRSTTHIRTYONEBYTESOFIT at all");
        stats.count_error(b"MY:CODE#1 with separators");
        stats.count_if_error(b"-NOSCRIPT No matching script.\r\n");
        stats.count_if_error(b"+OK\r\n");
        let counted: Vec<(&str, u64)> =
            stats.errors.iter().map(|(c, n)| (c.as_str(), *n)).collect();
        let expected = [("ERR", 2), ("MY_CODE_1", 1), ("NOSCRIPT", 1), ("WRONGTYPE", 1)];
        assert_eq!(counted, expected);
        assert_eq!(stats.total_error_replies, 5);
    }

    #[test]
    fn the_codes_tracked_are_bounded() {
        let mut stats = Stats::default();
        for i in 0..ERROR_CODES + 10 {
            stats.count_error(format!("CODE{i} text").as_bytes());
        }
        stats.count_error(b"CODE0 again");
        assert_eq!(stats.errors.len(), ERROR_CODES);
        assert_eq!(stats.errors["CODE0"], 2);
        assert_eq!(stats.total_error_replies, ERROR_CODES as u64 + 11);
    }

    #[test]
    fn errors_counted_apart_add_up_within_the_same_bound() {
        let mut stats = Stats::default();
        for i in 0..ERROR_CODES - 1 {
            stats.count_error(format!("CODE{i} text").as_bytes());
        }
        let mut apart = Stats::default();
        apart.count_error(b"BUSY Redis is busy");
        apart.count_error(b"BUSY Redis is busy");
        apart.count_error(b"CODE0 again");
        apart.count_error(b"NOAUTH Authentication required.");
        stats.add_errors(apart);
        assert_eq!(stats.errors["BUSY"], 2);
        assert_eq!(stats.errors["CODE0"], 2);
        assert!(!stats.errors.contains_key("NOAUTH")); // past the bound
        assert_eq!(stats.total_error_replies, ERROR_CODES as u64 - 1 + 4);
    }
}
