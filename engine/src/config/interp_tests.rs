//! Tests of interpolation: tables, embedded strings, env, escapes, cycles and missing targets.

use super::*;
use crate::config::provenance::Source;
use crate::config::tree::record;

fn setup(text: &str) -> (Table, Provenance) {
    let t: Table = toml::from_str(text).expect("valid toml");
    let mut prov = Provenance::new();
    for (k, v) in &t {
        record(k, v, &Source::File("p.toml".into()), &mut prov);
    }
    (t, prov)
}

fn env(var: &str) -> Option<String> {
    match var {
        "HOME_DIR" => Some("/home/x".into()),
        "THREADS" => Some("4".into()),
        _ => None,
    }
}

fn ok(text: &str) -> Resolved {
    let (t, prov) = setup(text);
    resolve(&t, &prov, &env).unwrap_or_else(|e| panic!("{e:?}"))
}

fn errs(text: &str) -> Vec<String> {
    let (t, prov) = setup(text);
    resolve(&t, &prov, &env)
        .expect_err("should fail")
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn whole_tables_are_copied_and_resolved_recursively() {
    let r = ok(r#"
        [source]
        kind = "load"
        path = "${paths.root}/a.nii.gz"
        [paths]
        root = "/data"
        [nodes]
        source = "${source}"
        "#);
    let expected: Table = toml::from_str("kind = 'load'\npath = '/data/a.nii.gz'").expect("toml");
    assert_eq!(r.tree["nodes"]["source"], Value::Table(expected));
    assert!(r.reads.contains("source") && r.reads.contains("paths.root"));
    assert_eq!(
        r.redirects.get("nodes.source"),
        Some(&Redirect::Path("source".into()))
    );
}

#[test]
fn typed_values_embedded_strings_env_and_escapes() {
    let r = ok(r#"
        n = 3
        f = 0.5
        copy = "${n}"
        text = "n=${n}, f=${f}, ok=${flag}"
        flag = true
        home = "${env:HOME_DIR}/x"
        threads = "${env:THREADS}"
        fallback = "${oc.env:NOPE,cpu}"
        literal = "\\${n}"
        list = ["${n}", "${env:HOME_DIR}"]
        through = "${nodes.a.p}"
        [nodes]
        a = "${src}"
        [src]
        p = 7
        "#);
    let t = &r.tree;
    assert_eq!(t["copy"], Value::Integer(3));
    assert_eq!(t["text"].as_str(), Some("n=3, f=0.5, ok=true"));
    assert_eq!(t["home"].as_str(), Some("/home/x/x"));
    assert_eq!(t["threads"], Value::Integer(4));
    assert_eq!(t["fallback"].as_str(), Some("cpu"));
    assert_eq!(t["literal"].as_str(), Some("${n}"));
    assert_eq!(
        t["list"],
        Value::Array(vec![Value::Integer(3), Value::String("/home/x".into())])
    );
    assert_eq!(t["through"], Value::Integer(7));
    assert_eq!(
        r.redirects.get("threads"),
        Some(&Redirect::Env("THREADS".into()))
    );
    assert!(!r.redirects.contains_key("list"));
}

#[test]
fn cycles_name_every_key_once() {
    let e = errs("a = '${b}'\nb = '${c.x}'\n[c]\nx = '${a}'");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        e[0],
        "interpolation cycle: a -> b -> c.x -> a (a from p.toml, b from p.toml, c.x from p.toml); \
         set one of these keys to a plain value to break it"
    );
    let e = errs("[a]\nb = '${a}'");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("interpolation cycle: a -> a.b -> a"),
        "{e:?}"
    );
}

#[test]
fn missing_targets_and_bad_syntax_are_all_reported() {
    let e = errs(
        r#"
        x = "${data.paht}"
        y = "${env:NOPE}"
        z = "a ${list} b"
        w = "${now:%H}"
        v = "${..rel}"
        u = "${unclosed"
        list = [1]
        [data]
        path = 1
        "#,
    );
    assert_eq!(e.len(), 6, "{e:#?}");
    assert_eq!(
        e[0],
        "x (p.toml): interpolation '${data.paht}' refers to 'data.paht', which does not exist; did you mean 'data.path'?"
    );
    assert!(e[1].contains(
        "environment variable NOPE is not set; set it, or give a default: ${env:NOPE,default}"
    ));
    assert!(
        e[2].contains("'${list}' is an array and cannot be embedded"),
        "{}",
        e[2]
    );
    assert!(e[3].contains("unknown resolver 'now'"), "{}", e[3]);
    assert!(e[4].contains("relative interpolation"), "{}", e[4]);
    assert!(e[5].contains("has no closing '}'"), "{}", e[5]);
}

#[test]
fn reading_into_a_scalar_is_missing() {
    let e = errs("a = 1\nb = '${a.c}'");
    assert!(e[0].contains("('a' is missing or not a table)"), "{e:?}");
}

#[test]
fn pieces_split() {
    assert_eq!(
        pieces("a${x.y}b${env:V, d }").expect("ok"),
        vec![
            Piece::Lit("a".into()),
            Piece::Ref("x.y".into()),
            Piece::Lit("b".into()),
            Piece::Env {
                var: "V".into(),
                default: Some("d".into())
            }
        ]
    );
}
