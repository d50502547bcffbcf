//! Scripting: `EVAL`, `EVALSHA` and their read-only forms, `SCRIPT`, and the way a script's
//! `redis.call` reaches the command table (see `server::script` for the Lua side).

use bytes::{Bytes, BytesMut};

use super::connection::{container, help};
use super::{
    Command, Ctx, LOADING, NO_AUTH, STALE, WRITE, command, errors, resolve, run, subcommand,
    with_subcommands,
};
use crate::server::client::Client;
use crate::server::reply::Reply;
use crate::server::script::{CompileError, Kill, Script, check_compiles, run_script, sha1_hex};
use crate::server::store::{Lockless, Store};

pub(super) const COMMANDS: &[Command] = &[
    command("eval", -3, STALE, (0, 0, 0), "@slow @scripting", eval),
    command("evalsha", -3, STALE, (0, 0, 0), "@slow @scripting", evalsha),
    command("eval_ro", -3, STALE, (0, 0, 0), "@slow @scripting", eval_ro),
    command("evalsha_ro", -3, STALE, (0, 0, 0), "@slow @scripting", evalsha_ro),
    with_subcommands(
        "script",
        -2,
        0,
        "@slow",
        container,
        &[
            subcommand("script|load", "load", 3, STALE, script_load),
            subcommand("script|exists", "exists", -3, STALE, script_exists),
            subcommand("script|flush", "flush", -2, STALE, script_flush),
            subcommand("script|kill", "kill", 2, STALE, script_kill),
            subcommand("script|help", "help", 2, LOADING | STALE, script_help),
        ],
    ),
];

/// Whether `name` (a command's full name) runs a script, so that its connection must hand it
/// to a thread of its own.
pub(crate) fn runs_a_script(name: &[u8]) -> bool {
    [&b"eval"[..], b"evalsha", b"eval_ro", b"evalsha_ro"]
        .iter()
        .any(|script| name.eq_ignore_ascii_case(script))
}

/// Commands a script may not call (Redis's `noscript` flag): those that block, change the
/// connection, or run scripts themselves.
const NOT_IN_SCRIPTS: &[&str] = &[
    "auth",
    "bgrewriteaof",
    "bgsave",
    "blmove",
    "blpop",
    "brpop",
    "brpoplpush",
    "bzpopmax",
    "bzpopmin",
    "client|caching",
    "client|getname",
    "client|getredir",
    "client|id",
    "client|info",
    "client|kill",
    "client|list",
    "client|no-evict",
    "client|pause",
    "client|reply",
    "client|setname",
    "client|tracking",
    "client|trackinginfo",
    "client|unblock",
    "client|unpause",
    "config|get",
    "config|resetstat",
    "config|rewrite",
    "config|set",
    "debug",
    "discard",
    "eval",
    "eval_ro",
    "evalsha",
    "evalsha_ro",
    "exec",
    "fcall",
    "fcall_ro",
    "function|flush",
    "hello",
    "monitor",
    "multi",
    "psubscribe",
    "punsubscribe",
    "quit",
    "reset",
    "role",
    "save",
    "script|exists",
    "script|flush",
    "script|kill",
    "script|load",
    "shutdown",
    "subscribe",
    "unsubscribe",
    "unwatch",
    "wait",
    "watch",
];

/// `redis.call` and `redis.pcall`: checks the command as Redis's `scriptCall` does, then runs
/// it for `client` (the script's own). Returns its reply in the script's protocol (RESP2
/// unless it called `redis.setresp(3)`), or why it was refused (the text after `ERR `). `on_write` is called before a write command runs.
pub(crate) fn call_from_script(
    store: &mut Store,
    client: &mut Client,
    args: Vec<Bytes>,
    now: i64,
    read_only: bool,
    on_write: impl FnOnce(),
) -> Result<BytesMut, String> {
    let command = match resolve(&args) {
        Ok(command) if command.arity_ok(args.len()) => command,
        Ok(_) => return Err("Wrong number of args calling Redis command from script".into()),
        Err(_) => return Err("Unknown Redis command called from script".into()),
    };
    if NOT_IN_SCRIPTS.contains(&command.full_name) {
        return Err("This Redis command is not allowed from script".into());
    }
    if command.flags & WRITE != 0 {
        if read_only {
            return Err("Write commands are not allowed from read-only scripts.".into());
        }
        on_write();
    }
    let mut reply = BytesMut::new();
    let resp3 = client.resp3; // `redis.setresp(3)`
    let mut ctx = Ctx { store, client, out: Reply::new(&mut reply, resp3), now };
    run(&mut ctx, command, &args);
    Ok(reply)
}

fn eval(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    eval_generic(ctx, args, false, false);
}

fn evalsha(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    eval_generic(ctx, args, true, false);
}

fn eval_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    eval_generic(ctx, args, false, true);
}

fn evalsha_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    eval_generic(ctx, args, true, true);
}

/// `EVAL script numkeys [key ...] [arg ...]`, or `EVALSHA sha1 ...`.
fn eval_generic(ctx: &mut Ctx<'_>, args: &[Bytes], by_sha: bool, read_only: bool) {
    let Some(numkeys) = ctx.int_arg(&args[2]) else { return };
    if numkeys > args.len() as i64 - 3 {
        return ctx.error("ERR Number of keys can't be greater than number of args");
    }
    if numkeys < 0 {
        return ctx.error("ERR Number of keys can't be negative");
    }
    // The body and its SHA-1, hashed once per call.
    let (body, sha) = if by_sha {
        match ctx.store.scripts.get(&args[1]) {
            Some((sha, body)) => (body, sha),
            None => return ctx.error("NOSCRIPT No matching script. Please use EVAL."),
        }
    } else {
        (args[1].clone(), sha1_hex(&args[1]))
    };
    let (keys, argv) = args[3..].split_at(numkeys as usize);
    let script = Script { body: &body, sha: &sha, keys, argv, read_only };
    // Cached once it compiles, as Redis does, so that EVALSHA finds it.
    if run_script(ctx, script) && !by_sha {
        ctx.store.scripts.insert_hashed(sha, body);
    }
}

