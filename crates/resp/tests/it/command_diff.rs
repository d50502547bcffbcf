//! Random sequences of commands sent to our server and to a real `redis-server`, which must
//! give the same replies, in RESP2 and in RESP3: strings, counters, lists, hashes, sets,
//! sorted sets, keys, databases and transactions, with arguments drawn from small pools so
//! that commands collide on the same keys, meet the wrong type, and step on edge values
//! (negative indexes, counts, `inf` scores, numbers that are not numbers).
//!
//! Runs only when `BYO_REDIS_SERVER` names a `redis-server` binary (CI sets it). Replies in
//! hash-table order (`SMEMBERS`, `HGETALL`, `KEYS`, a random draw as large as the whole
//! collection) are compared sorted, in `EXEC`'s reply too; random draws of part of a
//! collection, `SORT ... BY nosort` of a set and what reports the server's own encodings are
//! left out, and so are times to live short enough to run out during a case. Besides the everyday forms, the
//! templates hold the edge forms: conflicting options, counts of zero and below, integer
//! overflow, offsets past the 512 MB limit.

use byo_resp::Frame;
use proptest::prelude::*;

use crate::real_redis::{differential, show_commands};
use crate::server::Conn;

/// Each word stands for a draw from a pool: `K` a key, `V` a value, `N` an integer, `F` a
/// float, `M` a member or field, `I` an index, `T` a time to live, `D` a stream id, `G` a
/// consumer group, `C` a consumer, `B` a bitfield type, `O` a bit offset, `W` an overflow
/// behaviour; anything else is sent as written.
const TEMPLATES: &[&str] = &[
    "SET K V",
    "SET K V NX",
    "SET K V XX GET",
    "SET K V EX T",
    "SET K V KEEPTTL",
    "GET K",
    "GETDEL K",
    "GETRANGE K I I",
    "SETRANGE K I V",
    "APPEND K V",
    "STRLEN K",
    "INCR K",
    "DECRBY K N",
    "INCRBYFLOAT K F",
    "MSET K V K V",
    "MSETNX K V K V",
    "MGET K K K",
    "SETNX K V",
    "DEL K K",
    "EXISTS K K K",
    "TYPE K",
    "RENAME K K",
    "RENAMENX K K",
    "COPY K K",
    "EXPIRE K T",
    "EXPIRE K 100 NX",
    "PERSIST K",
    "TTL K",
    "LPUSH K V V",
    "RPUSH K M",
    "RPUSHX K V",
    "LPOP K",
    "RPOP K N",
    "LRANGE K I I",
    "LLEN K",
    "LINDEX K I",
    "LSET K I V",
    "LREM K N M",
    "LTRIM K I I",
    "LINSERT K BEFORE M V",
    "LPOS K M",
    "LMOVE K K LEFT RIGHT",
    "HSET K M V M V",
    "HGET K M",
    "HMGET K M M",
    "HDEL K M",
    "HLEN K",
    "HEXISTS K M",
    "HINCRBY K M N",
    "HINCRBYFLOAT K M F",
    "HSTRLEN K M",
    "HSETNX K M V",
    "SADD K M M",
    "SREM K M",
    "SCARD K",
    "SISMEMBER K M",
    "SMISMEMBER K M M",
    "SINTERCARD 2 K K",
    "SMOVE K K M",
    "ZADD K F M F M",
    "ZADD K NX F M",
    "ZADD K XX CH F M",
    "ZADD K GT CH F M",
    "ZADD K INCR F M",
    "ZINCRBY K F M",
    "ZSCORE K M",
    "ZMSCORE K M M",
    "ZCARD K",
    "ZCOUNT K F F",
    "ZRANK K M",
    "ZREVRANK K M",
    "ZREM K M",
    "ZRANGE K I I WITHSCORES",
    "ZRANGE K F F BYSCORE",
    "ZRANGE K (1 +inf BYSCORE REV LIMIT 0 2",
    "ZRANGEBYLEX K - +",
    "ZRANGEBYLEX K [m (o",
    "ZREVRANGEBYLEX K + (1",
    "ZLEXCOUNT K [n +",
    "ZRANGE K [n - BYLEX REV",
    "ZPOPMIN K N",
    "ZUNIONSTORE K 2 K K",
    "ZINTERSTORE K 2 K K WEIGHTS 2 F",
    "SORT K",
    "SORT K ALPHA DESC LIMIT 0 2",
    "LCS K K",
    "LCS K K IDX MINMATCHLEN 1 WITHMATCHLEN",
    "GETEX K EX T",
    "GETEX K PERSIST",
    "SETEX K T V",
    "PSETEX K T V",
    "PEXPIRE K T",
    // Longer than any time to live of the pool: equal ones would compare differently
    // depending on the millisecond each server read its clock in.
    "EXPIRE K 200000 GT",
    "UNLINK K K",
    "DBSIZE",
    "SETBIT K I N",
    "GETBIT K I",
    "LPUSHX K V",
    "LINSERT K AFTER M V",
    "LMPOP 2 K K LEFT COUNT N",
    "RPOPLPUSH K K",
    "LPOS K M RANK N COUNT N",
    "SINTERSTORE K K K",
    "SDIFFSTORE K K K",
    "SUNIONSTORE K K K",
    "SINTERCARD 2 K K LIMIT N",
    "ZRANGESTORE K K I I",
    "ZREMRANGEBYSCORE K F F",
    "ZREMRANGEBYRANK K I I",
    "ZREMRANGEBYLEX K [m (o",
    "ZLEXCOUNT K - +",
    "ZDIFFSTORE K 2 K K",
    "ZINTERCARD 2 K K",
    "ZPOPMAX K",
    "ZMPOP 2 K K MIN COUNT N",
    "ZRANGE K I I REV",
    "ZREVRANGEBYSCORE K F F WITHSCORES LIMIT 0 N",
    "ZADD K LT F M",
    "ZUNION 2 K K WITHSCORES AGGREGATE MAX",
    "SET K V EX T PX T",
    "SET K V NX XX",
    "SET K V PXAT T",
    "INCRBY K 9223372036854775807",
    "DECRBY K -9223372036854775808",
    "HINCRBY K M 9223372036854775807",
    "SETRANGE K 536870912 V",
    "GETRANGE K -100 100",
    "LPOS K M RANK -1 MAXLEN N",
    "LPOS K M RANK 0",
    "LINSERT K BEFORE nope V",
    "ZADD K NX XX F M",
    "ZADD K GT LT F M",
    "ZADD K GT NX F M",
    "ZADD K INCR F M F M",
    "ZRANGE K I I LIMIT 0 1",
    "ZRANGESTORE K K [m + BYLEX",
    "ZRANGE K +inf -inf BYSCORE REV WITHSCORES",
    "ZCOUNT K (F F",
    "SORT K LIMIT N N",
    "SORT K GET #",
    "LRANGE K 9223372036854775807 -9223372036854775808",
    "LTRIM K N N",
    "RPOP K 0",
    "LPOP K -1",
    "SPOP K 0",
    "SINTERCARD 0 K",
    "ZINTERCARD 2 K K LIMIT -1",
    "HMGET K",
    "MSET K",
    "EXISTS K",
    "COPY K K REPLACE",
    "RENAME K K",
    "LMPOP 0 K LEFT",
    "ZMPOP 1 K MAX COUNT 0",
    "GETEX K PX 0",
    "EXPIRE K 200000 XX GT",
    "EXPIRE K 100 NX XX",
    "GETSET K V",
    "ZINTER 2 K K WITHSCORES",
    "ZDIFF 2 K K WITHSCORES",
    "ZRANGEBYSCORE K F F WITHSCORES",
    "ZPOPMAX K N",
    "ZRANDMEMBER K 0",
    "SRANDMEMBER K 0",
    "HRANDFIELD K 0 WITHVALUES",
    "LPOS K M COUNT 0",
    "TOUCH K K",
    "KEYS K",
    "ECHO V",
    "PING V",
    "SMISMEMBER K M",
    "ZMSCORE K M",
    "STRLEN K",
    "SUBSTR K I I",
    "GETDEL K",
    "MULTI",
    "EXEC",
    "DISCARD",
    "WATCH K",
    "UNWATCH",
    "SELECT 1",
    "SELECT 0",
    "MOVE K 1",
    "MOVE K N",
    "MOVE K 4294967296",
    "COPY K K DB N",
    "SELECT N",
    "SWAPDB 0 1",
    "SWAPDB N N",
    "FLUSHDB",
    "XADD K D M V",
    "XADD K D M V M V",
    "XADD K NOMKSTREAM D M V",
    "XADD K MAXLEN N D M V",
    "XADD K MINID D D M V",
    "XLEN K",
    "XRANGE K - +",
    "XRANGE K D D COUNT N",
    "XREVRANGE K + - COUNT N",
    "XDEL K D D",
    "XTRIM K MAXLEN N",
    "XTRIM K MINID D",
    "XSETID K D",
    "XSETID K D ENTRIESADDED N MAXDELETEDID D",
    "XGROUP CREATE K G D",
    "XGROUP CREATE K G $ MKSTREAM",
    "XGROUP CREATE K G D ENTRIESREAD N",
    "XGROUP SETID K G D",
    "XGROUP DESTROY K G",
    "XGROUP CREATECONSUMER K G C",
    "XGROUP DELCONSUMER K G C",
    "XREADGROUP GROUP G C COUNT N STREAMS K >",
    "XREADGROUP GROUP G C STREAMS K D",
    "XREADGROUP GROUP G C NOACK STREAMS K K > >",
    "XREAD COUNT N STREAMS K D",
    "XREAD STREAMS K K D D",
    "XACK K G D D",
    "XPENDING K G",
    "XCLAIM K G C 0 D JUSTID",
    "XAUTOCLAIM K G C 0 D JUSTID",
    "XINFO GROUPS K",
    "SETBIT K O N",
    "GETBIT K O",
    "BITCOUNT K",
    "BITCOUNT K I",
    "BITCOUNT K I I",
    "BITCOUNT K I I BIT",
    "BITCOUNT K I I BYTE",
    "BITCOUNT K I I bits",
    "BITPOS K N",
    "BITPOS K N I",
    "BITPOS K N I I",
    "BITPOS K N I I BIT",
    "BITPOS K N I I BYTE x",
    "BITOP AND K K K",
    "BITOP or K K",
    "BITOP XOR K K K",
    "BITOP NOT K K",
    "BITOP NOT K K K",
    "BITOP NAND K K",
    "BITFIELD K",
    "BITFIELD K GET B O",
    "BITFIELD K SET B O N",
    "BITFIELD K INCRBY B O N",
    "BITFIELD K OVERFLOW W INCRBY B O N GET B O",
    "BITFIELD K OVERFLOW W SET B O N INCRBY B O N",
    "BITFIELD K GET B",
    "BITFIELD K OVERFLOW",
    "BITFIELD_RO K GET B O GET B O",
    "BITFIELD_RO K SET B O N",
    "~ SMEMBERS K",
    "~ SINTER K K",
    "~ SUNION K K K",
    "~ SDIFF K K",
    "~ SRANDMEMBER K 100",
    "~ SPOP K 100",
    "~ HKEYS K",
    "~ HVALS K",
    "~~ HGETALL K",
    "~~ HRANDFIELD K 100 WITHVALUES",
    "~ ZRANDMEMBER K 100",
    "~ KEYS *",
    "~ SINTER K K K",
    "~ SDIFF K K K",
    "ROLE",
];

