//! Pub/sub commands: `SUBSCRIBE`, `UNSUBSCRIBE`, `PSUBSCRIBE`, `PUNSUBSCRIBE`, `SSUBSCRIBE`,
//! `SUNSUBSCRIBE`, `PUBLISH`, `SPUBLISH`, `PUBSUB ...`.
//!
//! Each subscription change is confirmed by a push of `[kind, name, count]` (an array in
//! RESP2). The confirmations are written to the client's outbox, not its reply buffer: like
//! messages they are pushes, which `CLIENT REPLY OFF` does not silence, and the connection puts
//! them where Redis does, ahead of anything else the command replied.

use bytes::Bytes;

use super::connection::{container, help};
use super::{
    Command, Ctx, FAST, LOADING, STALE, SUBSCRIBED_CONTEXT, command, subcommand, with_subcommands,
};
use crate::server::glob;
use crate::server::pubsub::{Part, Topic};
use crate::server::value::Str;

const SUBSCRIBING: u32 = SUBSCRIBED_CONTEXT | LOADING | STALE;

pub(super) const COMMANDS: &[Command] = &[
    command("subscribe", -2, SUBSCRIBING, (0, 0, 0), "@pubsub @slow", subscribe),
    command("unsubscribe", -1, SUBSCRIBING, (0, 0, 0), "@pubsub @slow", unsubscribe),
    command("psubscribe", -2, SUBSCRIBING, (0, 0, 0), "@pubsub @slow", psubscribe),
    command("punsubscribe", -1, SUBSCRIBING, (0, 0, 0), "@pubsub @slow", punsubscribe),
    command("ssubscribe", -2, SUBSCRIBING, (1, -1, 1), "@pubsub @slow", ssubscribe),
    command("sunsubscribe", -1, SUBSCRIBING, (1, -1, 1), "@pubsub @slow", sunsubscribe),
    command("publish", 3, FAST | LOADING | STALE, (0, 0, 0), "@pubsub @fast", publish),
    command("spublish", 3, FAST | LOADING, (1, 1, 1), "@pubsub @fast", spublish),
    with_subcommands(
        "pubsub",
        -2,
        0,
        "@slow",
        container,
        &[
            subcommand("pubsub|channels", "channels", -2, LOADING | STALE, pubsub_channels),
            subcommand("pubsub|numsub", "numsub", -2, LOADING | STALE, pubsub_numsub),
            subcommand("pubsub|numpat", "numpat", 2, LOADING | STALE, pubsub_numpat),
            subcommand(
                "pubsub|shardchannels",
                "shardchannels",
                -2,
                LOADING | STALE,
                pubsub_shardchannels,
            ),
            subcommand(
                "pubsub|shardnumsub",
                "shardnumsub",
                -2,
                LOADING | STALE,
                pubsub_shardnumsub,
            ),
            subcommand("pubsub|help", "help", 2, LOADING | STALE, pubsub_help),
        ],
    ),
];

fn subscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    subscribe_to(ctx, Topic::Channel, &args[1..]);
}

fn psubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    subscribe_to(ctx, Topic::Pattern, &args[1..]);
}

fn ssubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    subscribe_to(ctx, Topic::Shard, &args[1..]);
}

fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    unsubscribe_from(ctx, Topic::Channel, &args[1..]);
}

fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    unsubscribe_from(ctx, Topic::Pattern, &args[1..]);
}

fn sunsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    unsubscribe_from(ctx, Topic::Shard, &args[1..]);
}

/// Subscribes to each name, confirming each (repeats included) with the count after it.
fn subscribe_to(ctx: &mut Ctx<'_>, topic: Topic, names: &[Bytes]) {
    let id = ctx.client.id;
    for name in names {
        ctx.store.subscribe(id, topic, name);
        confirm(ctx, topic.subscribe_word(), Some(name), topic);
    }
}

/// Unsubscribes from each name, or from everything in `topic` when none is given; confirms
/// each, and confirms with a null name when there was nothing to leave.
fn unsubscribe_from(ctx: &mut Ctx<'_>, topic: Topic, names: &[Bytes]) {
    let id = ctx.client.id;
    let names: Vec<Str> = if names.is_empty() {
        ctx.store.subscribed(id, topic)
    } else {
        names.iter().map(|name| Str::new(name)).collect()
    };
    if names.is_empty() {
        confirm(ctx, topic.unsubscribe_word(), None, topic);
    }
    for name in &names {
        ctx.store.unsubscribe(id, topic, name.as_bytes());
        confirm(ctx, topic.unsubscribe_word(), Some(name.as_bytes()), topic);
    }
}

/// Pushes `[word, name, count]` to the client and refreshes its subscription count.
fn confirm(ctx: &mut Ctx<'_>, word: &[u8], name: Option<&[u8]>, topic: Topic) {
    let id = ctx.client.id;
    let (count, total) =
        ctx.store.subscriptions(id).map_or((0, 0), |subs| (subs.count(topic), subs.total()));
    let name = name.map_or(Part::Null, Part::Bulk);
    ctx.store.push(id, &[Part::Bulk(word), name, Part::Int(count as i64)]);
    ctx.client.subscriptions = total;
}

fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let sent = ctx.store.publish(Topic::Channel, &args[1], &args[2]);
    ctx.out.int(sent as i64);
}

fn spublish(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let sent = ctx.store.publish(Topic::Shard, &args[1], &args[2]);
    ctx.out.int(sent as i64);
}

fn pubsub_channels(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    list_channels(ctx, Topic::Channel, args);
}

fn pubsub_shardchannels(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    list_channels(ctx, Topic::Shard, args);
}

/// `PUBSUB CHANNELS [pattern]`: the channels with subscribers, optionally filtered.
fn list_channels(ctx: &mut Ctx<'_>, topic: Topic, args: &[Bytes]) {
    let pattern = match args {
        [_, _] => None,
        [_, _, pattern] => Some(pattern),
        _ => return subcommand_syntax_error(ctx, args),
    };
    let channels: Vec<&Str> = ctx
        .store
        .pubsub
        .channels(topic)
        .filter(|c| pattern.is_none_or(|p| glob::matches(p, c.as_bytes(), false)))
        .collect();
    ctx.out.array_len(channels.len());
    for channel in channels {
        ctx.out.bulk(channel.as_bytes());
    }
}

fn pubsub_numsub(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    count_subscribers(ctx, Topic::Channel, &args[2..]);
}

fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    count_subscribers(ctx, Topic::Shard, &args[2..]);
}

/// `PUBSUB NUMSUB channel...`: a flat array of channel, count (an array in RESP3 too).
fn count_subscribers(ctx: &mut Ctx<'_>, topic: Topic, channels: &[Bytes]) {
    ctx.out.array_len(channels.len() * 2);
    for channel in channels {
        ctx.out.bulk(channel);
        ctx.out.int(ctx.store.pubsub.subscribers(topic, channel) as i64);
    }
}

fn pubsub_numpat(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    ctx.out.int(ctx.store.pubsub.pattern_count() as i64);
}

fn pubsub_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    help(
        ctx,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
}

/// Redis's reply to a subcommand with arguments it does not take.
pub(super) fn subcommand_syntax_error(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let sub = String::from_utf8_lossy(&args[1]).into_owned();
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    ctx.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {name} HELP."
    ));
}
