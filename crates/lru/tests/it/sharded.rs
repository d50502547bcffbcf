//! The sharded cache under real concurrency: threads hammer overlapping keys with every
//! operation; afterwards every value read must be one some thread wrote for that key, and the
//! cache must be within its bound.

use byo_lru::{Put, ShardedCache};

/// Values encode their key, so a value read under the wrong key is detectable.
fn value_for(key: u64, thread: u64, i: u64) -> u64 {
    (key << 32) | (thread << 24) | (i & 0xFF_FFFF)
}

#[test]
fn concurrent_mixed_operations_keep_the_cache_consistent() {
    let cache = ShardedCache::with_shards(500, 8);
    let threads = 4u64;
    std::thread::scope(|s| {
        for t in 0..threads {
            let cache = &cache;
            s.spawn(move || {
                let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for i in 0..50_000u64 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let key = x % 2000;
                    match x >> 60 {
                        0..=7 => {
                            if let Some(v) = cache.get(&key) {
                                assert_eq!(v >> 32, key, "value of another key");
                            }
                        }
                        8..=13 => match cache.put(key, value_for(key, t, i)) {
                            Put::Evicted(gone) => {
                                for (k, v) in gone {
                                    assert_eq!(v >> 32, k, "evicted pair mismatched");
                                }
                            }
                            Put::Replaced(old) => assert_eq!(old >> 32, key),
                            Put::Inserted => {}
                            Put::Rejected(..) => panic!("unit entries are never rejected"),
                        },
                        _ => {
                            if let Some(v) = cache.remove(&key) {
                                assert_eq!(v >> 32, key);
                            }
                        }
                    }
                }
            });
        }
    });
    assert!(cache.len() <= 8 * 500usize.div_ceil(8));
    for key in 0..2000 {
        if let Some(v) = cache.peek(&key) {
            assert_eq!(v >> 32, key);
        }
    }
}
