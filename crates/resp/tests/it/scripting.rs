//! `EVAL` and friends over real sockets: the conversions both ways, the error texts, the
//! script cache, scripts that run too long (`-BUSY`, `SCRIPT KILL`, `SHUTDOWN NOSAVE`),
//! hostile scripts, and the AOF a script's writes leave.

use std::time::{Duration, Instant};

use byo_resp::Frame;
use byo_resp::server::Config;

use crate::server::{Conn, TestServer};

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

fn bulk(text: &str) -> Frame {
    Frame::bulk(text)
}

fn int(n: i64) -> Frame {
    Frame::Integer(n)
}

/// The error text of `frame`, or a panic.
fn error_text(frame: Frame) -> String {
    match frame {
        Frame::Error(text) => String::from_utf8_lossy(&text).into_owned(),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn eval(conn: &mut Conn, script: &str, keys: &[&str], argv: &[&str]) -> Frame {
    let numkeys = keys.len().to_string();
    let mut args = vec!["EVAL", script, &numkeys];
    args.extend_from_slice(keys);
    args.extend_from_slice(argv);
    conn.call(&args)
}

#[test]
fn lua_values_become_replies_by_redis_rules() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    assert_eq!(eval(&mut conn, "return 42", &[], &[]), int(42));
    // Numbers are truncated toward zero.
    assert_eq!(eval(&mut conn, "return 3.99", &[], &[]), int(3));
    assert_eq!(eval(&mut conn, "return -3.99", &[], &[]), int(-3));
    assert_eq!(eval(&mut conn, "return 2^53", &[], &[]), int(1 << 53));
    // Out of range, C's cast is undefined; Redis on x86-64 replies the smallest integer.
    for script in ["return 1/0", "return -(1/0)", "return 0/0", "return 2^63", "return -(2^64)"] {
        assert_eq!(eval(&mut conn, script, &[], &[]), int(i64::MIN), "{script}");
    }
    assert_eq!(eval(&mut conn, "return 'text'", &[], &[]), bulk("text"));
    assert_eq!(eval(&mut conn, "return true", &[], &[]), int(1));
    assert_eq!(eval(&mut conn, "return false", &[], &[]), Frame::NullBulk);
    assert_eq!(eval(&mut conn, "return nil", &[], &[]), Frame::NullBulk);
    // An array stops at the first nil.
    assert_eq!(
        eval(&mut conn, "return {1, 'two', {3, 'four'}, nil, 5}", &[], &[]),
        Frame::Array(vec![int(1), bulk("two"), Frame::Array(vec![int(3), bulk("four")])])
    );
    assert_eq!(eval(&mut conn, "return {ok = 'FINE'}", &[], &[]), Frame::Simple("FINE".into()));
    assert_eq!(
        eval(&mut conn, "return redis.status_reply('FINE')", &[], &[]),
        Frame::Simple("FINE".into())
    );
    assert_eq!(
        error_text(eval(&mut conn, "return {err = 'MINE went wrong'}", &[], &[])),
        "MINE went wrong"
    );
    assert_eq!(
        error_text(eval(&mut conn, "return redis.error_reply('-MINE x')", &[], &[])),
        "MINE x"
    );
    // A code alone, or none, gets ERR in front, as Redis's luaPushErrorBuff does.
    assert_eq!(
        error_text(eval(&mut conn, "return redis.error_reply('-MINE')", &[], &[])),
        "ERR MINE"
    );
    assert_eq!(
        error_text(eval(&mut conn, "return redis.error_reply('plain')", &[], &[])),
        "ERR plain"
    );
    // Both helpers take one string, not a number that Lua could convert: anything else is an
    // error table (returned, not raised).
    for script in ["return redis.status_reply(3)", "return redis.error_reply(true)"] {
        let text = error_text(eval(&mut conn, script, &[], &[]));
        assert_eq!(text, "ERR wrong number or type of arguments", "{script}");
    }
    assert_eq!(eval(&mut conn, "return #redis.status_reply(true)", &[], &[]), int(0));
    assert_eq!(
        eval(&mut conn, "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}", &["a", "b"], &["c", "d"]),
        Frame::Array(vec![bulk("a"), bulk("b"), bulk("c"), int(2)])
    );
    // A number is hashed as Lua prints it, anything else as the empty string; the argument
    // count is checked.
    assert_eq!(
        eval(&mut conn, "return {redis.sha1hex(12), redis.sha1hex(true)}", &[], &[]),
        Frame::Array(vec![
            bulk("7b52009b64fd0a2a49e6d8a939753077792b0554"),
            bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
        ])
    );
    assert!(
        error_text(eval(&mut conn, "return redis.sha1hex()", &[], &[]))
            .starts_with("ERR wrong number of arguments script: ")
    );
    assert_eq!(
        eval(&mut conn, "return redis.sha1hex('')", &[], &[]),
        bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
}

#[test]
fn replies_become_lua_values_by_redis_rules() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    conn.call(&["RPUSH", "list", "a", "b"]);
    conn.call(&["SET", "counter", "10"]);
    // Status replies are {ok = ...}, nulls are false, integers numbers, arrays tables.
    let script = "
        local set = redis.call('SET', 'k', 'v')
        local missing = redis.call('GET', 'nothing')
        local n = redis.call('INCRBY', 'counter', 5)
        local list = redis.call('LRANGE', 'list', 0, -1)
        local err = redis.pcall('LPUSH', 'k', 'x')
        return {set.ok, tostring(missing), n, list[2], #list, err.err}";
    assert_eq!(
        eval(&mut conn, script, &[], &[]),
        Frame::Array(vec![
            bulk("OK"),
            bulk("false"),
            int(15),
            bulk("b"),
            int(2),
            bulk("WRONGTYPE Operation against a key holding the wrong kind of value"),
        ])
    );
    // Numbers as arguments keep their digits (%.17g), not Lua's 14.
    eval(&mut conn, "return redis.call('SET', 'f', 0.1)", &[], &[]);
    assert_eq!(conn.call(&["GET", "f"]), bulk("0.10000000000000001"));
    eval(&mut conn, "return redis.call('SET', 'i', 123456789012)", &[], &[]);
    assert_eq!(conn.call(&["GET", "i"]), bulk("123456789012"));
}

/// Lua 5.1's `pcall` pushes its status after the called function's results without asking
/// for a slot. With Lua's API checks compiled in (lua-src does so in debug builds), a function
/// returning 20 values or more under `pcall` aborted the whole server.
#[test]
fn pcall_of_a_function_returning_many_values_answers() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    for (script, count) in [
        ("local t = {} for i = 1, 500 do t[i] = i end return select('#', pcall(unpack, t))", 501),
        ("return select('#', pcall(cmsgpack.unpack, string.rep('\\195', 300)))", 301),
        (
            "local t = {} for i = 1, 25 do t[i] = i end return select('#', \
             xpcall(function() return unpack(t) end, function(e) return e end))",
            26,
        ),
    ] {
        assert_eq!(eval(&mut conn, script, &[], &[]), int(count), "{script}");
    }
}

/// Commands that answer otherwise when a script calls them, as on Redis: a set's `SORT` without
/// an order is ordered (a script must not see the hash table's order), `XREAD BLOCK` and
/// `XREADGROUP BLOCK` are refused, and `INFO` counts the cached scripts.
#[test]
fn commands_called_from_scripts_answer_as_on_redis() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    let letters = ["z", "aaa", "b", "azz", "c", "aa", "a"];
    conn.call(&[&["SADD", "set"][..], &letters].concat());
    let sorted: Vec<Frame> = ["a", "aa", "aaa", "azz", "b", "c", "z"].map(bulk).to_vec();
    let script = "return redis.call('sort', KEYS[1], 'by', '_')";
    assert_eq!(eval(&mut conn, script, &["set"], &[]), Frame::Array(sorted));
    let script = "return redis.call('sort', KEYS[1], 'by', '_', 'get', '#', 'get', '_:*')";
    let with_gets = ["a", "aa", "aaa", "azz", "b", "c", "z"]
        .into_iter()
        .flat_map(|letter| [bulk(letter), Frame::NullBulk])
        .collect();
    assert_eq!(eval(&mut conn, script, &["set"], &[]), Frame::Array(with_gets));

    conn.call(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let script = "return redis.pcall('xread', 'STREAMS', KEYS[1], '$')";
    assert_eq!(eval(&mut conn, script, &["s"], &[]), Frame::NullBulk);
    for (script, name) in [
        ("return redis.pcall('xread', 'BLOCK', 0, 'STREAMS', KEYS[1], '$')", "xread"),
        (
            "return redis.pcall('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', 0, 'STREAMS', KEYS[1], '>')",
            "XREADGROUP",
        ),
    ] {
        let expected = format!("ERR {name} command is not allowed with BLOCK option from scripts");
        assert_eq!(error_text(eval(&mut conn, script, &["s"], &[])), expected);
    }

    let cached = |conn: &mut Conn| match conn.call(&["INFO", "memory"]) {
        Frame::Bulk(text) => String::from_utf8_lossy(&text)
            .lines()
            .find_map(|line| line.strip_prefix("number_of_cached_scripts:").map(str::to_owned)),
        other => panic!("INFO answered {other:?}"),
    };
    assert_eq!(cached(&mut conn).as_deref(), Some("5"));
    conn.call(&["SCRIPT", "FLUSH", "ASYNC"]);
    assert_eq!(cached(&mut conn).as_deref(), Some("0"));
}

/// `redis.setresp(3)`: the script's commands answer in RESP3, whose types reach it as
/// Redis's tagged tables, and what it returns is written in the client's own protocol.
#[test]
fn a_script_may_speak_resp3() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    conn.call(&["HSET", "hash", "field", "value"]);
    conn.call(&["ZADD", "z", "1.5", "m"]);
    let hgetall =
        |version: u8| format!("redis.setresp({version}) return redis.call('HGETALL', 'hash')");
    let flat = Frame::Array(vec![bulk("field"), bulk("value")]);
    let map = Frame::Map(vec![(bulk("field"), bulk("value"))]);
    // As Redis's own test: a map only for a RESP3 client of a RESP3 script.
    for (hello, version, expected) in
        [("2", 3, &flat), ("2", 2, &flat), ("3", 3, &map), ("3", 2, &flat)]
    {
        conn.call(&["HELLO", hello]);
        assert_eq!(&eval(&mut conn, &hgetall(version), &[], &[]), expected, "{hello} {version}");
    }
    conn.call(&["HELLO", "2"]);
    let seen = "redis.setresp(3) local m = redis.call('HGETALL', 'hash') \
        local s = redis.call('SMEMBERS', 'nokey') local d = redis.call('ZSCORE', 'z', 'm') \
        return {type(m.map), m.map.field, type(s.set), tostring(d.double), \
        type(redis.call('GET', 'nokey'))}";
    let expected = ["table", "value", "table", "1.5", "nil"].map(bulk).to_vec();
    assert_eq!(eval(&mut conn, seen, &[], &[]), Frame::Array(expected));
    // Booleans are booleans once the script speaks RESP3 (1 and 0 to a RESP2 client).
    assert_eq!(
        eval(&mut conn, "redis.setresp(3) return {true, false}", &[], &[]),
        Frame::Array(vec![int(1), int(0)])
    );
    assert_eq!(
        eval(&mut conn, "return {true, false}", &[], &[]),
        Frame::Array(vec![int(1), Frame::NullBulk])
    );
    conn.call(&["HELLO", "3"]);
    assert_eq!(
        eval(&mut conn, "redis.setresp(3) return {true, false}", &[], &[]),
        Frame::Array(vec![Frame::Boolean(true), Frame::Boolean(false)])
    );
    let tagged = "return {{double = 2.5}, {big_number = '123456789012345678901234567890'}, \
        {verbatim_string = {format = 'mkd', string = '# hi'}}, {set = {x = true}}}";
    assert_eq!(
        eval(&mut conn, tagged, &[], &[]),
        Frame::Array(vec![
            Frame::Double(2.5),
            Frame::BigNumber("123456789012345678901234567890".into()),
            Frame::Verbatim { format: *b"mkd", text: "# hi".into() },
            Frame::Set(vec![bulk("x")]),
        ])
    );
    for (script, text) in [
        ("redis.setresp()", "ERR redis.setresp() requires one argument."),
        ("redis.setresp(4)", "ERR RESP version must be 2 or 3."),
    ] {
        let error = error_text(eval(&mut conn, script, &[], &[]));
        assert!(error.starts_with(text), "{error}");
    }
}

