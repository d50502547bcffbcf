//! Connection commands: `PING`, `ECHO`, `HELLO`, `AUTH`, `QUIT`, `RESET`, `SELECT`,
//! `CLIENT ...`.

use std::time::Instant;

use bytes::Bytes;

use super::transaction::{set_listed_count, unwatch_all};
use super::{
    ADMIN, Command, Ctx, FAST, LOADING, NO_AUTH, RUNS_IN_MULTI, STALE, SUBSCRIBED_CONTEXT, command,
    errors, parse_int, subcommand, with_subcommands,
};
use crate::server::blocking;

pub(super) const COMMANDS: &[Command] = &[
    command("ping", -1, FAST | SUBSCRIBED_CONTEXT, (0, 0, 0), "@fast @connection", ping),
    command("echo", 2, FAST, (0, 0, 0), "@fast @connection", echo),
    command("hello", -1, NO_AUTH | FAST | LOADING | STALE, (0, 0, 0), "@fast @connection", hello),
    command("auth", -2, NO_AUTH | FAST | LOADING | STALE, (0, 0, 0), "@fast @connection", auth),
    command(
        "quit",
        -1,
        NO_AUTH | FAST | RUNS_IN_MULTI | SUBSCRIBED_CONTEXT,
        (0, 0, 0),
        "@fast @connection",
        quit,
    ),
    command(
        "reset",
        1,
        NO_AUTH | FAST | RUNS_IN_MULTI | SUBSCRIBED_CONTEXT | LOADING | STALE,
        (0, 0, 0),
        "@fast @connection",
        reset,
    ),
    command("select", 2, FAST | LOADING | STALE, (0, 0, 0), "@fast @connection", select),
    with_subcommands(
        "client",
        -2,
        0,
        "@slow",
        container,
        &[
            subcommand("client|id", "id", 2, LOADING | STALE, client_id),
            subcommand("client|setname", "setname", 3, LOADING | STALE, client_setname),
            subcommand("client|getname", "getname", 2, LOADING | STALE, client_getname),
            subcommand("client|list", "list", -2, LOADING | STALE, client_list),
            subcommand("client|info", "info", 2, LOADING | STALE, client_info),
            subcommand("client|unblock", "unblock", -3, ADMIN | LOADING | STALE, client_unblock),
            subcommand("client|kill", "kill", -3, ADMIN | LOADING | STALE, client_kill),
            subcommand("client|reply", "reply", 3, LOADING | STALE, client_reply),
            subcommand("client|help", "help", 2, LOADING | STALE, client_help),
        ],
    ),
];

/// The handler of a container command, which arity checking never lets run.
pub(super) fn container(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    ctx.error(&format!("ERR wrong number of arguments for '{name}' command"));
}

fn ping(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if args.len() > 2 {
        return ctx.error("ERR wrong number of arguments for 'ping' command");
    }
    if ctx.client.subscriptions > 0 && !ctx.client.resp3 {
        // A RESP2 subscriber tells replies from messages by their shape: `[pong, message]`.
        ctx.out.array_len(2);
        ctx.out.bulk(b"pong");
        return ctx.out.bulk(args.get(1).map_or(&b""[..], |m| m));
    }
    match args.get(1) {
        Some(message) => ctx.out.bulk(message),
        None => ctx.out.simple("PONG"),
    }
}

fn echo(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    ctx.out.bulk(&args[1]);
}

/// Checks a password for the `default` user, the only one. Without `requirepass` that user
/// has no password, and Redis then accepts any.
fn password_ok(ctx: &Ctx<'_>, user: &[u8], password: &[u8]) -> bool {
    let required = ctx.store.config.get("requirepass");
    user == b"default" && (required.is_empty() || password == required.as_bytes())
}

fn auth(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if args.len() > 3 {
        return ctx.error(errors::SYNTAX);
    }
    let (user, password) = match args {
        [_, password] => {
            if ctx.store.config.get("requirepass").is_empty() {
                return ctx.error(
                    "ERR AUTH <password> called without any password configured for the default user. \
                     Are you sure your configuration is correct?",
                );
            }
            (&b"default"[..], password)
        }
        [_, user, password] => (&user[..], password),
        _ => unreachable!("arity and the check above leave two or three arguments"),
    };
    if password_ok(ctx, user, password) {
        ctx.client.authenticated = true;
        ctx.out.ok();
    } else {
        ctx.error("WRONGPASS invalid username-password pair or user is disabled.");
    }
}

