//! The command table and the dispatcher that checks a request before running it.
//!
//! Every command is a [`Command`]: its name, its arity (`n` exactly, or `-n` at least, counting
//! the name), flags, where its keys are, and the function that runs it. Checking follows
//! Redis's `processCommand`, in its order, because clients see which error wins:
//!
//! 1. the command (and subcommand) must exist,
//! 2. the arity must match,
//! 3. a client that must authenticate may only run `AUTH`, `HELLO`, `QUIT` and `RESET`,
//! 4. a RESP2 client with subscriptions may only run the pub/sub commands, `PING`, `QUIT` and
//!    `RESET`,
//! 5. inside `MULTI`, everything but `EXEC`, `DISCARD`, `MULTI`, `WATCH`, `QUIT` and `RESET`
//!    is queued (and a command that failed steps 1-3 dooms the transaction).

use std::collections::HashMap;

use foldhash::fast::FixedState;
use std::sync::LazyLock;

use bytes::Bytes;

use super::client::Client;
use super::db::Db;
use super::reply::Reply;
use super::sample::MAX_DRAWS;
use super::store::Store;
use super::value::{Kind, Str, Value, WrongType};

mod bitmaps;
mod connection;
mod hashes;
mod keys;
mod lcs;
mod lists;
mod pops;
mod pubsub;
mod scripting;
mod server;
mod sets;
mod sort;
mod stream_groups;
mod streams;
mod strings;
mod transaction;
mod xread;
mod zsets;

pub(crate) use pops::serve_blocked;
pub(crate) use scripting::{WhileBusy, call_from_script, command_while_busy, runs_a_script};
pub(crate) use transaction::unwatch_all;
pub(crate) use xread::StreamRead;
pub(crate) use zsets::PopShape;

/// The command modifies the keyspace.
pub(crate) const WRITE: u32 = 1 << 0;
/// The command only reads the keyspace.
pub(crate) const READONLY: u32 = 1 << 1;
/// The command may use more memory (refused when out of memory, in Redis).
pub(crate) const DENYOOM: u32 = 1 << 2;
/// The command is O(1) or O(log n).
pub(crate) const FAST: u32 = 1 << 3;
/// The command may run before authentication.
pub(crate) const NO_AUTH: u32 = 1 << 4;
/// The command is an administrative one.
pub(crate) const ADMIN: u32 = 1 << 5;
/// The command is not queued inside `MULTI` but runs at once.
pub(crate) const RUNS_IN_MULTI: u32 = 1 << 6;
/// The command may not run inside `MULTI` at all.
pub(crate) const NO_MULTI: u32 = 1 << 7;
/// The command runs while the server loads its data.
pub(crate) const LOADING: u32 = 1 << 8;
/// The command runs on a replica with stale data.
pub(crate) const STALE: u32 = 1 << 9;
/// The command may run while a RESP2 client is subscribed (`SUBSCRIBE`, `PING`, `QUIT`, ...).
pub(crate) const SUBSCRIBED_CONTEXT: u32 = 1 << 10;

/// The flag names `COMMAND INFO` reports, in Redis's spelling.
pub(crate) const FLAG_NAMES: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (NO_MULTI, "no_multi"),
];

/// Runs a command whose arity and permissions have been checked.
pub(crate) type Handler = fn(&mut Ctx<'_>, &[Bytes]);

/// One command (or subcommand) of the table.
#[derive(Debug)]
pub(crate) struct Command {
    /// Lower-case name; for a subcommand the part after `|`.
    pub(crate) name: &'static str,
    /// `name` for a command, `container|name` for a subcommand.
    pub(crate) full_name: &'static str,
    /// Exactly `arity` arguments (counting the name), or at least `-arity` if negative.
    pub(crate) arity: i32,
    pub(crate) flags: u32,
    /// Key positions for `COMMAND INFO`: first, last (negative counts from the end), step.
    pub(crate) keys: (i32, i32, i32),
    /// ACL categories, for `COMMAND INFO`.
    pub(crate) category: &'static str,
    pub(crate) handler: Handler,
    /// Subcommands of a container command such as `CONFIG`.
    pub(crate) subcommands: &'static [Command],
}

impl Command {
    /// Whether `argc` arguments (counting the name) satisfy the arity.
    fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 { argc == arity } else { argc >= -arity }
    }
}

/// What a handler gets: the store, its client, the reply writer and the time.
pub(crate) struct Ctx<'a> {
    pub(crate) store: &'a mut Store,
    pub(crate) client: &'a mut Client,
    pub(crate) out: Reply<'a>,
    /// Unix milliseconds, read once per command, as Redis caches `mstime()`.
    pub(crate) now: i64,
}

