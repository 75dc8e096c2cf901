//! Tests of the override grammar: examples of every form, malformed input, and proptests for
//! the round-trip law `parse(render(o)) == o` and for never panicking on arbitrary text.

use proptest::prelude::*;
use toml::Value;

use super::*;

fn ok(s: &str) -> Override {
    parse_override(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn v(x: Value) -> OverrideValue {
    OverrideValue::Value(x)
}

#[test]
fn every_form() {
    assert_eq!(
        ok("a.b=3"),
        Override::Set {
            key: "a.b".into(),
            value: v(Value::Integer(3))
        }
    );
    assert_eq!(
        ok("+a=x"),
        Override::Add {
            key: "a".into(),
            value: v(Value::String("x".into()))
        }
    );
    assert_eq!(
        ok("++a-b=True"),
        Override::AddOrSet {
            key: "a-b".into(),
            value: v(Value::Boolean(true))
        }
    );
    assert_eq!(
        ok("~a.b"),
        Override::Delete {
            key: "a.b".into(),
            value: None
        }
    );
    assert_eq!(
        ok("~a=1"),
        Override::Delete {
            key: "a".into(),
            value: Some(Value::Integer(1))
        }
    );
    assert_eq!(
        ok("key="),
        Override::Set {
            key: "key".into(),
            value: v(Value::String(String::new()))
        }
    );
    assert_eq!(ok("data@target=target_lowq").key(), "data@target");
    assert_eq!(
        ok("path=/x/y.nii.gz"),
        Override::Set {
            key: "path".into(),
            value: v(Value::String("/x/y.nii.gz".into()))
        }
    );
    assert_eq!(
        ok("a=b=c"),
        Override::Set {
            key: "a".into(),
            value: v(Value::String("b=c".into()))
        }
    );
}

#[test]
fn sweeps() {
    let sweep = |s: &str| {
        ok(s)
            .sweep()
            .cloned()
            .unwrap_or_else(|| panic!("{s} is not a sweep"))
    };
    assert_eq!(
        sweep("a=1,2,3"),
        Sweep::List(vec![
            Value::Integer(1),
            Value::Integer(2),
            Value::Integer(3)
        ])
    );
    assert_eq!(
        sweep("a=range(0,10,2)"),
        Sweep::Range {
            start: Num::Int(0),
            stop: Num::Int(10),
            step: Num::Int(2)
        }
    );
    assert_eq!(
        sweep("a=range(5)"),
        Sweep::Range {
            start: Num::Int(0),
            stop: Num::Int(5),
            step: Num::Int(1)
        }
    );
    assert_eq!(
        sweep("a=range(start=0, stop=1, step=0.25)"),
        Sweep::Range {
            start: Num::Int(0),
            stop: Num::Int(1),
            step: Num::Float(0.25)
        }
    );
    assert_eq!(
        sweep("a=choice(x, [1,2])").clone(),
        Sweep::Choice(vec![
            Value::String("x".into()),
            ok("a=[1,2]").render_value_for_test()
        ])
    );
    assert_eq!(
        sweep("data=glob(target_*, exclude=target_b*)"),
        Sweep::Glob {
            include: vec!["target_*".into()],
            exclude: vec!["target_b*".into()]
        }
    );
    assert_eq!(
        sweep("data=glob(*)"),
        Sweep::Glob {
            include: vec!["*".into()],
            exclude: vec![]
        }
    );
    // Commas inside brackets or quotes are not sweeps.
    for lit in ["a=[1,2]", "a=\"1,2\"", "a={x=1,y=2}", "a=${env:X,1}"] {
        assert!(ok(lit).sweep().is_none(), "{lit}");
    }
}

impl Override {
    fn render_value_for_test(&self) -> Value {
        match self {
            Override::Set {
                value: OverrideValue::Value(v),
                ..
            } => v.clone(),
            other => panic!("not a plain set: {other:?}"),
        }
    }
}

#[test]
fn malformed() {
    let cases = [
        ("", "the key is empty"),
        ("=3", "the key is empty"),
        ("a", "missing '='"),
        ("+a", "missing '='"),
        ("a b=1", "not a valid key"),
        ("1a=1", "not a valid key"),
        ("a..b=1", "not a valid key"),
        ("a.b@c=1", "not a valid group@package"),
        ("a=[1,", "does not parse"),
        ("a=range(1,x)", "not a finite number"),
        ("a=range(1,2,0)", "step is 0"),
        ("a=range(1,2,3,4)", "at most 3"),
        ("a=range(1,2", "closing ')'"),
        ("a=choice()", "at least one"),
        ("a=glob(a/b)", "not a pattern"),
        ("a=glob(exclude=x)", "glob(pattern)"),
    ];
    for (text, needle) in cases {
        let e = parse_override(text).expect_err(text).to_string();
        assert!(e.contains(needle), "{text}: {e}");
        assert!(
            e.starts_with(&format!("malformed override '{text}'")),
            "{e}"
        );
    }
}

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_-]{0,6}"
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(ident(), 1..4).prop_map(|v| v.join(".")),
        (ident(), ident()).prop_map(|(g, p)| format!("{g}@{p}")),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::Integer),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |f| !f.is_nan())
            .prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
        any::<String>().prop_map(Value::String),
        "[a-zA-Z0-9 ,.'\"\\[\\]{}()=$:/_-]{0,12}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..3)
                .prop_map(|kv| Value::Table(kv.into_iter().collect())),
        ]
    })
}