#[test]
fn errors_say_what_and_where() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    conn.call(&["SET", "s", "text"]);
    let sha = |script: &str| {
        let Frame::Bulk(sha) = server.connect().call(&["SCRIPT", "LOAD", script]) else {
            panic!("SCRIPT LOAD gives the sha")
        };
        String::from_utf8_lossy(&sha).into_owned()
    };
    // A failing redis.call ends the script; the error names the script and the line, even
    // from a tail call.
    let script = "\nreturn redis.call('INCR', 's')";
    assert_eq!(
        error_text(eval(&mut conn, script, &[], &[])),
        format!(
            "ERR value is not an integer or out of range script: {}, on @user_script:2.",
            sha(script)
        )
    );
    // redis.pcall hands the error over instead.
    assert_eq!(
        error_text(eval(&mut conn, "return redis.pcall('INCR', 's')", &[], &[])),
        "ERR value is not an integer or out of range"
    );
    // Lua's pcall catches what redis.call raised as the error's text, as Redis 7's does; an
    // xpcall handler sees the table.
    let caught = "return {pcall(redis.call, 'INCR', 's')}";
    assert_eq!(
        eval(&mut conn, caught, &[], &[]),
        Frame::Array(vec![Frame::NullBulk, bulk("ERR value is not an integer or out of range")])
    );
    let handled = "return type(select(2, xpcall(function() redis.call('X') end, \
                   function(e) return e end)))";
    assert_eq!(eval(&mut conn, handled, &[], &[]), bulk("table"));
    let cases = [
        ("return redis.call('NOSUCH')", "ERR Unknown Redis command called from script script: "),
        (
            "return redis.call('GET')",
            "ERR Wrong number of args calling Redis command from script script: ",
        ),
        (
            "return redis.call('BLPOP', 'l', 0)",
            "ERR This Redis command is not allowed from script script: ",
        ),
        (
            "return redis.call('MULTI')",
            "ERR This Redis command is not allowed from script script: ",
        ),
        (
            "return redis.call()",
            "ERR Please specify at least one argument for this redis lib call script: ",
        ),
        (
            "return redis.call('GET', {})",
            "ERR Lua redis lib command arguments must be strings or integers script: ",
        ),
        ("x = 1", "ERR user_script:1: Attempt to modify a readonly table script: "),
        (
            "return undefined_thing",
            "ERR user_script:1: Script attempted to access nonexistent global variable 'undefined_thing' script: ",
        ),
        ("error('boom')", "ERR user_script:1: boom script: "),
        ("return 1 +", "ERR Error compiling script (new function): user_script:1: "),
        ("#!python\nreturn 1", "ERR Unexpected engine in script shebang: #!python"),
        ("#!lua flags=no-such\nreturn 1", "ERR Unexpected flag in script shebang: no-such"),
    ];
    for (script, start) in cases {
        let text = error_text(eval(&mut conn, script, &[], &[]));
        assert!(text.starts_with(start), "{script}: {text}");
    }
    assert_eq!(
        error_text(conn.call(&["EVAL", "return 1", "2", "a"])),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        error_text(conn.call(&["EVAL", "return 1", "-1"])),
        "ERR Number of keys can't be negative"
    );
    assert_eq!(
        error_text(conn.call(&["EVAL", "return 1", "x"])),
        "ERR value is not an integer or out of range"
    );
    // The connection is still in good order.
    assert_eq!(conn.call(&["PING"]), Frame::Simple("PONG".into()));
}