fn script_load(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if let Err(CompileError(text)) = check_compiles(&args[2]) {
        return ctx.error(&text);
    }
    let sha = ctx.store.scripts.insert(args[2].clone());
    ctx.out.bulk(sha.as_bytes());
}

fn script_exists(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    ctx.out.array_len(args.len() - 2);
    for sha in &args[2..] {
        let known = ctx.store.scripts.contains(sha);
        ctx.out.int(i64::from(known));
    }
}

fn script_flush(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    match &args[2..] {
        [] => {}
        [mode] if mode.eq_ignore_ascii_case(b"sync") || mode.eq_ignore_ascii_case(b"async") => {}
        [_] => return ctx.error("ERR SCRIPT FLUSH only support SYNC|ASYNC option"),
        _ => return ctx.error(errors::SYNTAX),
    }
    ctx.store.scripts.clear();
    ctx.out.ok();
}

/// Here a script cannot be running: this connection holds the store. (A connection that
/// finds a script busy answers `SCRIPT KILL` without the store; see `net`.)
fn script_kill(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    ctx.error(kill_reply(Kill::NotBusy).unwrap_or_default());
}

/// What a connection did with a command while a script was busy.
pub(crate) enum WhileBusy {
    Answered,
    /// `QUIT`: close once the replies are written.
    Close,
    /// The command needs the store: run it once the script is over.
    Wait,
}

/// Redis's reply while a script is busy, for the commands not allowed then.
const BUSY: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";

/// One command from a connection while a script is busy, answered without the store, in the
/// order of Redis's `processCommand`: an unknown command, a wrong arity and a missing `AUTH`
/// get their usual errors; then only the commands Redis allows while busy run — `SCRIPT KILL`,
/// `MULTI` and `QUIT` here, the others (`AUTH`, `HELLO`, `WATCH`, `DISCARD`, ...) once the
/// script is over — and everything else is refused with `-BUSY`, which dooms an open
/// transaction (and `EXEC` discards it).
pub(crate) fn command_while_busy(
    client: &mut Client,
    out: &mut Reply<'_>,
    args: &[Bytes],
    lockless: &Lockless,
) -> WhileBusy {
    // Errors answered here count in `INFO errorstats` as anywhere else, but the store is the
    // script's: they are counted apart until the statistics are next read.
    let error = |out: &mut Reply<'_>, text: &str| {
        lockless.count_error_while_busy(text);
        out.error(text);
    };
    let refuse = |client: &mut Client, out: &mut Reply<'_>, text: &str| {
        if client.multi.is_some() {
            client.multi_failed = true;
        }
        error(out, text);
        WhileBusy::Answered
    };
    let command = match resolve(args) {
        Ok(command) if command.arity_ok(args.len()) => command,
        Ok(command) => {
            let text = format!("ERR wrong number of arguments for '{}' command", command.full_name);
            return refuse(client, out, &text);
        }
        Err(text) => return refuse(client, out, &text),
    };
    if !client.authenticated && command.flags & NO_AUTH == 0 {
        return refuse(client, out, errors::NOAUTH);
    }
    match command.full_name {
        "script|kill" => {
            match kill_reply(lockless.script.request_kill()) {
                None => out.ok(),
                Some(text) => error(out, text),
            }
            WhileBusy::Answered
        }
        "multi" if client.multi.is_some() => {
            refuse(client, out, "ERR MULTI calls can not be nested")
        }
        "multi" => {
            client.multi = Some(Vec::new());
            client.multi_failed = false;
            out.ok();
            WhileBusy::Answered
        }
        "quit" => {
            out.ok();
            WhileBusy::Close
        }
        // Stopping the server in a hard way: the script's effects are not logged, and nothing
        // more is written to the AOF.
        "shutdown" if args[1..].iter().any(|arg| arg.eq_ignore_ascii_case(b"nosave")) => {
            lockless.shutdown.notify_one();
            WhileBusy::Close
        }
        "shutdown" => refuse(client, out, BUSY),
        "auth" | "hello" | "discard" | "watch" | "unwatch" | "reset" => WhileBusy::Wait,
        "exec" => {
            client.multi = None;
            client.multi_failed = false;
            client.unwatch_pending = true;
            error(out, &format!("EXECABORT Transaction discarded because of: {BUSY}"));
            WhileBusy::Answered
        }
        _ => refuse(client, out, BUSY),
    }
}

/// The reply to `SCRIPT KILL`: `None` for `+OK`, else the error.
pub(crate) fn kill_reply(outcome: Kill) -> Option<&'static str> {
    match outcome {
        Kill::Requested => None,
        Kill::NotBusy => Some("NOTBUSY No scripts in execution right now."),
        Kill::Unkillable => Some(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. \
             You can either wait the script termination or kill the server in a hard way using \
             the SHUTDOWN NOSAVE command.",
        ),
    }
}

fn script_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    help(
        ctx,
        "SCRIPT",
        &[
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
}
