//! Server commands: `INFO`, `CONFIG`, `COMMAND`, `TIME`, `DEBUG`, `FUNCTION FLUSH`.

use std::fmt::Write as _;

use bytes::Bytes;

use super::connection::{container, help};
use super::{
    ADMIN, Command, Ctx, FAST, FLAG_NAMES, LOADING, NO_MULTI, READONLY, STALE, WRITE, all_commands,
    command, errors, find, subcommand, with_subcommands,
};
use crate::server::pubsub::Topic;
use crate::server::store::unix_ms;

pub(super) const COMMANDS: &[Command] = &[
    command("info", -1, LOADING | STALE, (0, 0, 0), "@slow @dangerous", info),
    command("time", 1, FAST | LOADING | STALE, (0, 0, 0), "@fast", time),
    command("role", 1, FAST | LOADING | STALE, (0, 0, 0), "@admin @fast @dangerous", role),
    command("lastsave", 1, FAST | LOADING | STALE, (0, 0, 0), "@admin @fast @dangerous", lastsave),
    command("bgrewriteaof", 1, ADMIN, (0, 0, 0), "@admin @slow @dangerous", bgrewriteaof),
    command(
        "shutdown",
        -1,
        ADMIN | NO_MULTI | LOADING | STALE,
        (0, 0, 0),
        "@admin @slow @dangerous",
        shutdown,
    ),
    command("debug", -2, ADMIN | LOADING | STALE, (0, 0, 0), "@admin @slow @dangerous", debug),
    with_subcommands(
        "config",
        -2,
        0,
        "@slow",
        container,
        &[
            subcommand("config|get", "get", -3, ADMIN | LOADING | STALE, config_get),
            subcommand("config|set", "set", -4, ADMIN | LOADING | STALE, config_set),
            subcommand(
                "config|resetstat",
                "resetstat",
                2,
                ADMIN | LOADING | STALE,
                config_resetstat,
            ),
            subcommand("config|rewrite", "rewrite", 2, ADMIN | LOADING | STALE, config_rewrite),
            subcommand("config|help", "help", 2, LOADING | STALE, config_help),
        ],
    ),
    with_subcommands(
        "command",
        -1,
        LOADING | STALE,
        "@slow @connection",
        command_all,
        &[
            subcommand("command|count", "count", 2, LOADING | STALE, command_count),
            subcommand("command|info", "info", -2, LOADING | STALE, command_info),
            subcommand("command|docs", "docs", -2, LOADING | STALE, command_docs),
            subcommand("command|list", "list", -2, LOADING | STALE, command_list),
            subcommand("command|help", "help", 2, LOADING | STALE, command_help),
        ],
    ),
    with_subcommands(
        "function",
        -2,
        0,
        "@slow",
        container,
        &[
            subcommand("function|flush", "flush", -2, WRITE, function_flush),
            subcommand("function|help", "help", 2, LOADING | STALE, function_help),
        ],
    ),
    with_subcommands(
        "memory",
        -2,
        0,
        "@slow",
        container,
        &[
            subcommand("memory|usage", "usage", -3, READONLY, memory_usage),
            subcommand("memory|help", "help", 2, LOADING | STALE, memory_help),
        ],
    ),
];

/// `MEMORY HELP`: Redis's text for the one subcommand implemented here.
fn memory_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    help(
        ctx,
        "MEMORY",
        &[
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
}

/// `FUNCTION HELP`: only `FLUSH` is implemented here (libraries are not).
fn function_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    help(
        ctx,
        "FUNCTION",
        &[
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
        ],
    );
}

/// `MEMORY USAGE key [SAMPLES count]`: an estimate of the bytes the key and its value take.
/// The estimate counts every element (Redis samples five by default); `SAMPLES` is checked
/// but not needed.
fn memory_usage(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    match &args[3..] {
        [] => {}
        [option, count] if option.eq_ignore_ascii_case(b"samples") => {
            if ctx.int_arg(count).is_none() {
                return;
            }
        }
        _ => return ctx.error(errors::SYNTAX),
    }
    let now = ctx.now;
    match ctx.db().lookup(&args[2], now) {
        Some(value) => {
            let bytes = args[2].len() + value.approx_bytes();
            ctx.out.int(bytes as i64);
        }
        None => ctx.out.null(),
    }
}