#[test]
fn the_script_cache_serves_evalsha() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    let sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"; // SHA-1 of "return 1"
    assert_eq!(
        error_text(conn.call(&["EVALSHA", sha, "0"])),
        "NOSCRIPT No matching script. Please use EVAL."
    );
    assert_eq!(conn.call(&["EVAL", "return 1", "0"]), int(1));
    assert_eq!(conn.call(&["EVALSHA", sha, "0"]), int(1));
    assert_eq!(conn.call(&["EVALSHA", &sha.to_uppercase(), "0"]), int(1));
    assert_eq!(
        conn.call(&["SCRIPT", "LOAD", "return 2"]),
        bulk("7f923f79fe76194c868d7e1d0820de36700eb649")
    );
    assert_eq!(
        conn.call(&["SCRIPT", "EXISTS", sha, "7f923f79fe76194c868d7e1d0820de36700eb649", "nope"]),
        Frame::Array(vec![int(1), int(1), int(0)])
    );
    // A script that does not compile is not cached.
    assert!(
        error_text(conn.call(&["SCRIPT", "LOAD", "return +"]))
            .starts_with("ERR Error compiling script")
    );
    assert_eq!(conn.call(&["SCRIPT", "FLUSH", "ASYNC"]), ok());
    assert_eq!(conn.call(&["SCRIPT", "EXISTS", sha]), Frame::Array(vec![int(0)]));
    assert_eq!(
        error_text(conn.call(&["SCRIPT", "FLUSH", "LATER"])),
        "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
    );
    assert_eq!(
        error_text(conn.call(&["SCRIPT", "KILL"])),
        "NOTBUSY No scripts in execution right now."
    );
}