/// Error replies shared by many commands, word for word as Redis sends them.
pub(crate) mod errors {
    pub(crate) const WRONGTYPE: &str =
        "WRONGTYPE Operation against a key holding the wrong kind of value";
    pub(crate) const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
    pub(crate) const NOT_FLOAT: &str = "ERR value is not a valid float";
    pub(crate) const SYNTAX: &str = "ERR syntax error";
    pub(crate) const NO_SUCH_KEY: &str = "ERR no such key";
    pub(crate) const DB_RANGE: &str = "ERR DB index is out of range";
    pub(crate) const SAME_OBJECT: &str = "ERR source and destination objects are the same";
    pub(crate) const NOAUTH: &str = "NOAUTH Authentication required.";
    pub(crate) const TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
}

impl<'a> Ctx<'a> {
    /// Logs `parts` to the AOF in place of the running command, which the log must not
    /// repeat as sent (its effect depends on the time or on chance: `EXPIRE` is logged as
    /// `PEXPIREAT`, `SPOP` as `SREM`). May be called more than once.
    pub(crate) fn propagate(&mut self, parts: &[&[u8]]) {
        if let Some(aof) = &mut self.store.aof {
            aof.append(self.client.db, parts);
            aof.replaced = true;
        }
    }

    /// Logs nothing to the AOF for the running command, whatever it changed: its effects, if
    /// any, were logged with [`Ctx::propagate`] (`XREADGROUP` logs `XCLAIM`s, or nothing for
    /// a read of its history).
    pub(crate) fn propagate_nothing(&mut self) {
        if let Some(aof) = &mut self.store.aof {
            aof.replaced = true;
        }
    }

    /// Records a keyspace event on `key` in the client's database (see `notify`); it is
    /// published when the command is over.
    pub(crate) fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        self.store.dbs[self.client.db].notify(class, event, key);
    }

    /// The selected database.
    pub(crate) fn db(&mut self) -> &mut Db {
        &mut self.store.dbs[self.client.db]
    }

    /// The string stored at `key` (see [`string_at`]).
    pub(crate) fn read_string(&mut self, key: &[u8]) -> Result<Option<&Str>, WrongType> {
        string_at(self.store, self.client.db, key, self.now)
    }

    /// The `T` at `key` for reading: `Ok(None)` if there is none, `Err` after replying
    /// `WRONGTYPE` if the key holds another type.
    pub(crate) fn read<T: Kind>(&mut self, key: &[u8]) -> Result<Option<&T>, ()> {
        match self.store.dbs[self.client.db].get::<T>(key, self.now) {
            Ok(value) => Ok(value),
            Err(WrongType) => {
                self.store.stats.count_error(errors::WRONGTYPE.as_bytes());
                self.out.error(errors::WRONGTYPE);
                Err(())
            }
        }
    }

    /// Parses an integer argument of at least `min`, or replies with `message` (Redis's
    /// `getRangeLongFromObjectOrReply` with a message: one text for both failures).
    pub(crate) fn int_in(&mut self, arg: &[u8], min: i64, message: &str) -> Option<i64> {
        let value = parse_int(arg).filter(|&v| v >= min);
        if value.is_none() {
            self.error(message);
        }
        value
    }

    /// Parses the optional `count` of `LPOP`, `SPOP`, `ZPOPMIN` and the like in `args[2..]`:
    /// `Ok(None)` without one, `Err` after replying with Redis's error.
    pub(crate) fn optional_count(&mut self, args: &[Bytes]) -> Result<Option<usize>, ()> {
        match &args[2..] {
            [] => Ok(None),
            [count] => {
                let message = "ERR value is out of range, must be positive";
                self.int_in(count, 0, message).map(|n| Some(n as usize)).ok_or(())
            }
            _ => {
                self.error(errors::SYNTAX);
                Err(())
            }
        }
    }

    /// Parses the optional `count [WITH...]` of `HRANDFIELD`, `SRANDMEMBER` and
    /// `ZRANDMEMBER` (`with` names the flag, if the command has one): `Ok(None)` without a
    /// count, `Err` after replying with Redis's error.
    pub(crate) fn random_count(
        &mut self,
        args: &[Bytes],
        with: Option<&[u8]>,
    ) -> Result<Option<(i64, bool)>, ()> {
        let Some(count) = args.get(2) else { return Ok(None) };
        let count = self.int_arg(count).ok_or(())?;
        if count == i64::MIN {
            self.error(
                "ERR value is out of range, value must between -9223372036854775807 and \
                 9223372036854775807",
            );
            return Err(());
        }
        let flag = match (&args[3..], with) {
            ([], _) => false,
            ([option], Some(with)) if option.eq_ignore_ascii_case(with) => true,
            _ => {
                self.error(errors::SYNTAX);
                return Err(());
            }
        };
        // Redis bounds WITH... counts so that twice the count fits; this server also bounds
        // draws with repetition (see `sample::MAX_DRAWS`).
        let limit = if flag { MAX_DRAWS / 2 } else { MAX_DRAWS };
        if (count < 0 && count.unsigned_abs() > limit) || (flag && count > i64::MAX / 2) {
            self.error("ERR value is out of range");
            return Err(());
        }
        Ok(Some((count, flag)))
    }

    /// Writes `WRONGTYPE`.
    pub(crate) fn wrong_type(&mut self) {
        self.error(errors::WRONGTYPE);
    }

    /// Writes an error reply and counts it.
    pub(crate) fn error(&mut self, text: &str) {
        self.store.stats.count_error(text.as_bytes());
        self.out.error(text);
    }

    /// The `invalid expire time` error, which names the command.
    pub(crate) fn invalid_expire(&mut self, command: &str) {
        self.error(&format!("ERR invalid expire time in '{command}' command"));
    }

    /// Parses a strict decimal integer argument, or replies with `ERR value is not an integer
    /// or out of range`.
    pub(crate) fn int_arg(&mut self, arg: &[u8]) -> Option<i64> {
        let value = parse_int(arg);
        if value.is_none() {
            self.error(errors::NOT_INTEGER);
        }
        value
    }

    /// A database number (`SELECT`, `MOVE`, `COPY ... DB`), or `None` after replying with
    /// Redis's error: not an integer, outside C's `int`, or no such database.
    pub(crate) fn db_index_arg(&mut self, arg: &[u8]) -> Option<usize> {
        let index = self.int_arg(arg)?;
        if i32::try_from(index).is_err() {
            self.error("ERR value is out of range, value must between -2147483648 and 2147483647");
            return None;
        }
        let index = usize::try_from(index).ok().filter(|&i| i < super::store::DATABASES);
        if index.is_none() {
            self.error(errors::DB_RANGE);
        }
        index
    }
}

