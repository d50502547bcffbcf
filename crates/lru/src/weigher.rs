//! How much of a cache's capacity one entry uses.

/// Measures an entry, in whatever unit the cache's capacity is given in (bytes, cost, ...).
///
/// The weight is measured once, when the entry is inserted or replaced by `put`, and stored
/// beside it as a [`Weight`]. Changing a value through
/// [`LruCache::get_mut`](crate::LruCache::get_mut) does not re-measure it; `put` the new value
/// instead when its weight changes.
///
/// Any `Fn(&K, &V) -> u64` is a weigher:
///
/// ```
/// use byo_lru::{LruCache, Put};
///
/// let mut cache = LruCache::with_weigher(10, |_key: &u32, value: &String| value.len() as u64);
/// cache.put(1, "hello".to_string());
/// cache.put(2, "world".to_string());
/// assert_eq!(cache.weight(), 10);
/// assert!(matches!(cache.put(3, "x".repeat(11)), Put::Rejected(..)));
/// ```
pub trait Weigher<K, V> {
    /// How the weight is stored beside each entry: `u64` usually, a smaller integer to save
    /// memory, or the zero-sized [`One`] when every entry weighs the same.
    type Weight: Weight;

    /// The weight of one entry. An entry heavier than the whole capacity is never cached.
    fn weight(&self, key: &K, value: &V) -> Self::Weight;
}

/// A stored weight.
pub trait Weight: Copy {
    /// A lower bound on every value of this type, so a cache knows the most entries it can
    /// hold (`capacity / LEAST`) and never sizes its memory past that. 0 says nothing.
    const LEAST: u64;

    /// The weight as a number.
    fn get(self) -> u64;
}

macro_rules! integer_weights {
    ($($t:ty),*) => {$(
        impl Weight for $t {
            const LEAST: u64 = 0;
            #[inline]
            fn get(self) -> u64 {
                u64::from(self)
            }
        }
    )*};
}
integer_weights!(u8, u16, u32, u64);

/// The weight 1, stored in no bytes at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct One;

impl Weight for One {
    const LEAST: u64 = 1;
    #[inline]
    fn get(self) -> u64 {
        1
    }
}

/// Every entry weighs 1: the capacity is a number of entries. The default.
#[derive(Clone, Copy, Debug, Default)]
pub struct UnitWeigher;

impl<K, V> Weigher<K, V> for UnitWeigher {
    type Weight = One;

    #[inline]
    fn weight(&self, _key: &K, _value: &V) -> One {
        One
    }
}

impl<K, V, F: Fn(&K, &V) -> u64> Weigher<K, V> for F {
    type Weight = u64;

    #[inline]
    fn weight(&self, key: &K, value: &V) -> u64 {
        self(key, value)
    }
}