#[test]
fn read_only_scripts_refuse_writes() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    let refused = "ERR Write commands are not allowed from read-only scripts. script: ";
    let text = error_text(conn.call(&["EVAL_RO", "return redis.call('SET', 'k', 'v')", "0"]));
    assert!(text.starts_with(refused), "{text}");
    let script = "#!lua flags=no-writes\nreturn redis.call('SET', 'k', 'v')";
    let text = error_text(conn.call(&["EVAL", script, "0"]));
    assert!(text.starts_with(refused), "{text}");
    assert_eq!(conn.call(&["EXISTS", "k"]), int(0));
    assert_eq!(conn.call(&["EVAL_RO", "return redis.call('EXISTS', 'k')", "0"]), int(0));
}

#[test]
fn scripts_run_inside_transactions_and_select_their_callers_database() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    conn.call(&["SELECT", "3"]);
    assert_eq!(conn.call(&["MULTI"]), ok());
    assert_eq!(conn.call(&["SET", "k", "1"]), Frame::Simple("QUEUED".into()));
    assert_eq!(
        conn.call(&["EVAL", "return redis.call('INCR', 'k')", "0"]),
        Frame::Simple("QUEUED".into())
    );
    assert_eq!(conn.call(&["EXEC"]), Frame::Array(vec![ok(), int(2)]));
    // SELECT inside a script does not change the caller's database (Redis 7).
    eval(&mut conn, "redis.call('SELECT', 5) return redis.call('SET', 'in5', 'x')", &[], &[]);
    assert_eq!(conn.call(&["EXISTS", "in5"]), int(0));
    conn.call(&["SELECT", "5"]);
    assert_eq!(conn.call(&["GET", "in5"]), bulk("x"));
}