fn pool(kind: char) -> &'static [&'static str] {
    match kind {
        'K' => &["a", "b", "c"],
        'V' => &["1", "-7", "2.5", "x", "", "10", "abc", "007", "9223372036854775807", "1e3"],
        'N' => &["0", "1", "-1", "2", "3", "-2", "100", "9223372036854775807", "x"],
        'F' => &["0", "1.5", "-2", "inf", "-inf", "2.5e3", "0.1", "x", "nan", "(1", "3"],
        'M' => &["m", "n", "o", "1", "2", "10"],
        'I' => &["0", "1", "-1", "2", "-3", "10", "-100"],
        // Time to live: none that could run out while a case runs.
        'T' => &["-1", "0", "100", "100000", "x", "9223372036854775807"],
        // Stream ids: explicit, with the sequence left to the server, and not ids at all;
        // never `*`, whose time part is the clock's.
        'D' => &[
            "0-1",
            "1-0",
            "1-1",
            "1-*",
            "2-5",
            "3-*",
            "3",
            "0-0",
            "+",
            "-",
            "x",
            "18446744073709551615-18446744073709551615",
        ],
        'G' => &["g", "h"],
        'C' => &["c", "d"],
        // Bitfield types, offsets (`#n` counts fields), overflow behaviours.
        'B' => &["u8", "i8", "u1", "i64", "u63", "u64", "i0", "x", "i16", "u4", "I8"],
        'O' => &["0", "1", "7", "13", "#1", "#0", "100", "-1", "x", "#-1", "#", "4294967296"],
        'W' => &["WRAP", "sat", "FAIL", "nope"],
        _ => &[],
    }
}

