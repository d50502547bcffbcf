//! Blocking commands: a client that asks `BLPOP` (or `BRPOP`, `BLMOVE`, `BLMPOP`,
//! `BRPOPLPUSH`, `BZPOPMIN`, `BZPOPMAX`, `BZMPOP`) of keys that are all empty waits until one
//! of them gets an element.
//!
//! The bookkeeping is Redis's:
//!
//! - The blocked client is recorded in the store ([`Blocked`]: its database, keys, operation and
//!   deadline) and appended to the queue of every key it waits on
//!   ([`Db::blocking`](super::db::Db)). Its connection stops executing commands; later ones
//!   stay in its input buffer.
//! - A key a client waits on cannot exist (otherwise the command would not have blocked), so
//!   what serves it is the key's creation. The database notes such keys in `ready`; after each
//!   command, [`serve_ready`] takes them in order and serves each key's queue **oldest client
//!   first** while the key has elements, performing the pop on the client's behalf. That is
//!   the FIFO wake-up: among clients blocked on one key, the one that blocked first is served
//!   first, whichever key the element went to. A `BLMOVE` served this way pushes onto its
//!   destination, which may in turn be a key someone waits on: it becomes ready too, and is
//!   served in the same loop.
//! - The served reply is written into the client's outbox and its connection is woken; a
//!   client whose deadline passes first is unblocked with a null reply ([`time_out`]).
//!
//! Because serving happens after the command that created the key, a `MULTI`/`EXEC` that
//! pushes and pops the same key never lets a blocked client see the intermediate state, and a
//! variadic `LPUSH` delivers the last element pushed (the head), as in Redis.

use std::collections::VecDeque;

use super::cmd::{PopShape, StreamRead, serve_blocked};
use super::reply::Reply;
use super::store::Store;
use super::value::Str;

/// What a blocked client will do once one of its keys has an element.
#[derive(Clone, Debug)]
pub(crate) enum BlockOp {
    /// `BLPOP` / `BRPOP`: pop one element from the head (`left`) or tail; reply `[key, element]`.
    Pop { left: bool },
    /// `BLMPOP`: pop up to `count` elements; reply `[key, [elements]]`.
    PopMany { left: bool, count: usize },
    /// `BLMOVE` / `BRPOPLPUSH`: pop from one end, push onto `to`; reply the element.
    Move { to: Str, from_left: bool, to_left: bool },
    /// `BZPOPMIN` / `BZPOPMAX` / `BZMPOP`: pop up to `count` members from the low (or high)
    /// end of a sorted set.
    ZPop { max: bool, count: usize, shape: PopShape },
    /// `XREAD BLOCK` / `XREADGROUP BLOCK`: read the entries added to a stream after an ID.
    Stream(Box<StreamRead>),
}

impl BlockOp {
    /// The command that has the effect of serving `key` (logged to the AOF: replay must not
    /// block). Stream reads log their own effects.
    pub(crate) fn logged_as(&self, key: &[u8]) -> Vec<Vec<u8>> {
        let end = |left: bool| if left { b"LEFT".to_vec() } else { b"RIGHT".to_vec() };
        let words: Vec<Vec<u8>> = match self {
            BlockOp::Pop { left } => {
                vec![if *left { b"LPOP".to_vec() } else { b"RPOP".to_vec() }, key.to_vec()]
            }
            BlockOp::PopMany { left, count } => vec![
                b"LMPOP".to_vec(),
                b"1".to_vec(),
                key.to_vec(),
                end(*left),
                b"COUNT".to_vec(),
                count.to_string().into_bytes(),
            ],
            BlockOp::Move { to, from_left, to_left } => vec![
                b"LMOVE".to_vec(),
                key.to_vec(),
                to.as_bytes().to_vec(),
                end(*from_left),
                end(*to_left),
            ],
            BlockOp::ZPop { max, count, .. } => vec![
                if *max { b"ZPOPMAX".to_vec() } else { b"ZPOPMIN".to_vec() },
                key.to_vec(),
                count.to_string().into_bytes(),
            ],
            BlockOp::Stream(_) => Vec::new(),
        };
        words
    }
}

/// A blocked client, as the store records it.
#[derive(Debug)]
pub(crate) struct Blocked {
    /// The database its keys are in.
    pub(crate) db: usize,
    /// The keys it waits on, without repeats, in the order it named them.
    pub(crate) keys: Vec<Str>,
    pub(crate) op: BlockOp,
    /// Whether to reply in RESP3.
    pub(crate) resp3: bool,
    /// Unix milliseconds after which it gives up; `None` waits forever (timeout 0).
    pub(crate) deadline: Option<i64>,
}

