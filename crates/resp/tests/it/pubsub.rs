//! Pub/sub over real sockets: delivery, the subscribed context, RESP3 pushes and their order,
//! CLIENT REPLY, keyspace events, disconnection and the output buffer limit.

use std::time::{Duration, Instant};

use byo_resp::Frame;
use byo_resp::server::Config;

use crate::server::{Conn, TestServer};

fn bulk(text: &str) -> Frame {
    Frame::bulk(text)
}

fn array(items: Vec<Frame>) -> Frame {
    Frame::Array(items)
}

fn message(channel: &str, payload: &str) -> Frame {
    array(vec![bulk("message"), bulk(channel), bulk(payload)])
}

fn confirmation(kind: &str, name: &str, count: i64) -> Frame {
    array(vec![bulk(kind), bulk(name), Frame::Integer(count)])
}

/// `PUBSUB NUMSUB channel`'s count.
fn subscribers(conn: &mut Conn, channel: &str) -> i64 {
    match conn.call(&["PUBSUB", "NUMSUB", channel]) {
        Frame::Array(items) if items.len() == 2 => match items[1] {
            Frame::Integer(n) => n,
            _ => panic!("NUMSUB counts are integers"),
        },
        other => panic!("unexpected NUMSUB reply {other:?}"),
    }
}