/// Scripts from many clients at once, which the script thread runs several to a turn when
/// they are queued together (see `net::script`; in a trial, eight clients gave turns of two
/// to eight scripts): `clients` connections each send `rounds` batches of two pipelined
/// `EVAL`s of `body` (which must return `{ARGV[1], <a new INCR of n>}`), and each reply must
/// be the one its own script made, in order, with every increment seen once.
fn scripts_from_many_clients(clients: usize, rounds: usize, config: Config, body: &'static str) {
    let server = TestServer::start(config);
    let mut conns: Vec<Conn> = (0..clients).map(|_| server.connect()).collect();
    let mut admin = server.connect();
    let threads: Vec<_> = conns
        .drain(..)
        .enumerate()
        .map(|(client, mut conn)| {
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                for round in 0..rounds {
                    let tags = [0, 1].map(|n| format!("{client}:{round}:{n}"));
                    for tag in &tags {
                        conn.send(&["EVAL", body, "0", tag]);
                    }
                    for tag in &tags {
                        let Some(Frame::Array(reply)) = conn.read() else { panic!("{tag}") };
                        assert_eq!(reply[0], bulk(tag), "a reply reached the wrong script");
                        let Frame::Integer(n) = reply[1] else { panic!("{reply:?}") };
                        assert!(seen.last().is_none_or(|&last| last < n), "out of order");
                        seen.push(n);
                    }
                }
                seen
            })
        })
        .collect();
    let mut all: Vec<i64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    all.sort_unstable();
    let total = (clients * rounds * 2) as i64;
    assert_eq!(all, (1..=total).collect::<Vec<_>>(), "an increment lost or seen twice");
    assert_eq!(admin.call(&["GET", "n"]), bulk(&total.to_string()));
}