fn num() -> impl Strategy<Value = Num> {
    prop_oneof![
        any::<i64>().prop_map(Num::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Num::Float),
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_*?-]{1,6}"
}

fn override_value() -> impl Strategy<Value = OverrideValue> {
    prop_oneof![
        4 => value().prop_map(OverrideValue::Value),
        1 => prop::collection::vec(value(), 2..4).prop_map(|v| OverrideValue::Sweep(Sweep::List(v))),
        1 => prop::collection::vec(value(), 1..4).prop_map(|v| OverrideValue::Sweep(Sweep::Choice(v))),
        1 => (num(), num(), num().prop_filter("non-zero step", |n| n.as_f64() != 0.0))
            .prop_map(|(start, stop, step)| OverrideValue::Sweep(Sweep::Range { start, stop, step })),
        1 => (prop::collection::vec(pattern(), 1..3), prop::collection::vec(pattern(), 0..3))
            .prop_map(|(include, exclude)| OverrideValue::Sweep(Sweep::Glob { include, exclude })),
    ]
}

fn any_override() -> impl Strategy<Value = Override> {
    prop_oneof![
        (key(), override_value()).prop_map(|(key, value)| Override::Set { key, value }),
        (key(), override_value()).prop_map(|(key, value)| Override::Add { key, value }),
        (key(), override_value()).prop_map(|(key, value)| Override::AddOrSet { key, value }),
        (key(), prop::option::of(value())).prop_map(|(key, value)| Override::Delete { key, value }),
    ]
}

proptest! {
    #[test]
    fn parse_render_round_trip(o in any_override()) {
        let text = o.render();
        let back = parse_override(&text);
        prop_assert_eq!(back.as_ref().ok(), Some(&o), "rendered as {:?}: {:?}", text, back);
    }

    #[test]
    fn rendered_values_are_toml_literals(v in value()) {
        let text = crate::config::value::render_value(&v);
        let doc: Result<toml::Table, _> = toml::from_str(&format!("x = {text}"));
        prop_assert_eq!(doc.ok().and_then(|mut t| t.remove("x")), Some(v), "{}", text);
    }

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        let _ = parse_override(&s);
    }

    #[test]
    fn arbitrary_override_like_text_never_panics(s in "[+~]{0,2}[a-z.@]{0,5}=?[\\[\\](){},'\"a-z0-9=.*-]{0,16}") {
        if let Ok(o) = parse_override(&s) {
            // Whatever parsed must render to something that parses to the same override.
            prop_assert_eq!(parse_override(&o.render()).ok(), Some(o));
        }
    }
}