/// `INFO [section ...]`: the sections asked for (all by default), as `name:value` lines under
/// `# Section` headings.
fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let wanted: Vec<String> =
        args[1..].iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
    let everything = wanted.is_empty()
        || wanted.iter().any(|w| matches!(w.as_str(), "all" | "everything" | "default"));
    let want = |section: &str| everything || wanted.iter().any(|w| w == section);
    let mut text = String::new();
    if let Some(aof) = &mut ctx.store.aof {
        aof.finish_rewrite();
    }
    ctx.store.settle_errors_while_busy();
    let store = &*ctx.store;
    let uptime = store.started.elapsed().as_secs();
    if want("server") {
        let _ = write!(
            text,
            "# Server\r\nredis_version:{}\r\nbyo_version:{}\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\n\
             process_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{}\r\n\r\n",
            crate::server::REDIS_VERSION,
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::process::id(),
            store.config.get("port"),
            uptime / 86400,
            store.config.get("hz"),
        );
    }
    if want("clients") {
        let _ = write!(
            text,
            "# Clients\r\nconnected_clients:{}\r\nblocked_clients:{}\r\nmaxclients:{}\r\n\r\n",
            store.clients.len(),
            store.blocked.len(),
            store.config.get("maxclients"),
        );
    }
    if want("memory") {
        let rss = resident_bytes();
        let _ = write!(
            text,
            "# Memory\r\nused_memory:{rss}\r\nused_memory_rss:{rss}\r\nmaxmemory:0\r\n\
             mem_allocator:libc\r\nnumber_of_cached_scripts:{}\r\n\r\n",
            store.scripts.len(),
        );
    }
    if want("persistence") {
        let aof = store.aof.as_ref();
        let status = |ok: bool| if ok { "ok" } else { "err" };
        // With no RDB snapshots here, the changes "since the last save" are every change
        // since the server started, counted as the AOF counts them (`Store::dirty`).
        let _ = write!(
            text,
            "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:{}\r\naof_enabled:{}\r\n\
             aof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:0\r\naof_last_bgrewrite_status:{}\r\n\
             aof_last_write_status:{}\r\n",
            store.dirty(),
            u8::from(aof.is_some()),
            u8::from(aof.is_some_and(|a| a.rewriting.is_some())),
            status(aof.is_none_or(|a| a.last_rewrite_ok)),
            status(aof.is_none_or(|a| a.error.is_none())),
        );
        if let Some(aof) = aof {
            let _ = write!(
                text,
                "aof_current_size:{}\r\naof_base_size:{}\r\n",
                aof.current_size(),
                aof.base_size
            );
        }
        text.push_str("\r\n");
    }
    if want("stats") {
        let s = &store.stats;
        let _ = write!(
            text,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
             total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\n\
             expired_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\n\
             pubsub_patterns:{}\r\npubsubshard_channels:{}\r\ntotal_error_replies:{}\r\n\r\n",
            s.connections_received,
            s.commands_processed,
            s.total_net_input_bytes,
            s.total_net_output_bytes,
            s.rejected_connections,
            store.dbs.iter().map(|db| db.expired).sum::<u64>(),
            s.keyspace_hits,
            s.keyspace_misses,
            store.pubsub.channels(Topic::Channel).count(),
            store.pubsub.pattern_count(),
            store.pubsub.channels(Topic::Shard).count(),
            s.total_error_replies,
        );
    }
    if want("replication") {
        text.push_str("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n");
    }
    if want("cpu") {
        let (user, system) = cpu_seconds();
        let _ =
            write!(text, "# CPU\r\nused_cpu_sys:{system:.6}\r\nused_cpu_user:{user:.6}\r\n\r\n");
    }
    if want("errorstats") {
        text.push_str("# Errorstats\r\n");
        for (code, count) in &store.stats.errors {
            let _ = write!(text, "errorstat_{code}:count={count}\r\n");
        }
        text.push_str("\r\n");
    }
    if want("keyspace") {
        text.push_str("# Keyspace\r\n");
        for (index, db) in store.dbs.iter().enumerate().filter(|(_, db)| db.len() > 0) {
            let _ = write!(
                text,
                "db{index}:keys={},expires={},avg_ttl=0\r\n",
                db.len(),
                db.volatile_len()
            );
        }
        text.push_str("\r\n");
    }
    // Redis ends the text without the blank line after the last section.
    let text = text.strip_suffix("\r\n").unwrap_or(&text);
    ctx.out.verbatim(text.as_bytes());
}