#[test]
fn scripts_from_many_clients_each_get_their_own_reply() {
    let body = "return {ARGV[1], redis.call('INCR', 'n')}";
    scripts_from_many_clients(8, 150, Config::default(), body);
}

/// As above, with every script running past `lua-time-limit`: each one that follows another
/// in the script thread's turn starts with a fresh time limit, and the turn still ends.
#[test]
fn scripts_that_each_run_past_the_time_limit_each_get_their_own_reply() {
    let mut config = Config::default();
    config.set("lua-time-limit", "2").unwrap();
    // About 25 ms of work each, by the server's clock (scripts have no `os`): longer than
    // the 100,000 instructions between two looks of the script's hook at the clock.
    let body = "local t = redis.call('TIME') local start = t[1] * 1000000 + t[2] \
        repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > 25000 \
        return {ARGV[1], redis.call('INCR', 'n')}";
    scripts_from_many_clients(4, 3, config, body);
}

/// Waits until `conn` is answered `-BUSY`.
fn wait_busy(conn: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match conn.call(&["GET", "x"]) {
            Frame::Error(text) if text.starts_with(b"BUSY ") => return,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            other => panic!("never busy: {other:?}"),
        }
    }
}

/// A server busy running `script` (past a 10 ms time limit): the server, a connection that
/// saw it busy, and the connection running the script.
fn busy_with(script: &str) -> (TestServer, Conn, Conn) {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    admin.call(&["CONFIG", "SET", "lua-time-limit", "10"]);
    let mut runner = server.connect();
    runner.send(&["EVAL", script, "0"]);
    wait_busy(&mut admin);
    (server, admin, runner)
}

#[test]
fn a_script_past_its_time_limit_is_busy_and_can_be_killed() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    assert_eq!(admin.call(&["CONFIG", "SET", "lua-time-limit", "10"]), ok());
    let mut other = server.connect();
    assert_eq!(other.call(&["MULTI"]), ok());
    assert_eq!(other.call(&["INCR", "x"]), Frame::Simple("QUEUED".into()));
    let mut runner = server.connect();
    runner.send(&["EVAL", "while true do end", "0"]);
    wait_busy(&mut admin);
    // A transaction is discarded by an EXEC refused while busy.
    assert_eq!(
        error_text(other.call(&["EXEC"])),
        "EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. You \
         can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    // MULTI is allowed while busy; a refused command dooms the transaction.
    assert_eq!(other.call(&["MULTI"]), ok());
    assert!(error_text(other.call(&["INCR", "x"])).starts_with("BUSY "));
    // A connection made now can kill the script (redis-cli SCRIPT KILL).
    let mut fresh = server.connect();
    assert_eq!(fresh.call(&["SCRIPT", "KILL"]), ok());
    let text = error_text(runner.read().expect("the script's reply"));
    assert!(text.starts_with("ERR Script killed by user with SCRIPT KILL... script: "), "{text}");
    assert_eq!(
        error_text(other.call(&["EXEC"])),
        "EXECABORT Transaction discarded because of previous errors."
    );
    assert_eq!(other.call(&["GET", "x"]), Frame::NullBulk);
    assert_eq!(fresh.call(&["CLIENT", "ID"]), fresh.call(&["CLIENT", "ID"]));
    let Frame::Bulk(list) = admin.call(&["CLIENT", "LIST"]) else { panic!("CLIENT LIST") };
    assert_eq!(String::from_utf8_lossy(&list).lines().count(), 4, "every connection is listed");
    assert_eq!(
        error_text(admin.call(&["SCRIPT", "KILL"])),
        "NOTBUSY No scripts in execution right now."
    );
}

