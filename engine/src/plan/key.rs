//! Cache keys and node seeds: a blake3 hash of a canonical, order-independent byte encoding.
//!
//! The key of a node instance covers exactly what can change its result: kind, kind version,
//! canonical config (table keys sorted, so the order in TOML files does not matter), the seed,
//! the iteration number inside a repeat block, the sorted (port, upstream key) pairs, the
//! fingerprint of files read from outside the cache (if the kind has one) and
//! [`ARTIFACT_FORMAT_VERSION`]. Node ids, a repeat block's `iterations` and runtime knobs are not
//! hashed (the node id still reaches the key through the seed, see [`node_seed`]).

use std::collections::BTreeMap;

/// Version of the on-disk artifact layout. Bump it to invalidate every cache entry.
pub const ARTIFACT_FORMAT_VERSION: u32 = 1;

/// What a cache key is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyInput<'a> {
    pub kind: &'a str,
    pub kind_version: u32,
    pub config: &'a toml::Table,
    pub iteration: Option<u32>,
    pub seed: u64,
    /// Port name -> upstream key.
    pub inputs: &'a BTreeMap<String, String>,
    /// Fingerprint of what the node reads from outside the cache (`Registry::external_fingerprint`).
    pub external: Option<&'a str>,
}

/// The cache key (64 hex digits) of a node instance.
pub fn cache_key(k: &KeyInput<'_>) -> String {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"rl4seg/cache-key/1\0");
    put_str(&mut out, k.kind);
    out.extend_from_slice(&k.kind_version.to_le_bytes());
    encode_table(k.config, &mut out);
    match k.iteration {
        None => out.push(b'n'),
        Some(i) => {
            out.push(b'y');
            out.extend_from_slice(&i.to_le_bytes());
        }
    }
    out.extend_from_slice(&k.seed.to_le_bytes());
    out.extend_from_slice(&(k.inputs.len() as u64).to_le_bytes());
    for (port, key) in k.inputs {
        put_str(&mut out, port);
        put_str(&mut out, key);
    }
    match k.external {
        None => out.push(b'n'),
        Some(f) => {
            out.push(b'y');
            put_str(&mut out, f);
        }
    }
    out.extend_from_slice(&ARTIFACT_FORMAT_VERSION.to_le_bytes());
    blake3::hash(&out).to_hex().to_string()
}

/// Seed of a node instance: hash of (global seed, node id without `@i`, iteration).
pub fn node_seed(global: u64, node: &str, iteration: Option<u32>) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(b"rl4seg/seed/1\0");
    h.update(&global.to_le_bytes());
    h.update(&(node.len() as u64).to_le_bytes());
    h.update(node.as_bytes());
    h.update(&iteration.unwrap_or(0).to_le_bytes());
    let bytes = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn encode_table(t: &toml::Table, out: &mut Vec<u8>) {
    out.push(b't');
    out.extend_from_slice(&(t.len() as u64).to_le_bytes());
    let mut keys: Vec<&String> = t.keys().collect();
    keys.sort();
    for k in keys {
        put_str(out, k);
        if let Some(v) = t.get(k) {
            encode_value(v, out);
        }
    }
}

