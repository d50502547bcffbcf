//! One numbered database: the keys, their values, and the expiry times of the volatile ones.
//!
//! Expiry times live in a second table (`expires`) holding only keys that have a TTL, as in
//! Redis: persistent keys pay nothing for the feature, and the active expiry cycle samples
//! volatile keys directly instead of searching the whole keyspace for them.
//!
//! Expired keys are removed two ways:
//!
//! - **Lazily**: every read or write goes through [`Db::lookup`] (or [`Db::get`] and its kin), which
//!   deletes the key first if its time has passed. A client can therefore never observe an
//!   expired key, whatever the active cycle has or has not done.
//! - **Actively**: [`Db::expire_sample`] tests a few random volatile keys, so that keys nobody
//!   reads again still give their memory back. [`Store`](super::store::Store) runs it in a
//!   time-bounded loop.
//!
//! Every method that changes a key counts the change for `WATCH` (one table lookup, and only
//! while some key of the database is watched), except removal by expiry: a key that expires
//! was already gone for every client, and `EXEC` detects expiry separately.
//!
//! Times are Unix milliseconds as `i64`, as Redis keeps them (`EXPIREAT` accepts negative ones).
//!
//! A database also knows which clients are blocked on which of its keys (`BLPOP` and friends).
//! Such a client waits for a key that does not exist, so the only event that can serve it is
//! the key's creation: [`Db::add`], [`Db::set`] and [`Db::rename`] put a key someone waits on
//! in `ready`, and after the command the server serves the waiting clients in arrival order
//! ([`blocking`](super::blocking)). Stream readers (`XREAD BLOCK`) wait on streams that may
//! exist: `XADD` signals its key itself ([`Db::signal_ready`]), and so does every path that
//! removes or replaces a stream, because a reader blocked in a consumer group must then be
//! told that its group is gone.

use std::collections::VecDeque;

use super::dict::Dict;
use super::notify::{self, Event};
use super::value::{Kind, Str, Value, WrongType};

/// A database: keys, values and expiry times.
#[derive(Debug, Default)]
pub(crate) struct Db {
    keys: Dict<Str, Value>,
    /// Unix milliseconds at which each volatile key expires; every key here is in `keys`.
    expires: Dict<Str, i64>,
    /// Keys removed because their time passed (`INFO`'s `expired_keys`, summed over databases).
    pub(crate) expired: u64,
    /// The keys some client `WATCH`es: how often each was modified, and by how many watched.
    watched: Dict<Str, Watch>,
    /// The clients blocked on each key, oldest first.
    pub(crate) blocking: Dict<Str, VecDeque<u64>>,
    /// Keys created since the last command while some client was blocked on them.
    pub(crate) ready: Vec<Str>,
    /// The keyspace event classes to record (none unless notifications are on).
    pub(crate) notify: u32,
    /// Keyspace events recorded since they were last published.
    pub(crate) events: Vec<Event>,
    /// Changes made, counted by every path that changes a key (Redis's `server.dirty`): a
    /// command that moved it is logged to the AOF.
    pub(crate) dirty: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Watch {
    version: u64,
    watchers: u32,
}

impl Db {
    /// The number of keys, counting expired ones not yet removed (as `DBSIZE` does).
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The number of keys with a TTL.
    pub(crate) fn volatile_len(&self) -> usize {
        self.expires.len()
    }

    /// Whether `key` exists and has expired at `now`.
    fn is_expired(&self, key: &[u8], now: i64) -> bool {
        self.expires.get(key).is_some_and(|&at| at <= now)
    }

    /// Removes `key` if it has expired; returns whether it did.
    pub(crate) fn expire_if_needed(&mut self, key: &[u8], now: i64) -> bool {
        if self.is_expired(key, now) {
            self.remove_expired(key);
            true
        } else {
            false
        }
    }

    /// The live value of `key` at `now` (an expired key is removed first).
    pub(crate) fn lookup(&mut self, key: &[u8], now: i64) -> Option<&Value> {
        self.expire_if_needed(key, now);
        self.keys.get(key)
    }

    /// The value at `key` as a `T`: `Ok(None)` if there is none, `Err` if it has another type.
    pub(crate) fn get<T: Kind>(&mut self, key: &[u8], now: i64) -> Result<Option<&T>, WrongType> {
        match self.lookup(key, now) {
            None => Ok(None),
            Some(value) => T::of(value).map(Some).ok_or(WrongType),
        }
    }