#[test]
fn errors_answered_while_a_script_is_busy_are_counted() {
    let (_server, mut admin, mut runner) = busy_with("while true do end"); // -BUSY once
    assert_eq!(admin.call(&["MULTI"]), ok());
    assert!(error_text(admin.call(&["INCR", "x"])).starts_with("BUSY "));
    assert!(error_text(admin.call(&["EXEC"])).starts_with("EXECABORT "));
    assert!(error_text(admin.call(&["NOSUCHCMD"])).starts_with("ERR unknown command"));
    assert_eq!(admin.call(&["SCRIPT", "KILL"]), ok());
    assert!(error_text(runner.read().expect("the script's reply")).starts_with("ERR Script"));
    assert!(error_text(admin.call(&["SCRIPT", "KILL"])).starts_with("NOTBUSY "));
    // The same sequence on redis-server 7.0.15 gives these counts.
    assert_eq!(
        admin.call(&["INFO", "errorstats"]),
        bulk(
            "# Errorstats\r\nerrorstat_BUSY:count=2\r\nerrorstat_ERR:count=2\r\n\
             errorstat_EXECABORT:count=1\r\nerrorstat_NOTBUSY:count=1\r\n"
        )
    );
}

#[test]
fn a_script_cannot_catch_its_kill() {
    let script = "while true do pcall(function() while true do end end) end";
    let (_server, mut admin, mut runner) = busy_with(script);
    assert_eq!(admin.call(&["SCRIPT", "KILL"]), ok());
    let text = error_text(runner.read().expect("the script's reply"));
    assert!(text.contains("Script killed by user"), "{text}");
    assert_eq!(admin.call(&["PING"]), Frame::Simple("PONG".into()));
}

#[test]
fn a_script_that_wrote_cannot_be_killed() {
    // Long enough to be busy, short enough to end by itself.
    let script = "redis.call('SET', 'w', 1) local n = 0 for i = 1, 30000000 do n = n + i end \
                  return redis.call('INCR', 'w')";
    let (_server, mut admin, mut runner) = busy_with(script);
    assert!(error_text(admin.call(&["SCRIPT", "KILL"])).starts_with("UNKILLABLE Sorry the script"));
    assert_eq!(runner.read(), Some(int(2)));
    assert_eq!(admin.call(&["GET", "w"]), bulk("2"));
}

#[test]
fn shutdown_nosave_stops_a_server_busy_with_a_script() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    admin.call(&["CONFIG", "SET", "lua-time-limit", "10"]);
    let mut runner = server.connect();
    let script = "redis.call('SET', 'w', 1) local n = 0 for i = 1, 30000000 do n = n + i end";
    runner.send(&["EVAL", script, "0"]);
    wait_busy(&mut admin);
    assert!(error_text(admin.call(&["SHUTDOWN"])).starts_with("BUSY "));
    admin.send(&["SHUTDOWN", "NOSAVE"]);
    assert_eq!(admin.read(), None, "the connection closes without a reply");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(server.addr).is_ok() {
        assert!(Instant::now() < deadline, "the server still accepts connections");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn shutdown_syncs_the_log_and_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.set("dir", dir.path().to_str().unwrap()).unwrap();
    config.set("appendonly", "yes").unwrap();
    config.set("appendfsync", "no").unwrap();
    {
        let server = TestServer::start(config.clone());
        let mut conn = server.connect();
        conn.call(&["SET", "k", "v"]);
        assert_eq!(conn.call(&["MULTI"]), ok());
        assert_eq!(
            error_text(conn.call(&["SHUTDOWN"])),
            "ERR Command not allowed inside a transaction"
        );
        assert_eq!(conn.call(&["DISCARD"]), ok());
        assert_eq!(error_text(conn.call(&["SHUTDOWN", "ABORT"])), "ERR No shutdown in progress.");
        assert_eq!(error_text(conn.call(&["SHUTDOWN", "SAVE", "NOSAVE"])), "ERR syntax error");
        conn.send(&["SHUTDOWN"]);
        assert_eq!(conn.read(), None);
    }
    let server = TestServer::start(config);
    assert_eq!(server.connect().call(&["GET", "k"]), bulk("v"));
}