/// One command: a template and the draws for its placeholders.
fn command() -> impl Strategy<Value = Vec<String>> {
    (0..TEMPLATES.len(), prop::collection::vec(any::<usize>(), 8)).prop_map(|(t, draws)| {
        let mut draws = draws.into_iter();
        TEMPLATES[t]
            .split(' ')
            .map(|word| {
                let choices = match word.chars().next() {
                    Some(kind) if word.len() == 1 => pool(kind),
                    _ => &[],
                };
                match (choices, draws.next()) {
                    ([], _) | (_, None) => word.to_owned(),
                    (choices, Some(draw)) => choices[draw % choices.len()].to_owned(),
                }
            })
            .collect()
    })
}

/// The replies to `commands` on a connection reset to a known state: out of any transaction
/// the last case left open, nothing watched, database 0 selected, `HELLO protocol` (whose own
/// reply, naming each server, is left out) and everything flushed.
fn replies(conn: &mut Conn, protocol: &str, commands: &[Vec<String>]) -> Vec<Frame> {
    conn.call(&["DISCARD"]); // an error when no transaction is open; either way none is after
    assert_eq!(conn.call(&["UNWATCH"]), Frame::Simple("OK".into()));
    assert_eq!(conn.call(&["SELECT", "0"]), Frame::Simple("OK".into()));
    assert!(matches!(conn.call(&["HELLO", protocol]), Frame::Map(_) | Frame::Array(_)));
    assert_eq!(conn.call(&["FLUSHALL"]), Frame::Simple("OK".into()));
    // The marks of the commands queued by an open `MULTI`, to sort their replies in `EXEC`'s.
    let mut queued: Option<Vec<Order>> = None;
    commands
        .iter()
        .map(|command| {
            let (order, words) = Order::of(command);
            let reply = conn.call(&words.iter().map(String::as_str).collect::<Vec<_>>());
            let name = words[0].to_ascii_uppercase();
            match (&mut queued, name.as_str(), reply) {
                (None, "MULTI", reply @ Frame::Simple(_)) => {
                    queued = Some(Vec::new());
                    reply
                }
                (Some(marks), _, reply) if reply == Frame::simple("QUEUED") => {
                    marks.push(order);
                    reply
                }
                (Some(marks), "EXEC", Frame::Array(replies)) if replies.len() == marks.len() => {
                    let sorted = replies.into_iter().zip(marks.iter()).map(|(r, o)| o.apply(r));
                    let reply = Frame::Array(sorted.collect());
                    queued = None;
                    reply
                }
                (Some(_), "EXEC" | "DISCARD", reply) => {
                    queued = None;
                    reply
                }
                (_, _, reply) => order.apply(reply),
            }
        })
        .collect()
}

