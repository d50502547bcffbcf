//! Transactions: `MULTI`, `EXEC`, `DISCARD`, `WATCH`, `UNWATCH`.
//!
//! After `MULTI`, commands are checked (existence, arity, authentication) and queued instead of
//! run; a command that fails those checks dooms the transaction, and `EXEC` then answers
//! `EXECABORT`. `EXEC` runs the queue as one batch, with nothing in between: the store's lock
//! is already held for the whole batch of the connection.
//!
//! `WATCH` is optimistic locking. Each database counts the modifications of the keys someone
//! watches ([`Db::watch`](crate::server::db::Db)); `WATCH` records the count, and `EXEC` runs
//! only if no watched count moved and no key that was live when watched has expired since.
//! A key that had already expired when it was watched may be removed by expiry without failing
//! the transaction, as in Redis 7.0.

use bytes::Bytes;

use super::{Command, Ctx, FAST, LOADING, RUNS_IN_MULTI, STALE, command, run};
use crate::server::client::{Client, Watched};
use crate::server::store::Store;
use crate::server::value::Str;

pub(super) const COMMANDS: &[Command] = &[
    command(
        "multi",
        1,
        FAST | LOADING | STALE | RUNS_IN_MULTI,
        (0, 0, 0),
        "@fast @transaction",
        multi,
    ),
    command("exec", 1, LOADING | STALE | RUNS_IN_MULTI, (0, 0, 0), "@slow @transaction", exec),
    command(
        "discard",
        1,
        FAST | LOADING | STALE | RUNS_IN_MULTI,
        (0, 0, 0),
        "@fast @transaction",
        discard,
    ),
    command(
        "watch",
        -2,
        FAST | LOADING | STALE | RUNS_IN_MULTI,
        (1, -1, 1),
        "@fast @transaction",
        watch,
    ),
    command("unwatch", 1, FAST | LOADING | STALE, (0, 0, 0), "@fast @transaction", unwatch),
];

fn multi(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    if ctx.client.multi.is_some() {
        return ctx.error("ERR MULTI calls can not be nested");
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_failed = false;
    set_listed_count(ctx, 0);
    ctx.out.ok();
}

/// Keeps `CLIENT LIST`'s `multi=` field current.
pub(super) fn set_listed_count(ctx: &mut Ctx<'_>, count: i64) {
    if let Some(info) = ctx.store.clients.get_mut(&ctx.client.id) {
        info.multi = count;
    }
}

fn exec(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    let Some(queue) = ctx.client.multi.take() else {
        return ctx.error("ERR EXEC without MULTI");
    };
    set_listed_count(ctx, -1);
    if std::mem::take(&mut ctx.client.multi_failed) {
        unwatch_all(ctx.store, ctx.client);
        return ctx.error("EXECABORT Transaction discarded because of previous errors.");
    }
    let dirty = watched_changed(ctx);
    unwatch_all(ctx.store, ctx.client);
    if dirty {
        return ctx.out.null_array();
    }
    ctx.out.array_len(queue.len());
    // Restored after: the AOF's loading client never blocks, in or out of a transaction.
    let was_in_exec = std::mem::replace(&mut ctx.client.in_exec, true);
    if let Some(aof) = &mut ctx.store.aof {
        aof.begin_exec();
    }
    for (command, args) in queue {
        run(ctx, command, &args);
    }
    if let Some(aof) = &mut ctx.store.aof {
        aof.end_exec();
    }
    ctx.client.in_exec = was_in_exec;
}

/// Whether any key this client watches was modified, or expired, since it was watched.
fn watched_changed(ctx: &mut Ctx<'_>) -> bool {
    let now = ctx.now;
    ctx.client.watched.iter().any(|w| {
        let db = &mut ctx.store.dbs[w.db];
        db.watch_version(w.key.as_bytes()) != w.version
            || (w.live && !db.exists(w.key.as_bytes(), now))
    })
}

fn discard(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    if ctx.client.multi.take().is_none() {
        return ctx.error("ERR DISCARD without MULTI");
    }
    ctx.client.multi_failed = false;
    set_listed_count(ctx, -1);
    unwatch_all(ctx.store, ctx.client);
    ctx.out.ok();
}

fn watch(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if ctx.client.multi.is_some() {
        return ctx.error("ERR WATCH inside MULTI is not allowed");
    }
    let (db_index, now) = (ctx.client.db, ctx.now);
    for key in &args[1..] {
        if ctx.client.watched.iter().any(|w| w.db == db_index && w.key.as_bytes() == &key[..]) {
            continue;
        }
        let db = &mut ctx.store.dbs[db_index];
        // Whether the key is live, without removing it if it has expired: a stale key's
        // removal by expiry must not count as a change.
        let live = db.keys().get(&key[..]).is_some() && db.is_live(key, now);
        let version = db.watch(key);
        ctx.client.watched.push(Watched { db: db_index, key: Str::new(key), version, live });
    }
    ctx.out.ok();
}

fn unwatch(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    unwatch_all(ctx.store, ctx.client);
    ctx.out.ok();
}

/// Forgets every key `client` watches; also run when it disconnects.
pub(crate) fn unwatch_all(store: &mut Store, client: &mut Client) {
    for watched in client.watched.drain(..) {
        store.dbs[watched.db].unwatch(watched.key.as_bytes());
    }
}