/// The resident set size from `/proc/self/statm`, or 0 where there is no `/proc`.
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// User and system CPU seconds of this process from `/proc/self/stat` (in clock ticks of
/// 1/100 s, the value on every Linux platform Rust supports), or zeros elsewhere.
fn cpu_seconds() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return (0.0, 0.0) };
    // The command name in parentheses may contain spaces: count fields after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    // After the name: state is field 0, utime field 11, stime field 12.
    (ticks(11), ticks(12))
}

/// `ROLE`: a master without replicas, at replication offset 0 (there is no replication
/// here), which is what clients that look for the master (Sentinel-aware ones) ask.
fn role(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    ctx.out.array_len(3);
    ctx.out.bulk(b"master");
    ctx.out.int(0);
    ctx.out.array_len(0);
}

/// `LASTSAVE`: the Unix time of the last snapshot, which here is when the server started
/// (Redis sets it at start too, and no snapshot is ever written here).
fn lastsave(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    let started = unix_ms() / 1000 - ctx.store.started.elapsed().as_secs() as i64;
    ctx.out.int(started);
}

fn time(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(unix_ms() * 1000, |d| d.as_micros() as i64);
    ctx.out.array_len(2);
    ctx.out.bulk_int(micros / 1_000_000);
    ctx.out.bulk_int(micros % 1_000_000);
}

fn debug(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    ctx.error("ERR DEBUG is not supported by this server");
}

fn function_flush(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    // There are no functions to flush; the mode argument is still checked as Redis does.
    match &args[2..] {
        [] => ctx.out.ok(),
        [mode] if mode.eq_ignore_ascii_case(b"async") || mode.eq_ignore_ascii_case(b"sync") => {
            ctx.out.ok()
        }
        [_] => ctx.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"),
        _ => ctx.error(errors::SYNTAX),
    }
}