    /// Like [`Db::get`], to change the value in place (a change for `WATCH` only if the type
    /// is right). A caller that empties an aggregate must [`remove`](Db::remove) the key.
    pub(crate) fn get_mut<T: Kind>(
        &mut self,
        key: &[u8],
        now: i64,
    ) -> Result<Option<&mut T>, WrongType> {
        match self.lookup(key, now) {
            None => return Ok(None),
            Some(value) if T::of(value).is_none() => return Err(WrongType),
            Some(_) => {}
        }
        self.touch(key);
        Ok(self.keys.get_mut(key).and_then(T::of_mut))
    }

    /// The `T` at `key`, created empty if the key does not exist.
    pub(crate) fn get_or_create<T: Kind>(
        &mut self,
        key: &[u8],
        now: i64,
    ) -> Result<&mut T, WrongType> {
        if self.lookup(key, now).is_none() {
            self.add(key, T::new_value());
        }
        self.get_mut(key, now)?.ok_or(WrongType)
    }

    /// Whether `key` is live at `now`.
    pub(crate) fn exists(&mut self, key: &[u8], now: i64) -> bool {
        self.lookup(key, now).is_some()
    }

    /// Stores `value` under `key`. The key's TTL is cleared unless `keep_ttl`.
    pub(crate) fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool) {
        self.touch(key);
        match self.keys.get_mut(key) {
            Some(slot) => {
                let was_stream = matches!(slot, Value::Stream(_));
                *slot = value;
                if was_stream {
                    self.signal_ready(key);
                }
            }
            None => {
                self.keys.insert_new(Str::new(key), value);
                self.signal_ready(key);
                self.notify(notify::NEW, "new", key);
            }
        }
        if !keep_ttl {
            self.expires.remove(key);
        }
    }

    /// Stores `value` under `key`, known to be absent (after a failed lookup).
    pub(crate) fn add(&mut self, key: &[u8], value: Value) -> &mut Value {
        self.touch(key);
        self.signal_ready(key);
        self.notify(notify::NEW, "new", key);
        self.keys.insert_new(Str::new(key), value)
    }

    /// Notes that `key` was created, or that the stream at `key` changed, if a client is
    /// blocked on it.
    pub(crate) fn signal_ready(&mut self, key: &[u8]) {
        if self.blocking.len() > 0
            && self.blocking.contains_key(key)
            && !self.ready.iter().any(|k| k.as_bytes() == key)
        {
            self.ready.push(Str::new(key));
        }
    }