fn encode_value(v: &toml::Value, out: &mut Vec<u8>) {
    match v {
        toml::Value::String(s) => {
            out.push(b's');
            put_str(out, s);
        }
        toml::Value::Integer(i) => {
            out.push(b'i');
            out.extend_from_slice(&i.to_le_bytes());
        }
        toml::Value::Float(f) => {
            out.push(b'f');
            let bits = if f.is_nan() {
                f64::NAN.to_bits()
            } else {
                f.to_bits()
            };
            out.extend_from_slice(&bits.to_le_bytes());
        }
        toml::Value::Boolean(b) => {
            out.push(b'b');
            out.push(u8::from(*b));
        }
        toml::Value::Datetime(d) => {
            out.push(b'd');
            put_str(out, &d.to_string());
        }
        toml::Value::Array(a) => {
            out.push(b'a');
            out.extend_from_slice(&(a.len() as u64).to_le_bytes());
            for x in a {
                encode_value(x, out);
            }
        }
        toml::Value::Table(t) => encode_table(t, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(src: &str) -> toml::Table {
        src.parse().expect("test TOML parses")
    }

    fn key_of(
        config: &toml::Table,
        seed: u64,
        iteration: Option<u32>,
        inputs: &BTreeMap<String, String>,
    ) -> String {
        cache_key(&KeyInput {
            kind: "add",
            kind_version: 1,
            config,
            iteration,
            seed,
            inputs,
            external: None,
        })
    }

    #[test]
    fn nested_key_order_does_not_matter() {
        let a = table("x = 1\n[inner]\np = 'a'\nq = [1.5, 2.0]\n");
        let mut b = table("[inner]\nq = [1.5, 2.0]\np = 'a'\n");
        b.insert("x".into(), toml::Value::Integer(1));
        assert_ne!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "the two tables differ in order"
        );
        let none = BTreeMap::new();
        assert_eq!(key_of(&a, 0, None, &none), key_of(&b, 0, None, &none));
    }

    #[test]
    fn integer_and_float_of_same_value_differ_and_string_boundaries_are_unambiguous() {
        let none = BTreeMap::new();
        assert_ne!(
            key_of(&table("x = 1"), 0, None, &none),
            key_of(&table("x = 1.0"), 0, None, &none)
        );
        assert_ne!(
            key_of(&table("a = 'bc'"), 0, None, &none),
            key_of(&table("ab = 'c'"), 0, None, &none)
        );
    }

    #[test]
    fn seeds_differ_by_node_iteration_and_global_seed() {
        let s = node_seed(0, "ppo", Some(1));
        assert_ne!(s, node_seed(0, "ppo", Some(2)));
        assert_ne!(s, node_seed(1, "ppo", Some(1)));
        assert_ne!(s, node_seed(0, "reward", Some(1)));
        assert_eq!(s, node_seed(0, "ppo", Some(1)));
    }

    fn scalar() -> impl Strategy<Value = toml::Value> {
        prop_oneof![
            any::<i64>().prop_map(toml::Value::Integer),
            (-1e6f64..1e6).prop_map(toml::Value::Float),
            any::<bool>().prop_map(toml::Value::Boolean),
            "[a-z]{0,6}".prop_map(toml::Value::String),
        ]
    }

    fn value() -> impl Strategy<Value = toml::Value> {
        scalar().prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
                prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                    .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
            ]
        })
    }

    fn reversed(t: &toml::Table) -> toml::Table {
        let mut out = toml::Table::new();
        for (k, v) in t.iter().rev() {
            let v = match v {
                toml::Value::Table(inner) => toml::Value::Table(reversed(inner)),
                other => other.clone(),
            };
            out.insert(k.clone(), v);
        }
        out
    }

    proptest! {
        #[test]
        fn key_ignores_table_key_order(m in prop::collection::btree_map("[a-z]{1,5}", value(), 1..6)) {
            let t: toml::Table = m.into_iter().collect();
            let none = BTreeMap::new();
            prop_assert_eq!(key_of(&t, 3, None, &none), key_of(&reversed(&t), 3, None, &none));
        }

        #[test]
        fn any_hashed_field_change_changes_the_key(
            m in prop::collection::btree_map("[a-z]{1,5}", value(), 1..6),
            extra in "[a-z]{6,8}",
            seed in any::<u64>(),
            iteration in prop::option::of(1u32..50),
        ) {
            let t: toml::Table = m.into_iter().collect();
            let inputs: BTreeMap<String, String> = [("x".to_string(), "k1".to_string())].into();
            let base = KeyInput { kind: "add", kind_version: 1, config: &t, iteration, seed, inputs: &inputs, external: None };
            let k = cache_key(&base);
            let mut changed_cfg = t.clone();
            changed_cfg.insert(extra, toml::Value::Boolean(true));
            let other_inputs: BTreeMap<String, String> = [("x".to_string(), "k2".to_string())].into();
            let renamed_port: BTreeMap<String, String> = [("y".to_string(), "k1".to_string())].into();
            let variants = [
                KeyInput { kind: "scale", ..base.clone() },
                KeyInput { kind_version: 2, ..base.clone() },
                KeyInput { config: &changed_cfg, ..base.clone() },
                KeyInput { iteration: Some(iteration.map_or(1, |i| i + 1)), ..base.clone() },
                KeyInput { seed: seed.wrapping_add(1), ..base.clone() },
                KeyInput { inputs: &other_inputs, ..base.clone() },
                KeyInput { inputs: &renamed_port, ..base.clone() },
                KeyInput { external: Some("12 bytes"), ..base.clone() },
            ];
            for v in &variants {
                prop_assert_ne!(&k, &cache_key(v), "{:?}", v);
            }
            prop_assert_eq!(k, cache_key(&base));
        }
    }
}
