//! A proptest state machine: random puts, deletes, reopens and merges against a `BTreeMap`.

use std::collections::BTreeMap;

use byo_bitcask::{Bitcask, Durability, Options};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Put(u8, Vec<u8>),
    Delete(u8),
    Get(u8),
    Reopen,
    Merge,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (0u8..24, prop::collection::vec(any::<u8>(), 0..200)).prop_map(|(k, v)| Op::Put(k, v)),
        4 => (0u8..24).prop_map(Op::Delete),
        6 => (0u8..24).prop_map(Op::Get),
        1 => Just(Op::Reopen),
        1 => Just(Op::Merge),
    ]
}

fn options() -> Options {
    // Small files: rotation and multi-file merges happen within a test case.
    Options::default()
        .durability(Durability::Never)
        .max_file_size(1024)
        .max_key_size(8)
        .max_value_size(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn behaves_like_a_map(ops in prop::collection::vec(op(), 1..120)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Bitcask::open(dir.path(), options()).unwrap();
        let mut model = BTreeMap::new();
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    store.put(&[k], &v).unwrap();
                    model.insert(k, v);
                }
                Op::Delete(k) => prop_assert_eq!(store.delete(&[k]).unwrap(), model.remove(&k).is_some()),
                Op::Get(k) => prop_assert_eq!(store.get(&[k]).unwrap(), model.get(&k).cloned()),
                Op::Reopen => {
                    drop(store);
                    store = Bitcask::open(dir.path(), options()).unwrap();
                }
                Op::Merge => {
                    store.merge().unwrap();
                }
            }
            prop_assert_eq!(store.len(), model.len());
        }
        drop(store);
        let store = Bitcask::open(dir.path(), options()).unwrap();
        let all = store.fold(BTreeMap::new(), |mut all, k, v| {
            all.insert(k[0], v.to_vec());
            all
        }).unwrap();
        prop_assert_eq!(all, model);
    }
}