fn hello(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let mut version = None;
    let mut at = 1;
    if args.len() >= 2 {
        match parse_int(&args[1]) {
            Some(v @ 2..=3) => version = Some(v),
            Some(_) => return ctx.error("NOPROTO unsupported protocol version"),
            None => return ctx.error("ERR Protocol version is not an integer or out of range"),
        }
        at = 2;
    }
    let mut credentials = None;
    let mut name = None;
    while at < args.len() {
        let more = args.len() - 1 - at;
        if args[at].eq_ignore_ascii_case(b"auth") && more >= 2 {
            credentials = Some((args[at + 1].clone(), args[at + 2].clone()));
            at += 3;
        } else if args[at].eq_ignore_ascii_case(b"setname") && more >= 1 {
            name = Some(args[at + 1].clone());
            at += 2;
        } else {
            let option = String::from_utf8_lossy(&args[at]).into_owned();
            return ctx.error(&format!("ERR Syntax error in HELLO option '{option}'"));
        }
    }
    if let Some((user, password)) = credentials {
        if !password_ok(ctx, &user, &password) {
            return ctx.error("WRONGPASS invalid username-password pair or user is disabled.");
        }
        ctx.client.authenticated = true;
    }
    if !ctx.client.authenticated {
        return ctx.error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO \
             <proto> AUTH <user> <pass> option can be used to authenticate the client and select the \
             RESP protocol version at the same time",
        );
    }
    if let Some(name) = name
        && !set_name(ctx, name)
    {
        return;
    }
    if let Some(version) = version {
        ctx.client.resp3 = version == 3;
        ctx.out.set_resp3(ctx.client.resp3);
        if let Some(info) = ctx.store.clients.get_mut(&ctx.client.id) {
            info.resp = version as u8;
        }
    }
    let proto = if ctx.client.resp3 { 3 } else { 2 };
    ctx.out.map_len(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(crate::server::REDIS_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.int(proto);
    ctx.out.bulk(b"id");
    ctx.out.int(ctx.client.id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    ctx.out.bulk(b"master");
    ctx.out.bulk(b"modules");
    ctx.out.array_len(0);
}

fn quit(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    ctx.client.close_after_reply = true;
    ctx.out.ok();
}

/// `RESET`: the connection as if it had just connected (no transaction, watch or
/// subscription; database 0, RESP2, no name, replies on; authenticated only if no password is
/// required).
fn reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    let id = ctx.client.id;
    ctx.client.multi = None;
    ctx.client.multi_failed = false;
    set_listed_count(ctx, -1);
    unwatch_all(ctx.store, ctx.client);
    ctx.store.unsubscribe_all(id);
    ctx.client.subscriptions = 0;
    ctx.client.db = 0;
    ctx.client.resp3 = false;
    ctx.out.set_resp3(false);
    ctx.client.reply_off = false;
    ctx.client.skip_next_reply = false;
    ctx.client.authenticated = ctx.store.config.get("requirepass").is_empty();
    if let Some(info) = ctx.store.clients.get_mut(&id) {
        info.db = 0;
        info.resp = 2;
        info.name = None;
    }
    ctx.out.simple("RESET");
}

fn select(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(index) = ctx.db_index_arg(&args[1]) else { return };
    ctx.client.db = index;
    if let Some(info) = ctx.store.clients.get_mut(&ctx.client.id) {
        info.db = index;
    }
    ctx.out.ok();
}

/// `CLIENT REPLY ON|OFF|SKIP`. `OFF` and `SKIP` reply nothing themselves; the connection
/// drops the replies (not the pushes) of the commands they silence.
fn client_reply(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let mode = &args[2];
    if mode.eq_ignore_ascii_case(b"on") {
        ctx.client.reply_off = false;
        ctx.client.skip_next_reply = false;
        ctx.client.skip_this_reply = false;
        ctx.out.ok();
    } else if mode.eq_ignore_ascii_case(b"off") {
        ctx.client.reply_off = true;
    } else if mode.eq_ignore_ascii_case(b"skip") {
        if !ctx.client.reply_off {
            ctx.client.skip_next_reply = true;
        }
    } else {
        ctx.error(errors::SYNTAX);
    }
}

fn client_id(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    ctx.out.int(ctx.client.id as i64);
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`.
fn client_unblock(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if args.len() > 4 {
        return ctx.error(errors::SYNTAX);
    }
    let with_error = match args.get(3) {
        None => false,
        Some(reason) if reason.eq_ignore_ascii_case(b"timeout") => false,
        Some(reason) if reason.eq_ignore_ascii_case(b"error") => true,
        Some(_) => return ctx.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
    };
    let Some(id) = ctx.int_arg(&args[2]) else { return };
    let released = u64::try_from(id).is_ok_and(|id| blocking::release(ctx.store, id, with_error));
    ctx.out.int(i64::from(released));
}

/// Which clients `CLIENT KILL` disconnects: those that match every filter given.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    /// Subscribers (true) or the others (false); `Some(None)` for the types no client here
    /// has (masters and replicas).
    pubsub: Option<Option<bool>>,
    skip_me: bool,
}

/// `CLIENT KILL addr:port` (the old form: it may disconnect the caller too, and replies `OK`
/// or an error) and `CLIENT KILL <filter> <value> ...` with `ID`, `TYPE`, `ADDR`, `LADDR`,
/// `USER` and `SKIPME` (replies with how many it disconnected). A client disconnected leaves
/// the client list, its subscriptions and its blocking pop at once, so nothing is served to
/// it afterwards; the caller, when it matches, is disconnected after this reply.
fn client_kill(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let old_form = args.len() == 3;
    let mut filter = KillFilter { skip_me: !old_form, ..KillFilter::default() };
    if old_form {
        filter.addr = Some(args[2].clone());
    } else {
        for pair in args[2..].chunks(2) {
            let [option, value] = pair else { return ctx.error(errors::SYNTAX) };
            let option = option.to_ascii_lowercase();
            match &option[..] {
                b"id" => match parse_int(value).filter(|&id| id > 0) {
                    Some(id) => filter.id = Some(id as u64),
                    None => return ctx.error("ERR client-id should be greater than 0"),
                },
                b"type" => match client_type(value) {
                    Some(kind) => filter.pubsub = Some(kind),
                    None => {
                        let kind = String::from_utf8_lossy(value);
                        return ctx.error(&format!("ERR Unknown client type '{kind}'"));
                    }
                },
                b"addr" => filter.addr = Some(value.clone()),
                b"laddr" => filter.laddr = Some(value.clone()),
                // There are no ACL users here: every client is `default`.
                b"user" if &value[..] == b"default" => {}
                b"user" => {
                    let user = String::from_utf8_lossy(value);
                    return ctx.error(&format!("ERR No such user '{user}'"));
                }
                b"skipme" if value.eq_ignore_ascii_case(b"yes") => filter.skip_me = true,
                b"skipme" if value.eq_ignore_ascii_case(b"no") => filter.skip_me = false,
                _ => return ctx.error(errors::SYNTAX),
            }
        }
    }
    let me = ctx.client.id;
    let matching: Vec<u64> = ctx
        .store
        .clients
        .iter()
        .filter(|&(&id, info)| {
            filter.id.is_none_or(|wanted| wanted == id)
                && filter.addr.as_ref().is_none_or(|a| a[..] == *info.addr.to_string().as_bytes())
                && filter.laddr.as_ref().is_none_or(|a| a[..] == *info.laddr.to_string().as_bytes())
                && filter.pubsub.is_none_or(|kind| kind == Some(info.subscriptions.total() > 0))
                && !(filter.skip_me && id == me)
        })
        .map(|(&id, _)| id)
        .collect();
    for &id in &matching {
        if id == me {
            ctx.client.close_after_reply = true;
        } else {
            // Off the client list at once, as in Redis. A subscribed or blocked connection
            // is woken and closes now; an idle one closes when it next sends a command.
            ctx.store.kill(id);
            ctx.store.clients.remove(&id);
        }
    }
    match (old_form, matching.len()) {
        (true, 0) => ctx.error("ERR No such client"),
        (true, _) => ctx.out.ok(),
        (false, killed) => ctx.out.int(killed as i64),
    }
}

/// A client type of `CLIENT LIST TYPE` and `CLIENT KILL TYPE`: `Some(Some(true))` for
/// subscribers, `Some(Some(false))` for normal clients, `Some(None)` for the replication
/// types no client here has, `None` for an unknown name.
fn client_type(name: &[u8]) -> Option<Option<bool>> {
    let name = name.to_ascii_lowercase();
    match &name[..] {
        b"normal" => Some(Some(false)),
        b"pubsub" => Some(Some(true)),
        b"master" | b"replica" | b"slave" => Some(None),
        _ => None,
    }
}

/// Sets (or, with an empty name, clears) the client's name; replies with Redis's error and
/// returns false if the name has spaces or control characters.
fn set_name(ctx: &mut Ctx<'_>, name: Bytes) -> bool {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        ctx.error("ERR Client names cannot contain spaces, newlines or special characters.");
        return false;
    }
    if let Some(info) = ctx.store.clients.get_mut(&ctx.client.id) {
        info.name = (!name.is_empty()).then_some(name);
    }
    true
}

fn client_setname(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if set_name(ctx, args[2].clone()) {
        ctx.out.ok();
    }
}

fn client_getname(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    match ctx.store.clients.get(&ctx.client.id).and_then(|info| info.name.clone()) {
        Some(name) => ctx.out.bulk(&name),
        None => ctx.out.null(),
    }
}

/// One line of `CLIENT LIST`, with the fields Redis prints (those about buffers and memory
/// describe this server's own buffers only loosely and are reported as 0, but `omem`, the
/// output waiting for the client, which the output buffer limit bounds).
fn describe(ctx: &Ctx<'_>, id: u64) -> String {
    let Some(info) = ctx.store.clients.get(&id) else { return String::new() };
    let now = Instant::now();
    let name = info.name.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    // The list is updated once per batch; this client's own last command is the current one.
    let command = if id == ctx.client.id { ctx.client.last_command } else { info.last_command };
    let subs = &info.subscriptions;
    let flags = match (ctx.store.blocked.contains_key(&id), subs.total() > 0) {
        (true, true) => "Pb",
        (true, false) => "b",
        (false, true) => "P",
        (false, false) => "N",
    };
    format!(
        "id={id} addr={} laddr={} fd=0 name={name} age={} idle={} flags={flags} db={} sub={} psub={} ssub={} multi={} \
         qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r cmd={} \
         user=default redir=-1 resp={}\n",
        info.addr,
        info.laddr,
        now.duration_since(info.created).as_secs(),
        (ctx.now - info.last_interaction).max(0) / 1000,
        info.db,
        subs.channels.len(),
        subs.patterns.len(),
        subs.shard.len(),
        info.multi,
        info.outbox.len() + info.in_flight,
        command,
        info.resp,
    )
}

fn client_list(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let ids: Vec<u64> = match &args[2..] {
        [] => ctx.store.clients.keys().copied().collect(),
        [option, kind] if option.eq_ignore_ascii_case(b"type") => match client_type(kind) {
            Some(kind) => {
                let clients = ctx.store.clients.iter();
                clients
                    .filter(|(_, info)| Some(info.subscriptions.total() > 0) == kind)
                    .map(|(&id, _)| id)
                    .collect()
            }
            None => {
                let kind = String::from_utf8_lossy(kind).into_owned();
                return ctx.error(&format!("ERR Unknown client type '{kind}'"));
            }
        },
        [option, ids @ ..] if option.eq_ignore_ascii_case(b"id") && !ids.is_empty() => {
            let mut wanted = Vec::new();
            for id in ids {
                match parse_int(id).filter(|n| *n > 0) {
                    Some(id) => wanted.push(id as u64),
                    None => return ctx.error("ERR Invalid client ID"),
                }
            }
            wanted.into_iter().filter(|id| ctx.store.clients.contains_key(id)).collect()
        }
        _ => return ctx.error(errors::SYNTAX),
    };
    let text: String = ids.iter().map(|&id| describe(ctx, id)).collect();
    ctx.out.verbatim(text.as_bytes());
}

fn client_info(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    let text = describe(ctx, ctx.client.id);
    ctx.out.verbatim(text.as_bytes());
}

fn client_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    help(
        ctx,
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "    * ID <client-id> [<client-id> ...]",
            "      Return clients with the given IDs.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
        ],
    );
}

/// The reply of every `... HELP` subcommand: a heading line, the given lines, and `HELP`.
pub(super) fn help(ctx: &mut Ctx<'_>, command: &str, lines: &[&str]) {
    ctx.out.array_len(lines.len() + 3);
    ctx.out.simple(&format!("{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for line in lines {
        ctx.out.simple(line);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Print this help.");
}