/// The string stored at `key` in database `db`: `Ok(None)` if the key does not exist, `Err`
/// if it holds another type. Counts a keyspace hit or miss.
///
/// It borrows only the store, so a handler can write the value into `ctx.out` straight from
/// the keyspace: `string_at(ctx.store, ctx.client.db, key, ctx.now)`.
pub(crate) fn string_at<'s>(
    store: &'s mut Store,
    db: usize,
    key: &[u8],
    now: i64,
) -> Result<Option<&'s Str>, WrongType> {
    match store.dbs[db].lookup(key, now) {
        None => {
            store.stats.keyspace_misses += 1;
            Ok(None)
        }
        Some(Value::Str(s)) => {
            store.stats.keyspace_hits += 1;
            Ok(Some(s))
        }
        Some(_) => {
            store.stats.keyspace_hits += 1;
            Err(WrongType)
        }
    }
}

/// A strict decimal integer, as Redis's `string2ll` reads it.
pub(crate) fn parse_int(text: &[u8]) -> Option<i64> {
    crate::number::parse_i64(text)
}

/// A floating-point number as Redis's `strtold`-based parsers read it: no leading space, no
/// trailing garbage, not NaN; `inf` and `-inf` are allowed.
pub(crate) fn parse_float(text: &[u8]) -> Option<f64> {
    if text.is_empty() || text.len() > 5 * 1024 || text[0].is_ascii_whitespace() {
        return None;
    }
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    (!value.is_nan()).then_some(value)
}

/// Every command, by name. Looked up once per command executed, so hashed with foldhash
/// rather than the standard SipHash (the names are ours, not an attacker's keys), and keyed by
/// bytes so that a client's name need not be checked for UTF-8 first.
static TABLE: LazyLock<HashMap<&'static [u8], &'static Command, FixedState>> =
    LazyLock::new(|| {
        commands_in_table_order().map(|command| (command.name.as_bytes(), command)).collect()
    });

/// Every top-level command, the groups in a fixed order (strings first).
fn commands_in_table_order() -> impl Iterator<Item = &'static Command> {
    [
        strings::COMMANDS,
        bitmaps::COMMANDS,
        keys::COMMANDS,
        lists::COMMANDS,
        hashes::COMMANDS,
        sets::COMMANDS,
        zsets::COMMANDS,
        connection::COMMANDS,
        server::COMMANDS,
        transaction::COMMANDS,
        pubsub::COMMANDS,
        sort::COMMANDS,
        streams::COMMANDS,
        stream_groups::COMMANDS,
        xread::COMMANDS,
        scripting::COMMANDS,
    ]
    .into_iter()
    .flatten()
}