/// Waits until `channel` has `n` subscribers.
fn wait_subscribers(conn: &mut Conn, channel: &str, n: i64) {
    let start = Instant::now();
    while subscribers(conn, channel) != n {
        assert!(start.elapsed() < Duration::from_secs(10), "{channel} never had {n} subscribers");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn messages_reach_channel_pattern_and_shard_subscribers() {
    let server = TestServer::start(Config::default());
    let mut publisher = server.connect();
    let mut sub = server.connect();
    sub.send(&["SUBSCRIBE", "news", "news"]);
    assert_eq!(sub.read(), Some(confirmation("subscribe", "news", 1)));
    assert_eq!(sub.read(), Some(confirmation("subscribe", "news", 1)));
    sub.send(&["PSUBSCRIBE", "n*"]);
    assert_eq!(sub.read(), Some(confirmation("psubscribe", "n*", 2)));
    sub.send(&["SSUBSCRIBE", "shard"]);
    assert_eq!(sub.read(), Some(confirmation("ssubscribe", "shard", 1)));

    // One message per matching subscription: the channel's first, then the pattern's.
    assert_eq!(publisher.call(&["PUBLISH", "news", "hello"]), Frame::Integer(2));
    assert_eq!(sub.read(), Some(message("news", "hello")));
    let pmessage = array(vec![bulk("pmessage"), bulk("n*"), bulk("news"), bulk("hello")]);
    assert_eq!(sub.read(), Some(pmessage));
    // Shard channels are their own namespace: PUBLISH does not reach them, SPUBLISH does.
    assert_eq!(publisher.call(&["PUBLISH", "shard", "x"]), Frame::Integer(0));
    assert_eq!(publisher.call(&["SPUBLISH", "shard", "y"]), Frame::Integer(1));
    assert_eq!(sub.read(), Some(array(vec![bulk("smessage"), bulk("shard"), bulk("y")])));

    assert_eq!(publisher.call(&["PUBSUB", "NUMPAT"]), Frame::Integer(1));
    assert_eq!(publisher.call(&["PUBSUB", "CHANNELS"]), array(vec![bulk("news")]));
    assert_eq!(publisher.call(&["PUBSUB", "SHARDCHANNELS", "sh*"]), array(vec![bulk("shard")]));
}

#[test]
fn a_resp2_subscriber_may_only_run_pubsub_commands() {
    let server = TestServer::start(Config::default());
    let mut sub = server.connect();
    sub.send(&["SUBSCRIBE", "c"]);
    assert_eq!(sub.read(), Some(confirmation("subscribe", "c", 1)));
    assert_eq!(
        sub.call(&["GET", "k"]),
        Frame::error(
            "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
             RESET are allowed in this context"
        )
    );
    // PING answers in the shape of a message, so that it can be told apart from one.
    assert_eq!(sub.call(&["PING", "hi"]), array(vec![bulk("pong"), bulk("hi")]));
    // Leaving the last channel leaves the context.
    assert_eq!(sub.call(&["UNSUBSCRIBE"]), confirmation("unsubscribe", "c", 0));
    assert_eq!(
        sub.call(&["UNSUBSCRIBE"]),
        array(vec![bulk("unsubscribe"), Frame::NullBulk, Frame::Integer(0)])
    );
    assert_eq!(sub.call(&["PING"]), Frame::Simple("PONG".into()));
    // RESET leaves it too.
    sub.send(&["PSUBSCRIBE", "a*", "b*"]);
    assert_eq!(sub.read(), Some(confirmation("psubscribe", "a*", 1)));
    assert_eq!(sub.read(), Some(confirmation("psubscribe", "b*", 2)));
    assert_eq!(sub.call(&["RESET"]), Frame::Simple("RESET".into()));
    assert_eq!(sub.call(&["SET", "k", "v"]), Frame::Simple("OK".into()));
    assert_eq!(sub.call(&["PUBSUB", "NUMPAT"]), Frame::Integer(0));
}

#[test]
fn in_resp3_a_client_that_publishes_to_itself_gets_the_push_before_the_reply() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    conn.call(&["HELLO", "3"]);
    conn.send(&["SUBSCRIBE", "me"]);
    let pushed = |items: Vec<Frame>| Some(Frame::Push(items));
    assert_eq!(conn.read(), pushed(vec![bulk("subscribe"), bulk("me"), Frame::Integer(1)]));
    conn.send(&["PUBLISH", "me", "hi"]);
    assert_eq!(conn.read(), pushed(vec![bulk("message"), bulk("me"), bulk("hi")]));
    assert_eq!(conn.read(), Some(Frame::Integer(1)));
    // Any command runs while subscribed in RESP3.
    assert_eq!(conn.call(&["SET", "k", "v"]), Frame::Simple("OK".into()));
}

#[test]
fn client_reply_off_silences_replies_but_not_pushes() {
    let server = TestServer::start(Config::default());
    let mut publisher = server.connect();
    let mut conn = server.connect();
    conn.call(&["HELLO", "3"]);
    conn.send(&["CLIENT", "REPLY", "OFF"]);
    conn.send(&["SET", "k", "v"]);
    conn.send(&["SUBSCRIBE", "c"]);
    let subscribed = Frame::Push(vec![bulk("subscribe"), bulk("c"), Frame::Integer(1)]);
    assert_eq!(conn.read(), Some(subscribed));
    assert_eq!(publisher.call(&["PUBLISH", "c", "m"]), Frame::Integer(1));
    assert_eq!(conn.read(), Some(Frame::Push(vec![bulk("message"), bulk("c"), bulk("m")])));
    // SKIP drops exactly the next reply; ON replies OK itself.
    assert_eq!(conn.call(&["CLIENT", "REPLY", "ON"]), Frame::Simple("OK".into()));
    conn.send(&["CLIENT", "REPLY", "SKIP"]);
    conn.send(&["GET", "k"]);
    assert_eq!(conn.call(&["ECHO", "after"]), bulk("after"));
    // ON right after SKIP cancels the skip and is answered, as in Redis.
    conn.send(&["CLIENT", "REPLY", "SKIP"]);
    assert_eq!(conn.call(&["CLIENT", "REPLY", "ON"]), Frame::Simple("OK".into()));
    assert_eq!(conn.call(&["ECHO", "again"]), bulk("again"));
}

#[test]
fn keyspace_events_follow_the_configured_classes() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut sub = server.connect();
    admin.call(&["CONFIG", "SET", "notify-keyspace-events", "KEl"]);
    sub.send(&["PSUBSCRIBE", "__key*__:*"]);
    assert_eq!(sub.read(), Some(confirmation("psubscribe", "__key*__:*", 1)));
    admin.call(&["SET", "s", "1"]); // a string: not in the classes asked for
    admin.call(&["RPUSH", "l", "a"]);
    admin.call(&["LPOP", "l"]); // empties the list: "del" is generic, not asked for either
    let event = |channel: &str, payload: &str| {
        Some(array(vec![bulk("pmessage"), bulk("__key*__:*"), bulk(channel), bulk(payload)]))
    };
    assert_eq!(sub.read(), event("__keyspace@0__:l", "rpush"));
    assert_eq!(sub.read(), event("__keyevent@0__:rpush", "l"));
    assert_eq!(sub.read(), event("__keyspace@0__:l", "lpop"));
    assert_eq!(sub.read(), event("__keyevent@0__:lpop", "l"));
    admin.call(&["CONFIG", "SET", "notify-keyspace-events", "Exg"]);
    admin.call(&["SET", "t", "1", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(admin.call(&["GET", "t"]), Frame::NullBulk);
    assert_eq!(sub.read(), event("__keyevent@0__:expire", "t"));
    assert_eq!(sub.read(), event("__keyevent@0__:expired", "t"));
    assert_eq!(
        admin.call(&["CONFIG", "GET", "notify-keyspace-events"]),
        array(vec![bulk("notify-keyspace-events"), bulk("gxE")])
    );
}

#[test]
fn a_disconnected_subscriber_leaves_its_channels() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut sub = server.connect();
    sub.send(&["SUBSCRIBE", "gone"]);
    assert_eq!(sub.read(), Some(confirmation("subscribe", "gone", 1)));
    drop(sub);
    wait_subscribers(&mut admin, "gone", 0);
    assert_eq!(admin.call(&["PUBLISH", "gone", "x"]), Frame::Integer(0));
}

#[test]
fn a_subscriber_that_does_not_read_is_disconnected_past_the_hard_limit() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    admin.call(&["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0"]);
    let mut slow = server.connect();
    slow.send(&["SUBSCRIBE", "firehose"]);
    assert_eq!(slow.read(), Some(confirmation("subscribe", "firehose", 1)));
    let payload = "x".repeat(64 * 1024);
    // The kernel's socket buffers absorb some megabytes before the server's outbox grows;
    // 64 MB is far more than they hold.
    let mut published = 0;
    while subscribers(&mut admin, "firehose") == 1 {
        assert!(published < 1024, "never disconnected after {published} messages");
        admin.call(&["PUBLISH", "firehose", &payload]);
        published += 1;
    }
    let list = admin.call(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    let Frame::Bulk(text) = list else { panic!("CLIENT LIST is a bulk: {list:?}") };
    assert!(!text.windows(12).any(|w| w == b"sub=1 psub=0"), "still listed as a subscriber");
    // The slow client finds its connection closed after whatever was already sent.
    let start = Instant::now();
    while slow.read().is_some() {
        assert!(start.elapsed() < Duration::from_secs(10), "the connection stays open");
    }
    // Nobody else is affected.
    assert_eq!(admin.call(&["PING"]), Frame::Simple("PONG".into()));
}

#[test]
fn a_subscriber_that_reads_keeps_up_under_the_limit() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    admin.call(&["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0"]);
    let mut reader = server.connect();
    reader.send(&["SUBSCRIBE", "steady"]);
    assert_eq!(reader.read(), Some(confirmation("subscribe", "steady", 1)));
    let payload = "y".repeat(16 * 1024);
    for i in 0..200 {
        assert_eq!(admin.call(&["PUBLISH", "steady", &payload]), Frame::Integer(1), "message {i}");
        assert_eq!(reader.read(), Some(message("steady", &payload)));
    }
}
