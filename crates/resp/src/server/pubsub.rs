//! Publish/subscribe: which clients listen to which channels and patterns, and delivery.
//!
//! The registry is kept twice, as in Redis: the store maps each channel (and each pattern) to
//! its subscribers, which is what `PUBLISH` needs, and each client's entry in the client list
//! keeps what it subscribed to, which is what `UNSUBSCRIBE` without arguments, `CLIENT LIST`
//! and disconnection need. [`Store::subscribe`] and [`Store::unsubscribe`] keep the two equal.
//!
//! A message is encoded straight into each receiver's outbox in the receiver's protocol (an
//! array in RESP2, a push frame in RESP3), and the receiver's id is noted in `woken`. When the
//! command is over, the connection that ran it wakes the receivers' connections, which write
//! their outboxes; its own pushes (a client that publishes to itself, its subscribe
//! confirmations, keyspace events it caused) go out ahead of its reply, where Redis puts them.
//!
//! A subscriber that reads slower than others publish would make its outbox grow without end.
//! `client-output-buffer-limit pubsub <hard> <soft> <seconds>` bounds it as Redis does: past
//! `hard` bytes pending, or past `soft` bytes for longer than `seconds`, the client is
//! disconnected ([`Store::kill`]) and its subscriptions are dropped at once.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::glob;
use super::reply::Reply;
use super::store::{ClientInfo, Store};
use super::value::Str;

/// The three namespaces of subscriptions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Topic {
    /// `SUBSCRIBE`: one channel by name.
    Channel,
    /// `PSUBSCRIBE`: every channel matching a glob pattern.
    Pattern,
    /// `SSUBSCRIBE`: a shard channel, which only `SPUBLISH` reaches (in a cluster, a shard
    /// channel lives on the node of its hash slot; on one server it is just a separate
    /// namespace).
    Shard,
}

impl Topic {
    /// The first element of a confirmation: `subscribe`, `psubscribe`, `ssubscribe`.
    pub(crate) fn subscribe_word(self) -> &'static [u8] {
        match self {
            Topic::Channel => b"subscribe",
            Topic::Pattern => b"psubscribe",
            Topic::Shard => b"ssubscribe",
        }
    }

    /// `unsubscribe`, `punsubscribe`, `sunsubscribe`.
    pub(crate) fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Topic::Channel => b"unsubscribe",
            Topic::Pattern => b"punsubscribe",
            Topic::Shard => b"sunsubscribe",
        }
    }
}

/// Who listens to what, by channel and by pattern.
#[derive(Debug, Default)]
pub(crate) struct PubSub {
    /// The subscribers of each channel with at least one, in the order they subscribed.
    channels: HashMap<Str, Vec<u64>>,
    /// The subscribers of each pattern with at least one.
    patterns: HashMap<Str, Vec<u64>>,
    /// The subscribers of each shard channel with at least one.
    shard: HashMap<Str, Vec<u64>>,
}

impl PubSub {
    fn table(&self, topic: Topic) -> &HashMap<Str, Vec<u64>> {
        match topic {
            Topic::Channel => &self.channels,
            Topic::Pattern => &self.patterns,
            Topic::Shard => &self.shard,
        }
    }

    fn table_mut(&mut self, topic: Topic) -> &mut HashMap<Str, Vec<u64>> {
        match topic {
            Topic::Channel => &mut self.channels,
            Topic::Pattern => &mut self.patterns,
            Topic::Shard => &mut self.shard,
        }
    }

    /// The channels (or shard channels) with at least one subscriber (`PUBSUB CHANNELS`).
    pub(crate) fn channels(&self, topic: Topic) -> impl Iterator<Item = &Str> {
        self.table(topic).keys()
    }

    /// How many clients subscribe to `channel` (`PUBSUB NUMSUB`, `SHARDNUMSUB`).
    pub(crate) fn subscribers(&self, topic: Topic, channel: &[u8]) -> usize {
        self.table(topic).get(channel).map_or(0, Vec::len)
    }

    /// How many distinct patterns have subscribers (`PUBSUB NUMPAT`).
    pub(crate) fn pattern_count(&self) -> usize {
        self.patterns.len()
    }
}

/// What one client subscribes to: each name with the number of its subscription, so that an
/// unsubscribe from everything confirms in the order the client subscribed (Redis keeps a
/// client's patterns in a list, and confirms `PUNSUBSCRIBE` in that order).
#[derive(Clone, Debug, Default)]
pub(crate) struct Subscriptions {
    pub(crate) channels: HashMap<Str, u64>,
    pub(crate) patterns: HashMap<Str, u64>,
    pub(crate) shard: HashMap<Str, u64>,
    /// The number the next subscription gets.
    next: u64,
}