/// Every top-level command, for `COMMAND`, `COMMAND COUNT` and `COMMAND DOCS`.
pub(crate) fn all_commands() -> impl Iterator<Item = &'static Command> {
    let mut commands: Vec<_> = TABLE.values().copied().collect();
    commands.sort_by_key(|c| c.name);
    commands.into_iter()
}

/// How many slots [`SLOTS`] has: a power of two, about twenty times the number of commands.
const SLOT_COUNT: usize = 4096;

/// A direct-mapped front for [`TABLE`], which every command executed goes through: each
/// command sits in the slot [`slot`] picks for its name, unless a command listed before it
/// took that slot. A hit costs a few byte loads and one comparison, where `TABLE` lowercases
/// the name into a buffer, hashes it and probes. A name whose slot holds another command (or
/// none) is looked up in `TABLE`, so the front changes only the speed.
static SLOTS: LazyLock<Vec<Option<&'static Command>>> = LazyLock::new(|| {
    let mut slots = vec![None; SLOT_COUNT];
    for command in commands_in_table_order() {
        let at = slot(command.name.as_bytes());
        if slots[at].is_none() {
            slots[at] = Some(command);
        }
    }
    slots
});

/// The slot of a command name: its length and three of its bytes, ASCII letters folded to
/// lower case (`| 0x20` also merges some other bytes, which the comparison after it sorts out).
fn slot(name: &[u8]) -> usize {
    let n = name.len();
    let Some(&last) = name.last() else { return 0 };
    let fold = |b: u8| usize::from(b | 0x20);
    let mixed = n.wrapping_mul(0x9E37)
        ^ fold(name[0]).wrapping_mul(0x3F1)
        ^ fold(name[n / 2]).wrapping_mul(0x1D)
        ^ fold(last).wrapping_mul(0x2B5);
    mixed % SLOT_COUNT
}

/// Looks up a top-level command by name, in any case.
pub(crate) fn find(name: &[u8]) -> Option<&'static Command> {
    if let Some(command) = SLOTS[slot(name)]
        && command.name.len() == name.len()
        && command.name.as_bytes().eq_ignore_ascii_case(name)
    {
        return Some(command);
    }
    let mut lower = [0u8; 32];
    let lower = lower.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    TABLE.get(&lower[..]).copied()
}

/// The command `args` asks for, resolving subcommands, or the error that says why not.
fn resolve(args: &[Bytes]) -> Result<&'static Command, String> {
    let Some(command) = find(&args[0]) else {
        return Err(unknown_command(args));
    };
    if command.subcommands.is_empty() || args.len() < 2 {
        return Ok(command);
    }
    command
        .subcommands
        .iter()
        .find(|sub| sub.name.as_bytes().eq_ignore_ascii_case(&args[1]))
        .ok_or_else(|| {
            format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                truncated(&args[1], 128),
                command.name.to_ascii_uppercase()
            )
        })
}

/// Redis's text for an unknown command: the name and the first arguments, quoted, up to about
/// 128 bytes of arguments.
fn unknown_command(args: &[Bytes]) -> String {
    let mut quoted = String::new();
    for arg in &args[1..] {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        quoted.push('\'');
        quoted.push_str(&truncated(arg, room));
        quoted.push_str("' ");
    }
    format!(
        "ERR unknown command '{}', with args beginning with: {quoted}",
        truncated(&args[0], 128)
    )
}

/// At most `max` bytes of `arg` (up to a NUL, as C's `%s` stops there), as text.
fn truncated(arg: &[u8], max: usize) -> String {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len()).min(max);
    String::from_utf8_lossy(&arg[..end]).into_owned()
}

