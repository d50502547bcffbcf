//! What a `put` hands back: the value it replaced, or the entries it pushed out.

/// The outcome of [`Cache::put`](crate::Cache::put) and [`LruCache::put`](crate::LruCache::put).
///
/// Every entry that leaves the cache because of a `put` comes back to the caller exactly once,
/// so a write-back cache can flush it and nothing is lost silently.
///
/// ```
/// use byo_lru::{LruCache, Put};
///
/// let mut cache = LruCache::new(1);
/// assert!(matches!(cache.put("a", 1), Put::Inserted));
/// assert!(matches!(cache.put("a", 2), Put::Replaced(1)));
/// match cache.put("b", 3) {
///     Put::Evicted(gone) => assert_eq!(gone.into_iter().collect::<Vec<_>>(), [("a", 2)]),
///     other => panic!("expected an eviction, got {other:?}"),
/// }
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum Put<K, V> {
    /// The key was new and fitted without evicting anything.
    Inserted,
    /// The key was present; this is its previous value. Nothing else left the cache: an
    /// update never evicts in a count-bounded cache.
    Replaced(V),
    /// These entries were evicted to make room, oldest first. A count-bounded cache evicts
    /// exactly one. In a weighted cache, an update that no longer fits reports the key's own
    /// previous entry first, then the entries evicted for it.
    Evicted(Evicted<K, V>),
    /// The entry weighs more than the whole capacity, so it was not cached. Any previous entry
    /// under the same key was removed (it must not be served as if current) and dropped.
    Rejected(K, V),
}

/// The entries one `put` evicted, oldest first. Iterate it or ask for its length.
///
/// Holds one entry without allocating; only a weighted `put` that evicts several allocates.
#[derive(Debug, PartialEq, Eq)]
pub struct Evicted<K, V>(Repr<K, V>);

#[derive(Debug, PartialEq, Eq)]
enum Repr<K, V> {
    One(K, V),
    Many(Vec<(K, V)>),
}

impl<K, V> Evicted<K, V> {
    /// One evicted entry.
    pub(crate) fn one(key: K, value: V) -> Self {
        Evicted(Repr::One(key, value))
    }

    /// Adds an entry evicted after the ones already held.
    pub(crate) fn push(self, key: K, value: V) -> Self {
        match self.0 {
            Repr::One(k, v) => Evicted(Repr::Many(vec![(k, v), (key, value)])),
            Repr::Many(mut all) => {
                all.push((key, value));
                Evicted(Repr::Many(all))
            }
        }
    }

    /// Appends to an optional list, starting it if needed.
    pub(crate) fn append(list: Option<Self>, key: K, value: V) -> Self {
        match list {
            None => Evicted::one(key, value),
            Some(list) => list.push(key, value),
        }
    }

    /// How many entries were evicted (at least one).
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::One(..) => 1,
            Repr::Many(all) => all.len(),
        }
    }

    /// Always false: an `Evicted` holds at least one entry. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The first (oldest) evicted entry.
    pub fn first(&self) -> (&K, &V) {
        match &self.0 {
            Repr::One(k, v) => (k, v),
            // Many is only built by `push`, which leaves at least two entries.
            Repr::Many(all) => (&all[0].0, &all[0].1),
        }
    }
}

impl<K, V> IntoIterator for Evicted<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        match self.0 {
            Repr::One(k, v) => vec![(k, v)].into_iter(),
            Repr::Many(all) => all.into_iter(),
        }
    }
}