impl Subscriptions {
    fn of(&self, topic: Topic) -> &HashMap<Str, u64> {
        match topic {
            Topic::Channel => &self.channels,
            Topic::Pattern => &self.patterns,
            Topic::Shard => &self.shard,
        }
    }

    fn of_mut(&mut self, topic: Topic) -> &mut HashMap<Str, u64> {
        match topic {
            Topic::Channel => &mut self.channels,
            Topic::Pattern => &mut self.patterns,
            Topic::Shard => &mut self.shard,
        }
    }

    /// The count a confirmation carries: channels plus patterns, or shard channels.
    pub(crate) fn count(&self, topic: Topic) -> usize {
        match topic {
            Topic::Channel | Topic::Pattern => self.channels.len() + self.patterns.len(),
            Topic::Shard => self.shard.len(),
        }
    }

    /// Every subscription: while it is not zero, a RESP2 client is in the subscribed context.
    pub(crate) fn total(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard.len()
    }
}

/// `client-output-buffer-limit` for pub/sub clients; a zero disables that part.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct OutputLimit {
    pub(crate) hard: usize,
    pub(crate) soft: usize,
    pub(crate) soft_seconds: u64,
}

impl OutputLimit {
    /// Whether a client with `pending` bytes not yet written must be disconnected; tracks in
    /// `since` when it went over the soft limit.
    fn exceeded(self, pending: usize, since: &mut Option<Instant>, now: Instant) -> bool {
        if self.hard > 0 && pending >= self.hard {
            return true;
        }
        if self.soft > 0 && pending >= self.soft {
            let start = *since.get_or_insert(now);
            return now.duration_since(start) > Duration::from_secs(self.soft_seconds);
        }
        *since = None;
        false
    }
}

/// One element of a message or confirmation.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Part<'a> {
    Bulk(&'a [u8]),
    Int(i64),
    Null,
}

impl Store {
    /// Subscribes client `id` to `name` (subscribing twice changes nothing).
    pub(crate) fn subscribe(&mut self, id: u64, topic: Topic, name: &[u8]) {
        let Some(info) = self.clients.get_mut(&id) else { return };
        let number = info.subscriptions.next;
        let mine = info.subscriptions.of_mut(topic);
        if !mine.contains_key(name) {
            mine.insert(Str::new(name), number);
            info.subscriptions.next += 1;
            self.pubsub.table_mut(topic).entry(Str::new(name)).or_default().push(id);
        }
    }

    /// Unsubscribes client `id` from `name` (a no-op if it was not subscribed).
    pub(crate) fn unsubscribe(&mut self, id: u64, topic: Topic, name: &[u8]) {
        let Some(info) = self.clients.get_mut(&id) else { return };
        if info.subscriptions.of_mut(topic).remove(name).is_some() {
            let table = self.pubsub.table_mut(topic);
            if let Some(subscribers) = table.get_mut(name) {
                subscribers.retain(|&s| s != id);
                if subscribers.is_empty() {
                    table.remove(name);
                }
            }
        }
    }

    /// What client `id` subscribes to.
    pub(crate) fn subscriptions(&self, id: u64) -> Option<&Subscriptions> {
        self.clients.get(&id).map(|info| &info.subscriptions)
    }

    /// What client `id` subscribes to in `topic`, in the order it subscribed.
    pub(crate) fn subscribed(&self, id: u64, topic: Topic) -> Vec<Str> {
        self.subscriptions(id).map_or_else(Vec::new, |subs| {
            let mut names: Vec<(&Str, &u64)> = subs.of(topic).iter().collect();
            names.sort_unstable_by_key(|&(_, &number)| number);
            names.into_iter().map(|(name, _)| name.clone()).collect()
        })
    }

    /// Drops every subscription of client `id`, without confirmations (disconnection,
    /// `RESET`).
    pub(crate) fn unsubscribe_all(&mut self, id: u64) {
        for topic in [Topic::Channel, Topic::Pattern, Topic::Shard] {
            for name in self.subscribed(id, topic) {
                self.unsubscribe(id, topic, name.as_bytes());
            }
        }
    }