    /// Removes `key` and its TTL, returning its value.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let value = self.keys.remove(key)?;
        self.expires.remove(key);
        self.touch(key);
        if matches!(value, Value::Stream(_)) {
            self.signal_ready(key);
        }
        Some(value)
    }

    /// Removes a key whose time has passed (not a change for `WATCH`; counted as expired).
    fn remove_expired(&mut self, key: &[u8]) {
        if let Some(Value::Stream(_)) = self.keys.remove(key) {
            self.signal_ready(key);
        }
        self.expires.remove(key);
        self.expired += 1;
        self.notify(notify::EXPIRED, "expired", key);
    }

    /// Counts a change of `key` if it is watched.
    fn touch(&mut self, key: &[u8]) {
        self.dirty += 1;
        if self.watched.len() > 0
            && let Some(watch) = self.watched.get_mut(key)
        {
            watch.version += 1;
        }
    }

    /// Starts watching `key` for one more client; returns its modification count.
    pub(crate) fn watch(&mut self, key: &[u8]) -> u64 {
        let watch = match self.watched.get_mut(key) {
            Some(watch) => watch,
            None => self.watched.insert_new(Str::new(key), Watch::default()),
        };
        watch.watchers += 1;
        watch.version
    }

    /// One client fewer watches `key`.
    pub(crate) fn unwatch(&mut self, key: &[u8]) {
        if let Some(watch) = self.watched.get_mut(key) {
            watch.watchers -= 1;
            if watch.watchers == 0 {
                self.watched.remove(key);
            }
        }
    }

    /// The modification count of a watched key (0 if nobody watches it).
    pub(crate) fn watch_version(&self, key: &[u8]) -> u64 {
        self.watched.get(key).map_or(0, |w| w.version)
    }

    /// The expiry time of `key`, if it has one.
    pub(crate) fn expire_at(&self, key: &[u8]) -> Option<i64> {
        self.expires.get(key).copied()
    }

    /// Sets the expiry time of `key`, which must exist.
    pub(crate) fn set_expire(&mut self, key: &[u8], at: i64) {
        self.touch(key);
        match self.expires.get_mut(key) {
            Some(slot) => *slot = at,
            None => {
                debug_assert!(self.keys.contains_key(key), "a TTL on a missing key");
                self.expires.insert_new(Str::new(key), at);
            }
        }
    }

    /// Removes the TTL of `key`; returns whether it had one.
    pub(crate) fn persist(&mut self, key: &[u8]) -> bool {
        let had = self.expires.remove(key).is_some();
        if had {
            self.touch(key);
        }
        had
    }

    /// Removes every key.
    pub(crate) fn clear(&mut self) {
        // Watched keys that exist are modified by the flush; absent ones are not.
        self.touch_watched_present(None);
        self.dirty += 1;
        let streams: Vec<Str> = self
            .blocking
            .keys()
            .filter(|key| matches!(self.keys.get(key.as_bytes()), Some(Value::Stream(_))))
            .cloned()
            .collect();
        streams.iter().for_each(|key| self.signal_ready(key.as_bytes()));
        self.keys.clear();
        self.expires.clear();
    }

    /// Runs `change` on the bytes of the string at `key` as a buffer that can grow, after
    /// creating an empty string if the key is missing. `change` returns its result and
    /// whether it changed the string; creating the key counts as a change. A change is
    /// counted once, and only a change (`SETBIT` and `BITFIELD`, whose writes may leave every
    /// bit as it was, change nothing then, as in Redis).
    pub(crate) fn change_string<R>(
        &mut self,
        key: &[u8],
        now: i64,
        change: impl FnOnce(&mut Vec<u8>) -> (R, bool),
    ) -> Result<(R, bool), WrongType> {
        let created = self.get::<Str>(key, now)?.is_none();
        if created {
            // `add` counts the creation as the change.
            self.add(key, Value::Str(Str::Growable(Box::default())));
        }
        // The key holds a string: it was just checked or created.
        let Some(Value::Str(s)) = self.keys.get_mut(key) else { return Err(WrongType) };
        let (result, changed) = change(s.make_growable());
        if changed && !created {
            self.touch(key);
        }
        Ok((result, changed || created))
    }

    /// `SWAPDB`: `self` and `other` trade their keys and expiry times. What belongs to the
    /// database's number stays: who watches which key, who is blocked on which, and the
    /// keyspace events. So a watched key that exists on either side before the swap counts as
    /// modified, and a client blocked on a key that the swap brings in is served.
    pub(crate) fn swap_contents(&mut self, other: &mut Db) {
        self.touch_watched_present(Some(other));
        other.touch_watched_present(Some(self));
        std::mem::swap(&mut self.keys, &mut other.keys);
        std::mem::swap(&mut self.expires, &mut other.expires);
        for db in [self, other] {
            db.dirty += 1;
            let arrived: Vec<Str> = db
                .blocking
                .keys()
                .filter(|k| db.keys.contains_key(k.as_bytes()))
                .cloned()
                .collect();
            arrived.iter().for_each(|key| db.signal_ready(key.as_bytes()));
        }
    }

    /// Counts a change of every key watched here that exists here (or in `other`).
    fn touch_watched_present(&mut self, other: Option<&Db>) {
        let exists = |db: &Db, key: &Str| db.keys.contains_key(key.as_bytes());
        let present: Vec<Str> = self
            .watched
            .keys()
            .filter(|k| exists(self, k) || other.is_some_and(|other| exists(other, k)))
            .cloned()
            .collect();
        present.iter().for_each(|key| self.touch(key.as_bytes()));
    }

    /// The keys table, for iteration by `KEYS` and `SCAN` (callers skip expired keys with
    /// [`Db::is_live`]).
    pub(crate) fn keys(&self) -> &Dict<Str, Value> {
        &self.keys
    }

    /// Whether `key` (known to be present) is still live at `now`, without removing it.
    pub(crate) fn is_live(&self, key: &[u8], now: i64) -> bool {
        !self.is_expired(key, now)
    }

    /// A random live key, removing expired ones it meets (as `RANDOMKEY` does).
    pub(crate) fn random_key(&mut self, now: i64, mut random: impl FnMut() -> u64) -> Option<Str> {
        // If every key is volatile, they may all be expired: bound the attempts, like Redis,
        // and then answer with one of them rather than spin.
        let all_volatile = self.keys.len() == self.expires.len();
        for attempt in 0.. {
            let key = self.keys.random(&mut random)?.0.clone();
            if self.is_expired(key.as_bytes(), now) {
                if all_volatile && attempt >= 100 {
                    return Some(key);
                }
                self.remove_expired(key.as_bytes());
                continue;
            }
            return Some(key);
        }
        None
    }

    /// Tests up to `samples` random volatile keys and removes the expired ones. Returns how
    /// many were tested and how many removed.
    pub(crate) fn expire_sample(
        &mut self,
        now: i64,
        samples: usize,
        mut random: impl FnMut() -> u64,
    ) -> (usize, usize) {
        let samples = samples.min(self.expires.len());
        let mut expired = 0;
        for _ in 0..samples {
            let Some((key, &at)) = self.expires.random(&mut random) else { break };
            if at <= now {
                let key = key.clone();
                self.remove_expired(key.as_bytes());
                expired += 1;
            }
        }
        (samples, expired)
    }

    /// Moves `from` to `to` (overwriting it) with its TTL.
    pub(crate) fn rename(&mut self, from: &[u8], to: &[u8]) {
        let expire = self.expires.remove(from);
        self.touch(from);
        self.touch(to);
        if let Some(value) = self.keys.remove(from) {
            if matches!(value, Value::Stream(_)) {
                self.signal_ready(from);
            }
            self.remove(to);
            self.keys.insert_new(Str::new(to), value);
            self.signal_ready(to);
            self.notify(notify::NEW, "new", to);
            if let Some(at) = expire {
                self.expires.insert_new(Str::new(to), at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Db;
    use crate::server::value::{Str, Value};

    fn string(text: &str) -> Value {
        Value::Str(Str::new(text.as_bytes()))
    }

    #[test]
    fn expired_keys_are_invisible_and_removed_on_access() {
        let mut db = Db::default();
        db.set(b"a", string("1"), false);
        db.set_expire(b"a", 100);
        assert!(db.exists(b"a", 99));
        assert_eq!(db.len(), 1);
        assert!(!db.exists(b"a", 100));
        assert_eq!(db.len(), 0);
        assert_eq!(db.volatile_len(), 0);
    }

    #[test]
    fn set_clears_the_ttl_unless_kept() {
        let mut db = Db::default();
        db.set(b"a", string("1"), false);
        db.set_expire(b"a", 100);
        db.set(b"a", string("2"), true);
        assert_eq!(db.expire_at(b"a"), Some(100));
        db.set(b"a", string("3"), false);
        assert_eq!(db.expire_at(b"a"), None);
    }

    #[test]
    fn sampling_removes_only_expired_keys() {
        let mut db = Db::default();
        for i in 0..100 {
            let key = format!("k{i}");
            db.set(key.as_bytes(), string("v"), false);
            db.set_expire(key.as_bytes(), if i < 50 { 10 } else { 1000 });
        }
        let mut x = 9u64;
        let mut random = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..100 {
            db.expire_sample(500, 20, &mut random);
        }
        assert_eq!(db.len(), 50);
        assert!(db.keys().keys().all(|k| db.expire_at(k.as_bytes()) == Some(1000)));
    }

    #[test]
    fn rename_moves_the_ttl() {
        let mut db = Db::default();
        db.set(b"a", string("1"), false);
        db.set_expire(b"a", 100);
        db.set(b"b", string("2"), false);
        db.rename(b"a", b"b");
        assert!(!db.exists(b"a", 0));
        assert_eq!(db.expire_at(b"b"), Some(100));
        assert!(matches!(db.lookup(b"b", 0), Some(Value::Str(s)) if s.as_bytes() == b"1"));
    }
}