/// Blocks client `id` on `blocked.keys`.
pub(crate) fn block(store: &mut Store, id: u64, mut blocked: Blocked) {
    let mut unique: Vec<Str> = Vec::with_capacity(blocked.keys.len());
    for key in blocked.keys.drain(..) {
        if !unique.contains(&key) {
            unique.push(key);
        }
    }
    let db = &mut store.dbs[blocked.db];
    for key in &unique {
        match db.blocking.get_mut(key.as_bytes()) {
            Some(queue) => queue.push_back(id),
            None => {
                db.blocking.insert_new(key.clone(), VecDeque::from([id]));
            }
        }
    }
    blocked.keys = unique;
    store.blocked.insert(id, blocked);
}

/// Removes client `id` from every queue it is in; returns what it was blocked on.
pub(crate) fn unblock(store: &mut Store, id: u64) -> Option<Blocked> {
    let blocked = store.blocked.remove(&id)?;
    let db = &mut store.dbs[blocked.db];
    for key in &blocked.keys {
        if let Some(queue) = db.blocking.get_mut(key.as_bytes()) {
            queue.retain(|&waiting| waiting != id);
            if queue.is_empty() {
                db.blocking.remove(key.as_bytes());
            }
        }
    }
    Some(blocked)
}

/// Unblocks client `id` because its deadline passed, writing the timeout reply into `out`;
/// nothing if it was served in the meantime.
pub(crate) fn time_out(store: &mut Store, id: u64, out: &mut Reply<'_>) {
    if unblock(store, id).is_some() {
        // Redis answers a timed-out pop with a null array, even for BLMOVE.
        out.null_array();
    }
}

/// `CLIENT UNBLOCK`: unblocks client `id` as if it timed out, or with an `-UNBLOCKED` error;
/// returns false if it was not blocked.
pub(crate) fn release(store: &mut Store, id: u64, with_error: bool) -> bool {
    let Some(blocked) = unblock(store, id) else { return false };
    if let Some(info) = store.clients.get_mut(&id) {
        let mut out = Reply::new(&mut info.outbox, blocked.resp3);
        if with_error {
            store.stats.count_error(b"UNBLOCKED client unblocked via CLIENT UNBLOCK");
            out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
        } else {
            out.null_array();
        }
        info.wake.notify_one();
    }
    true
}

/// Serves the clients blocked on keys that were created by the last command.
pub(crate) fn serve_ready(store: &mut Store, now: i64) {
    if store.blocked.is_empty() {
        return;
    }
    while let Some(db) = store.dbs.iter().position(|db| !db.ready.is_empty()) {
        let key = store.dbs[db].ready.remove(0);
        serve_key(store, db, &key, now);
    }
}

/// Serves the queue of `key`, oldest first: each client whose operation the key can satisfy
/// now (a pop while the key has elements, a stream read if the stream has entries after the
/// client's ID) is served and unblocked; the others keep their place.
fn serve_key(store: &mut Store, db: usize, key: &Str, now: i64) {
    let Some(queue) = store.dbs[db].blocking.get(key.as_bytes()) else { return };
    let waiting: Vec<u64> = queue.iter().copied().collect();
    for id in waiting {
        let (Some(blocked), Some(info)) = (store.blocked.get(&id), store.clients.get_mut(&id))
        else {
            // Cannot happen (a disconnecting client unblocks first), but must not stall the
            // clients behind it.
            forget(store, db, key, id);
            continue;
        };
        let (op, resp3) = (blocked.op.clone(), blocked.resp3);
        let mut outbox = std::mem::take(&mut info.outbox);
        let start = outbox.len();
        let logged = {
            let mut out = Reply::new(&mut outbox, resp3);
            serve_blocked(&mut store.dbs[db], key.as_bytes(), &op, &mut out, now)
        };
        // A served client may be answered with an error (`WRONGTYPE`, `NOGROUP`).
        store.stats.count_if_error(&outbox[start..]);
        if let Some(info) = store.clients.get_mut(&id) {
            info.outbox = outbox;
            if logged.is_some() {
                info.wake.notify_one();
            }
        }
        let Some(logged) = logged else { continue };
        if store.aof.is_some() {
            for command in &logged {
                let parts: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
                store.propagate(db, &parts);
            }
        }
        unblock(store, id);
    }
}

/// Drops `id` from the queue of `key` and from the blocked clients.
fn forget(store: &mut Store, db: usize, key: &Str, id: u64) {
    if unblock(store, id).is_none()
        && let Some(queue) = store.dbs[db].blocking.get_mut(key.as_bytes())
    {
        queue.retain(|&waiting| waiting != id);
        if queue.is_empty() {
            store.dbs[db].blocking.remove(key.as_bytes());
        }
    }
}