    /// Sends `message` to the subscribers of `channel` and of every pattern matching it (or,
    /// for [`Topic::Shard`], to the subscribers of the shard channel); returns how many
    /// messages were sent.
    pub(crate) fn publish(&mut self, topic: Topic, channel: &[u8], message: &[u8]) -> usize {
        let limit = self.cached.pubsub_limit;
        let now = Instant::now();
        let mut sent = 0;
        let mut over_limit = Vec::new();
        let Store { pubsub, clients, woken, .. } = self;
        let mut deliver = |id: u64, parts: &[Part<'_>]| {
            if let Some(info) = clients.get_mut(&id) {
                push_into(info, id, parts, woken);
                if limit.exceeded(info.outbox.len() + info.in_flight, &mut info.soft_since, now) {
                    over_limit.push(id);
                }
                sent += 1;
            }
        };
        let (table, kind): (_, &[u8]) = match topic {
            Topic::Shard => (&pubsub.shard, b"smessage"),
            Topic::Channel | Topic::Pattern => (&pubsub.channels, b"message"),
        };
        if let Some(subscribers) = table.get(channel) {
            let parts = [Part::Bulk(kind), Part::Bulk(channel), Part::Bulk(message)];
            for &id in subscribers {
                deliver(id, &parts);
            }
        }
        let patterns = if topic == Topic::Shard { None } else { Some(&pubsub.patterns) };
        for (pattern, subscribers) in patterns.into_iter().flatten() {
            if glob::matches(pattern.as_bytes(), channel, false) {
                let parts = [
                    Part::Bulk(b"pmessage"),
                    Part::Bulk(pattern.as_bytes()),
                    Part::Bulk(channel),
                    Part::Bulk(message),
                ];
                for &id in subscribers {
                    deliver(id, &parts);
                }
            }
        }
        for id in over_limit {
            self.kill(id);
        }
        sent
    }

    /// Appends a push of `parts` to client `id`'s outbox (a confirmation of its own
    /// subscription, written there so that it goes out even under `CLIENT REPLY OFF`).
    pub(crate) fn push(&mut self, id: u64, parts: &[Part<'_>]) {
        if let Some(info) = self.clients.get_mut(&id) {
            push_into(info, id, parts, &mut self.woken);
        }
    }

    /// Wakes the connections whose outbox received something since the last call, except
    /// `me`'s (the one running the command); returns whether `me`'s did.
    pub(crate) fn wake_receivers(&mut self, me: Option<u64>) -> bool {
        let mut mine = false;
        for id in self.woken.drain(..) {
            if Some(id) == me {
                mine = true;
            } else if let Some(info) = self.clients.get(&id) {
                info.wake.notify_one();
            }
        }
        mine
    }

    /// Disconnects client `id` (over its output limit, or by `CLIENT KILL`): its
    /// subscriptions and its blocking pop go now, so nothing more is sent or served to it,
    /// and its connection closes when it wakes.
    pub(crate) fn kill(&mut self, id: u64) {
        super::blocking::unblock(self, id);
        self.unsubscribe_all(id);
        if let Some(info) = self.clients.get_mut(&id) {
            info.killed.store(true, Ordering::Relaxed);
            info.outbox = Default::default();
            info.wake.notify_one();
        }
    }
}

/// Encodes a push into `info`'s outbox in its protocol, noting `id` in `woken` if the outbox
/// was empty (its connection has not been told yet).
fn push_into(info: &mut ClientInfo, id: u64, parts: &[Part<'_>], woken: &mut Vec<u64>) {
    if info.outbox.is_empty() {
        woken.push(id);
    }
    let mut out = Reply::new(&mut info.outbox, info.resp == 3);
    out.push_len(parts.len());
    for part in parts {
        match *part {
            Part::Bulk(bytes) => out.bulk(bytes),
            Part::Int(n) => out.int(n),
            Part::Null => out.null(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hard_limit_disconnects_at_once() {
        let limit = OutputLimit { hard: 100, soft: 50, soft_seconds: 60 };
        let mut since = None;
        let now = Instant::now();
        assert!(!limit.exceeded(99, &mut None, now));
        assert!(limit.exceeded(100, &mut since, now));
    }

    #[test]
    fn the_soft_limit_needs_to_last() {
        let limit = OutputLimit { hard: 0, soft: 50, soft_seconds: 1 };
        let mut since = None;
        let start = Instant::now();
        assert!(!limit.exceeded(60, &mut since, start));
        assert_eq!(since, Some(start));
        assert!(!limit.exceeded(60, &mut since, start + Duration::from_millis(900)));
        assert!(limit.exceeded(60, &mut since, start + Duration::from_millis(1100)));
        // Dropping under the soft limit restarts the clock.
        assert!(!limit.exceeded(10, &mut since, start + Duration::from_millis(1200)));
        assert_eq!(since, None);
    }

    #[test]
    fn zero_disables_the_limit() {
        let limit = OutputLimit::default();
        assert!(!limit.exceeded(usize::MAX, &mut None, Instant::now()));
    }
}
