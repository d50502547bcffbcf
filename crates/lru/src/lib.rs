//! Bounded caches: exact LRU, SIEVE and S3-FIFO, and a sharded cache for many threads.
//!
//! # How this crate is built
//!
//! A cache is a hash map that forgets. The map part is easy; what makes a cache interesting is
//! the order it keeps in order to decide *what to forget*, and keeping that order cheap.
//!
//! Every cache here stores its entries in one [`Vec`] of slots and finds them through a
//! [`hashbrown::HashTable`] of slot numbers (`store.rs`). The order is one or more
//! doubly-linked lists whose `prev`/`next` links are slot numbers stored in the slots
//! (`list.rs`). That gives the O(1) "move to front" and "take from the back" of the textbook
//! pointer-linked design, with no `unsafe`, no per-entry allocation and no reference counting,
//! and it keeps entries dense in memory: a `u64 → u64` entry costs a 24-byte slot plus 5 to 10
//! bytes of table.
//!
//! On top of that store sit three eviction policies, one module each:
//!
//! | type | policy | a hit costs | good at |
//! |---|---|---|---|
//! | [`LruCache`] | least recently used | moving the entry to the head | recency-heavy workloads; exact, predictable |
//! | [`SieveCache`] | SIEVE (NSDI'24) | setting one bit | web-like traffic with one-hit wonders |
//! | [`S3FifoCache`] | S3-FIFO (SOSP'23) | bumping a 2-bit counter | scans and one-hit wonders; highest hit ratios here |
//!
//! and [`ShardedCache`], which puts many `SieveCache`s behind read-write locks so that threads
//! can share one cache through `&self`. It is SIEVE rather than LRU because a SIEVE hit writes
//! nothing that other cores need, so reads proceed in parallel (see its module docs).
//!
//! All three policies implement [`Cache`], so code (and the [`testkit`], behind the `testkit`
//! feature) can be written once against any of them, including your own.
//!
//! # Quick start
//!
//! ```
//! use byo_lru::{LruCache, Put};
//!
//! let mut cache = LruCache::new(2);
//! cache.put("apple", 3);
//! cache.put("pear", 5);
//! assert_eq!(cache.get(&"apple"), Some(&3)); // apple is now the most recently used
//! let Put::Evicted(gone) = cache.put("fig", 7) else { unreachable!() };
//! assert_eq!(gone.first(), (&"pear", &5)); // so pear, the least recently used, went
//! ```
//!
//! # Limits
//!
//! A cache holds at most [`MAX_ENTRIES`] entries (slot numbers are `u32`); a larger count
//! capacity is lowered to it. Caches never allocate ahead of their contents unless asked to
//! ([`LruCache::reserve`]).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod list;
mod lru;
mod put;
mod s3fifo;
mod sharded;
mod sieve;
mod store;
mod weigher;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use crate::lru::{Iter, LruCache};
pub use crate::put::{Evicted, Put};
pub use crate::s3fifo::S3FifoCache;
pub use crate::sharded::ShardedCache;
pub use crate::sieve::SieveCache;
pub use crate::store::MAX_ENTRIES;
pub use crate::weigher::{One, UnitWeigher, Weigher, Weight};

/// The default hasher: hashbrown's, which is foldhash, fast and seeded per process.
///
/// Like std's `RandomState` it resists hash flooding from keys an attacker picks, though with
/// a weaker guarantee than SipHash; pass your own [`BuildHasher`](core::hash::BuildHasher)
/// through the `with_hasher` constructors if keys come from hostile input and you need more.
pub type DefaultHashBuilder = hashbrown::DefaultHashBuilder;

/// The operations every cache policy in this crate shares, and that the [`testkit`] checks.
///
/// The inherent methods of each cache are more general (lookups by borrowed forms of the key,
/// such as `&str` for a `String` key); this trait keeps to `&K` so that it is simple to
/// implement for your own cache.
pub trait Cache<K, V> {
    /// The value for `key`, counting it as an access (LRU: promote; SIEVE: mark visited).
    fn get(&mut self, key: &K) -> Option<&V>;
    /// The value for `key`, without counting an access.
    fn peek(&self, key: &K) -> Option<&V>;
    /// Caches `value` under `key`, evicting if needed; see [`Put`].
    fn put(&mut self, key: K, value: V) -> Put<K, V>;
    /// Removes `key`, returning its value.
    fn remove(&mut self, key: &K) -> Option<V>;
    /// Whether `key` is cached, without counting an access.
    fn contains(&self, key: &K) -> bool {
        self.peek(key).is_some()
    }
    /// The number of cached entries.
    fn len(&self) -> usize;
    /// Whether nothing is cached.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The capacity, in the cache's unit: entries, or total weight for a weighted cache.
    fn capacity(&self) -> u64;
    /// Removes every entry.
    fn clear(&mut self);
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