/// Checks and runs (or queues) one command. `args` is never empty.
pub(crate) fn execute(ctx: &mut Ctx<'_>, args: Vec<Bytes>) {
    let command = match resolve(&args) {
        Ok(command) if command.arity_ok(args.len()) => command,
        Ok(command) => {
            let text = format!("ERR wrong number of arguments for '{}' command", command.full_name);
            return reject(ctx, &text);
        }
        Err(text) => return reject(ctx, &text),
    };
    if !ctx.client.authenticated && command.flags & NO_AUTH == 0 {
        return reject(ctx, errors::NOAUTH);
    }
    if let Some(why) = ctx.store.aof.as_ref().and_then(|aof| aof.error.as_deref())
        && (command.flags & WRITE != 0 || command.name == "ping")
    {
        // Redis's text, with the system's message without Rust's "(os error N)".
        let why = why.split(" (os error").next().unwrap_or(why);
        let text = format!("MISCONF Errors writing to the AOF file: {why}");
        return reject(ctx, &text);
    }
    if ctx.client.subscriptions > 0 && !ctx.client.resp3 && command.flags & SUBSCRIBED_CONTEXT == 0
    {
        let text = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET \
             are allowed in this context",
            command.full_name
        );
        return reject(ctx, &text);
    }
    if ctx.client.multi.is_some() {
        if command.flags & NO_MULTI != 0 {
            return reject(ctx, "ERR Command not allowed inside a transaction");
        }
        if command.flags & RUNS_IN_MULTI == 0 {
            let queued = ctx.client.multi.as_mut().map_or(0, |queue| {
                queue.push((command, args));
                queue.len()
            });
            transaction::set_listed_count(ctx, queued as i64);
            ctx.out.simple("QUEUED");
            return;
        }
    }
    run(ctx, command, &args);
}

/// Runs a checked command: now, or at `EXEC` time for a queued one.
pub(super) fn run(ctx: &mut Ctx<'_>, command: &'static Command, args: &[Bytes]) {
    ctx.store.stats.commands_processed += 1;
    ctx.client.last_command = command.full_name;
    let logged = command.flags & WRITE != 0 && ctx.store.aof.is_some();
    if !logged {
        return (command.handler)(ctx, args);
    }
    let before = ctx.store.dirty();
    if let Some(aof) = &mut ctx.store.aof {
        aof.replaced = false;
    }
    (command.handler)(ctx, args);
    // A handler that logged its own form (see `Ctx::propagate`) has been logged already.
    let replaced = ctx.store.aof.as_ref().is_some_and(|aof| aof.replaced);
    if !replaced && ctx.store.dirty() != before {
        let parts: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
        ctx.store.propagate(ctx.client.db, &parts);
    }
}

/// Replies with a rejection and, inside `MULTI`, dooms the transaction.
fn reject(ctx: &mut Ctx<'_>, text: &str) {
    if ctx.client.multi.is_some() {
        ctx.client.multi_failed = true;
    }
    ctx.error(text);
}

/// A `Command` with no subcommands; the table modules use it to stay one line per command.
pub(crate) const fn command(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    category: &'static str,
    handler: Handler,
) -> Command {
    Command { name, full_name: name, arity, flags, keys, category, handler, subcommands: &[] }
}

/// A command with subcommands (`CONFIG GET`, ...); `handler` runs when it is called alone.
pub(crate) const fn with_subcommands(
    name: &'static str,
    arity: i32,
    flags: u32,
    category: &'static str,
    handler: Handler,
    subcommands: &'static [Command],
) -> Command {
    Command { name, full_name: name, arity, flags, keys: (0, 0, 0), category, handler, subcommands }
}

/// A subcommand of `container`.
pub(crate) const fn subcommand(
    full_name: &'static str,
    name: &'static str,
    arity: i32,
    flags: u32,
    handler: Handler,
) -> Command {
    Command {
        name,
        full_name,
        arity,
        flags,
        keys: (0, 0, 0),
        category: "",
        handler,
        subcommands: &[],
    }
}

#[cfg(test)]
mod tests {
    use super::{SLOTS, all_commands, find, slot};

    #[test]
    fn every_command_is_found_in_any_case_and_nothing_else_is() {
        for command in all_commands() {
            let name = command.name;
            for spelling in [name.to_owned(), name.to_ascii_uppercase(), capitalized(name)] {
                let found = find(spelling.as_bytes()).map(|c| c.name);
                assert_eq!(found, Some(name), "{spelling}");
            }
            // Same length and the same bytes where the slot looks, another name.
            let mut other = name.as_bytes().to_vec();
            if other.len() > 2 {
                other[1] = if other[1] == b'q' { b'z' } else { b'q' };
                let found = find(&other).map(|c| c.name);
                assert!(found.is_none_or(|f| f.as_bytes() == other.as_slice()), "{found:?}");
            }
        }
        assert!(find(b"").is_none());
        assert!(find(b"nosuchcommand").is_none());
        assert!(find(&[b'g'; 100]).is_none());
    }

    #[test]
    fn most_commands_sit_in_their_slot() {
        let commands: Vec<_> = all_commands().collect();
        let placed = commands
            .iter()
            .filter(|c| SLOTS[slot(c.name.as_bytes())].is_some_and(|s| s.name == c.name))
            .count();
        assert!(placed * 10 >= commands.len() * 9, "{placed} of {}", commands.len());
    }

    fn capitalized(name: &str) -> String {
        let mut chars = name.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    }
}