#[test]
fn hostile_scripts_end_with_an_error_and_the_server_goes_on() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    let cases = [
        // Unbounded recursion: Lua's own stack limit.
        ("local function f() return 1 + f() end return f()", "stack overflow"),
        // A table that contains itself, returned.
        ("local t = {} t[1] = t return t", "ERR reached lua stack limit"),
        // The same through RESP3's map and set tables (more calls on the stack per level).
        ("local t = {} t.map = {k = t} return t", "ERR reached lua stack limit"),
        ("local t = {} t.set = {} t.set[t] = true return t", "ERR reached lua stack limit"),
        ("local t = {} t.map = {} t.map[t] = 1 return t", "ERR reached lua stack limit"),
        // Precompiled bytecode is not loaded (unverified, it can crash the VM).
        ("return loadstring(string.dump(function() return 1 end))", ""),
        ("return load", ""),
        ("return os", "nonexistent global variable 'os'"),
        ("return io", "nonexistent global variable 'io'"),
        ("return dofile", "nonexistent global variable 'dofile'"),
        ("return print", "nonexistent global variable 'print'"),
    ];
    for (script, expected) in cases {
        let reply = eval(&mut conn, script, &[], &[]);
        match reply {
            Frame::Error(text) => {
                let text = String::from_utf8_lossy(&text);
                assert!(text.contains(expected), "{script}: {text}");
            }
            // `loadstring` refuses with nil; `load` is gone.
            Frame::NullBulk => assert!(expected.is_empty(), "{script}"),
            other => panic!("{script}: {other:?}"),
        }
    }
    // Memory: a script that allocates without end is stopped by the state's limit.
    let text = error_text(eval(&mut conn, "local t = {} for i = 1, 1e9 do t[i] = i end", &[], &[]));
    assert!(text.contains("not enough memory"), "{text}");
    assert_eq!(conn.call(&["PING"]), Frame::Simple("PONG".into()));
}

#[test]
fn a_scripts_writes_are_logged_as_one_transaction_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.set("dir", dir.path().to_str().unwrap()).unwrap();
    config.set("appendonly", "yes").unwrap();
    config.set("appendfsync", "always").unwrap();
    {
        let server = TestServer::start(config.clone());
        let mut conn = server.connect();
        let script = "redis.call('SET', KEYS[1], ARGV[1]) redis.call('RPUSH', KEYS[2], 'a', 'b') \
                      redis.call('SELECT', 2) redis.call('SET', 'elsewhere', 'yes') return 1";
        assert_eq!(eval(&mut conn, script, &["k", "l"], &["v"]), int(1));
        // A script that only reads logs nothing.
        assert_eq!(eval(&mut conn, "return redis.call('GET', 'k')", &[], &[]), bulk("v"));
    }
    let log: Vec<u8> = std::fs::read_dir(dir.path().join("appendonlydir"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".incr.aof"))
        .flat_map(|path| std::fs::read(path).unwrap())
        .collect();
    let log = String::from_utf8_lossy(&log);
    assert!(!log.contains("EVAL") && !log.contains("eval"), "effects, not the script: {log}");
    assert_eq!(log.matches("MULTI").count(), 1, "{log}");
    assert_eq!(log.matches("EXEC").count(), 1, "{log}");
    let server = TestServer::start(config);
    let mut conn = server.connect();
    assert_eq!(conn.call(&["GET", "k"]), bulk("v"));
    assert_eq!(conn.call(&["LRANGE", "l", "0", "-1"]), Frame::Array(vec![bulk("a"), bulk("b")]));
    conn.call(&["SELECT", "2"]);
    assert_eq!(conn.call(&["GET", "elsewhere"]), bulk("yes"));
}