fn config_get(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    for pattern in &args[2..] {
        for (name, value) in ctx.store.config.matching(pattern) {
            if !found.iter().any(|(seen, _)| *seen == name) {
                found.push((name, value.to_string()));
            }
        }
    }
    ctx.out.map_len(found.len());
    for (name, value) in found {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
}

fn config_set(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if !args.len().is_multiple_of(2) {
        return ctx.error("ERR wrong number of arguments for 'config|set' command");
    }
    let changes: Vec<(Bytes, Bytes)> =
        args[2..].chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
    let was_on = ctx.store.aof.is_some();
    match ctx.store.config.set_all(&changes) {
        Ok(()) => {
            ctx.store.apply_config();
            let on = ctx.store.config.get("appendonly") == "yes";
            if on && !was_on && ctx.store.enable_aof().is_err() {
                let _ = ctx.store.config.set("appendonly", "no");
                return ctx.error(
                    "ERR CONFIG SET failed (possibly related to argument 'appendonly') - \
                     Unable to turn on AOF. Check server logs.",
                );
            }
            if !on && was_on {
                ctx.store.disable_aof();
            }
            ctx.out.ok();
        }
        Err(e) => ctx.error(&e.0),
    }
}

/// `BGREWRITEAOF`: compacts the append-only file (see `aof`).
fn bgrewriteaof(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    match ctx.store.rewrite_aof() {
        Ok(()) => ctx.out.simple("Background append only file rewriting started"),
        Err(text) => ctx.error(&text),
    }
}

fn config_resetstat(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    ctx.store.settle_errors_while_busy(); // and then drop them with the rest
    ctx.store.stats = Default::default();
    ctx.store.dbs.iter_mut().for_each(|db| db.expired = 0);
    ctx.out.ok();
}

fn config_rewrite(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    ctx.error("ERR The server is running without a config file");
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`: writes and syncs the AOF, then stops the
/// server; the connection closes without a reply, as on Redis. `SAVE` and `NOSAVE` concern
/// snapshots, which this server does not write; `NOW` (do not wait for replicas) is what it
/// always does, so `ABORT` finds nothing to abort. `FORCE` stops the server even if the AOF
/// could not be synced.
fn shutdown(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let (mut save, mut nosave, mut force, mut abort) = (false, false, false, false);
    for arg in &args[1..] {
        match arg.to_ascii_lowercase().as_slice() {
            b"save" => save = true,
            b"nosave" => nosave = true,
            b"now" => {}
            b"force" => force = true,
            b"abort" => abort = true,
            _ => return ctx.error(errors::SYNTAX),
        }
    }
    if (save && nosave) || (abort && args.len() > 2) {
        return ctx.error(errors::SYNTAX);
    }
    if abort {
        return ctx.error("ERR No shutdown in progress.");
    }
    if let Some(aof) = &mut ctx.store.aof
        && aof.flush().and_then(|()| aof.sync()).is_err()
        && !force
    {
        return ctx.error("ERR Errors trying to SHUTDOWN. Check logs.");
    }
    ctx.store.lockless.shutdown.notify_one();
    ctx.client.close_after_reply = true;
}

fn config_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    help(
        ctx,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
}

/// One command's `COMMAND INFO` entry: name, arity, flags, key positions, categories, tips,
/// key specifications (not described here: empty) and subcommands.
fn describe_command(ctx: &mut Ctx<'_>, command: &Command) {
    ctx.out.array_len(10);
    ctx.out.bulk(command.full_name.as_bytes());
    ctx.out.int(i64::from(command.arity));
    let flags: Vec<&str> =
        FLAG_NAMES.iter().filter(|(bit, _)| command.flags & bit != 0).map(|(_, n)| *n).collect();
    ctx.out.set_len(flags.len());
    flags.iter().for_each(|flag| ctx.out.simple(flag));
    ctx.out.int(i64::from(command.keys.0));
    ctx.out.int(i64::from(command.keys.1));
    ctx.out.int(i64::from(command.keys.2));
    let categories: Vec<&str> = command.category.split_whitespace().collect();
    ctx.out.set_len(categories.len());
    categories.iter().for_each(|c| ctx.out.simple(c));
    ctx.out.array_len(0);
    ctx.out.array_len(0);
    ctx.out.array_len(command.subcommands.len());
    for sub in command.subcommands {
        describe_command(ctx, sub);
    }
}

fn command_all(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    let commands: Vec<_> = all_commands().collect();
    ctx.out.array_len(commands.len());
    for command in commands {
        describe_command(ctx, command);
    }
}

fn command_count(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    ctx.out.int(all_commands().count() as i64);
}

fn command_list(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if args.len() > 2 {
        return ctx.error("ERR COMMAND LIST filters are not supported by this server");
    }
    let names: Vec<_> = all_commands().map(|c| c.name).collect();
    ctx.out.array_len(names.len());
    names.iter().for_each(|n| ctx.out.bulk(n.as_bytes()));
}

fn command_info(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let commands: Vec<Option<&Command>> = if args.len() == 2 {
        all_commands().map(Some).collect()
    } else {
        args[2..].iter().map(|name| lookup_full(name)).collect()
    };
    ctx.out.array_len(commands.len());
    for command in commands {
        match command {
            Some(command) => describe_command(ctx, command),
            None => ctx.out.null(),
        }
    }
}

/// A command by name, or a subcommand by `container|name`.
fn lookup_full(name: &[u8]) -> Option<&'static Command> {
    match name.iter().position(|&b| b == b'|') {
        None => find(name),
        Some(bar) => {
            let container = find(&name[..bar])?;
            container
                .subcommands
                .iter()
                .find(|s| s.name.as_bytes().eq_ignore_ascii_case(&name[bar + 1..]))
        }
    }
}

fn command_docs(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let commands: Vec<&Command> = if args.len() == 2 {
        all_commands().collect()
    } else {
        args[2..].iter().filter_map(|name| lookup_full(name)).collect()
    };
    ctx.out.map_len(commands.len());
    for command in commands {
        ctx.out.bulk(command.full_name.as_bytes());
        ctx.out.map_len(1);
        ctx.out.bulk(b"group");
        ctx.out.bulk(group(command).as_bytes());
    }
}

/// The documentation group of a command, from its first ACL category.
fn group(command: &Command) -> &'static str {
    let first = command
        .category
        .split_whitespace()
        .find(|c| !matches!(*c, "@read" | "@write" | "@fast" | "@slow"));
    match first {
        Some("@string") => "string",
        Some("@keyspace") => "generic",
        Some("@connection") => "connection",
        Some("@transaction") => "transactions",
        _ => "server",
    }
}

fn command_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    help(
        ctx,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
        ],
    );
}
