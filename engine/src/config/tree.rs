//! Operations on a config tree (`toml::Table`) by dotted path, keeping [`Provenance`] in step:
//! deep merge of a layer, get, and listing of paths. Arrays are leaves (a layer replaces them).

use toml::{Table, Value};

use super::provenance::{Provenance, Source};

/// `prefix.key`, or `key` at the root.
pub fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Value at a dotted path.
pub fn get<'a>(table: &'a Table, path: &str) -> Option<&'a Value> {
    let mut segs = path.split('.');
    let mut cur = table.get(segs.next()?)?;
    for seg in segs {
        cur = cur.as_table()?.get(seg)?;
    }
    Some(cur)
}

/// Deep-merge `overlay` into `base` (tables merge key by key, anything else replaces), recording
/// `source` for every path written under `prefix`.
pub fn merge(
    base: &mut Table,
    overlay: Table,
    prefix: &str,
    source: &Source,
    prov: &mut Provenance,
) {
    for (key, value) in overlay {
        let path = join(prefix, &key);
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => {
                prov.set(path.clone(), source.clone());
                merge(b, o, &path, source, prov);
            }
            (_, value) => {
                prov.remove_subtree(&path);
                record(&path, &value, source, prov);
                base.insert(key, value);
            }
        }
    }
}

/// Record `source` for `path` and everything below it.
pub fn record(path: &str, value: &Value, source: &Source, prov: &mut Provenance) {
    prov.set(path.to_string(), source.clone());
    if let Value::Table(t) = value {
        for (k, v) in t {
            record(&join(path, k), v, source, prov);
        }
    }
}

/// Every path (tables and leaves) under `prefix`, depth first in file order.
pub fn all_paths(table: &Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in table {
        let p = join(prefix, k);
        out.push(p.clone());
        if let Value::Table(t) = v {
            all_paths(t, &p, out);
        }
    }
}

/// Leaf paths under `prefix` (non-tables, and empty tables).
pub fn leaf_paths(table: &Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in table {
        let p = join(prefix, k);
        match v {
            Value::Table(t) if !t.is_empty() => leaf_paths(t, &p, out),
            _ => out.push(p),
        }
    }
}

/// Put `value` at a dotted path, creating tables on the way (overwriting non-tables).
pub fn place(table: &mut Table, path: &str, value: Value) {
    let (parent, last) = match path.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, path),
    };
    let mut cur = table;
    for seg in parent.into_iter().flat_map(|p| p.split('.')) {
        let slot = cur
            .entry(seg.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        if !slot.is_table() {
            *slot = Value::Table(Table::new());
        }
        let Value::Table(next) = slot else {
            unreachable!("just made a table")
        };
        cur = next;
    }
    cur.insert(last.to_string(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Table {
        toml::from_str(s).expect("valid toml")
    }

    #[test]
    fn merge_is_deep_and_tracks_sources() {
        let mut prov = Provenance::new();
        let mut base = Table::new();
        let a = Source::File("a.toml".into());
        let b = Source::File("b.toml".into());
        merge(
            &mut base,
            t("x = 1\n[n]\np = 1\nq = [1, 2]\n[n.deep]\nz = 1"),
            "",
            &a,
            &mut prov,
        );
        merge(
            &mut base,
            t("[n]\nq = [3]\ndeep = 'flat'\nr = 2"),
            "",
            &b,
            &mut prov,
        );
        assert_eq!(base, t("x = 1\n[n]\np = 1\nq = [3]\ndeep = 'flat'\nr = 2"));
        assert_eq!(prov.get("n.p"), Some(&a));
        assert_eq!(prov.get("n.q"), Some(&b));
        assert_eq!(prov.get("n.deep"), Some(&b));
        assert_eq!(prov.get("n.deep.z"), None);
        assert_eq!(get(&base, "n.r"), Some(&Value::Integer(2)));
        assert_eq!(get(&base, "n.p.x"), None);
    }

    #[test]
    fn paths_and_place() {
        let mut base = t("a = 1\n[b]\nc = 2\n[b.e]\n");
        let mut all = Vec::new();
        all_paths(&base, "", &mut all);
        assert_eq!(all, ["a", "b", "b.c", "b.e"]);
        let mut leaves = Vec::new();
        leaf_paths(&base, "", &mut leaves);
        assert_eq!(leaves, ["a", "b.c", "b.e"]);
        place(&mut base, "a.x.y", Value::Integer(3));
        assert_eq!(get(&base, "a.x.y"), Some(&Value::Integer(3)));
    }
}