/// How a reply in hash-table order is compared: templates marked `~` reply with a
/// collection whose order Redis leaves unspecified (and which differs here), `~~` with
/// field-value pairs; their elements (pairs) are sorted before the comparison.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    Kept,
    Elements,
    Pairs,
}

impl Order {
    /// The mark of `command` and the command without it.
    fn of(command: &[String]) -> (Order, &[String]) {
        match command.first().map(String::as_str) {
            Some("~") => (Order::Elements, &command[1..]),
            Some("~~") => (Order::Pairs, &command[1..]),
            _ => (Order::Kept, command),
        }
    }

    fn apply(self, reply: Frame) -> Frame {
        let key = |frame: &Frame| format!("{frame:?}");
        match (self, reply) {
            (Order::Elements, Frame::Array(mut items)) => {
                items.sort_by_key(key);
                Frame::Array(items)
            }
            (Order::Elements, Frame::Set(mut items)) => {
                items.sort_by_key(key);
                Frame::Set(items)
            }
            (Order::Pairs, Frame::Map(mut pairs)) => {
                pairs.sort_by_key(|(k, _)| key(k));
                Frame::Map(pairs)
            }
            // RESP3 gives pairs as two-element arrays.
            (Order::Pairs, Frame::Array(mut items))
                if items.iter().all(|item| matches!(item, Frame::Array(_))) =>
            {
                items.sort_by_key(key);
                Frame::Array(items)
            }
            (Order::Pairs, Frame::Array(items)) => {
                let mut pairs: Vec<Vec<Frame>> = items.chunks(2).map(<[Frame]>::to_vec).collect();
                pairs.sort_by_key(|pair| pair.first().map(key));
                Frame::Array(pairs.concat())
            }
            (_, reply) => reply,
        }
    }
}

#[test]
fn random_commands_reply_as_redis_does() {
    differential(
        prop::collection::vec(command(), 1..12),
        |conn, c| replies(conn, "2", c),
        |c| show_commands(c),
    );
}

/// The same in RESP3, where replies carry their types: doubles, maps, sets, nulls of one kind.
#[test]
fn random_commands_reply_as_redis_does_in_resp3() {
    differential(
        prop::collection::vec(command(), 1..12),
        |conn, c| replies(conn, "3", c),
        |c| show_commands(c),
    );
}
