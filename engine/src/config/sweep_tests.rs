//! Tests of sweep expansion (product, zip, range, choice, glob) and `override_dirname`.

use super::*;

static BUILTIN: crate::config::Builtin = &[
    ("configs/data/source.toml", "path = 's'"),
    ("configs/data/target_lowq.toml", "path = 'l'"),
    ("configs/data/target_scanner.toml", "path = 't'"),
    ("configs/data/target_bad.toml", "path = 'b'"),
    ("pipelines/p.toml", "[defaults]\ndata = 'source'\n"),
];

fn expand(overrides: &[&str], mode: SweepMode) -> Result<Vec<Vec<String>>, ConfigErrors> {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    expand_sweep(&ConfigSources::new(BUILTIN), "p", &o, mode)
}

fn jobs(overrides: &[&str], mode: SweepMode) -> Vec<String> {
    expand(overrides, mode)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|j| j.join(" "))
        .collect()
}

#[test]
fn product_first_override_varies_slowest() {
    assert_eq!(
        jobs(&["a=1,2", "x=9", "b=x,'y,z'"], SweepMode::Product),
        [
            "a=1 x=9 b=x",
            "a=1 x=9 b='y,z'",
            "a=2 x=9 b=x",
            "a=2 x=9 b='y,z'"
        ]
    );
    assert_eq!(jobs(&["a=1"], SweepMode::Product), ["a=1"]);
    assert_eq!(jobs(&[], SweepMode::Product), [""]);
    assert_eq!(
        jobs(&["+a=choice(x, [1,2])"], SweepMode::Product),
        ["+a=x", "+a=[1,2]"]
    );
}

#[test]
fn zip_pairs_and_rejects_length_mismatch() {
    assert_eq!(
        jobs(&["a=1,2", "c=0", "b=x,y"], SweepMode::Zip),
        ["a=1 c=0 b=x", "a=2 c=0 b=y"]
    );
    let e = expand(&["a=1,2", "b=x,y,z"], SweepMode::Zip).expect_err("mismatch");
    assert_eq!(
        e.to_string(),
        "zipped sweep needs every swept key to have the same number of values, got a: 2, b: 3; \
         make the lists the same length or use the product sweep"
    );
}

#[test]
fn range_semantics() {
    assert_eq!(
        jobs(&["a=range(0,10,2)"], SweepMode::Product),
        ["a=0", "a=2", "a=4", "a=6", "a=8"]
    );
    assert_eq!(
        jobs(&["a=range(3)"], SweepMode::Product),
        ["a=0", "a=1", "a=2"]
    );
    assert_eq!(
        jobs(&["a=range(5,0,-2)"], SweepMode::Product),
        ["a=5", "a=3", "a=1"]
    );
    assert_eq!(
        jobs(&["a=range(0,1,0.25)"], SweepMode::Product),
        ["a=0.0", "a=0.25", "a=0.5", "a=0.75"]
    );
    assert_eq!(
        jobs(&["a=range(0,0.5,0.1)"], SweepMode::Product),
        ["a=0.0", "a=0.1", "a=0.2", "a=0.3", "a=0.4"]
    );
    let e = expand(&["a=range(5,0)"], SweepMode::Product).expect_err("empty");
    assert!(e.to_string().contains("the range is empty"), "{e}");
    let e = expand(&["a=range(0,100000)"], SweepMode::Product).expect_err("huge");
    assert!(e.to_string().contains("more than 10000"), "{e}");
}

#[test]
fn glob_over_group_options() {
    assert_eq!(jobs(&["data=glob(*)"], SweepMode::Product).len(), 4);
    assert_eq!(
        jobs(
            &["data=glob(target_*, exclude=target_b*)"],
            SweepMode::Product
        ),
        ["data=target_lowq", "data=target_scanner"]
    );
    assert_eq!(
        jobs(&["data=glob([source,*_lowq])"], SweepMode::Product),
        ["data=source", "data=target_lowq"]
    );
    let e = expand(&["data=glob(nope*)"], SweepMode::Product).expect_err("no match");
    assert!(
        e.to_string().contains("matches no option of group 'data'"),
        "{e}"
    );
    let e = expand(&["seed=glob(*)"], SweepMode::Product).expect_err("not a group");
    assert!(
        e.to_string().contains("'seed' is not one; groups: data"),
        "{e}"
    );
}

#[test]
fn product_cap_and_all_errors_reported() {
    let many = ["a=range(0,100)", "b=range(0,100)", "c=range(0,100)"];
    assert!(
        expand(&many, SweepMode::Product)
            .expect_err("too many")
            .to_string()
            .contains("more than 10000 jobs")
    );
    let e = expand(
        &["a b=1", "data=glob(zz)", "x=range(1,1)"],
        SweepMode::Product,
    )
    .expect_err("three");
    assert_eq!(e.len(), 3, "{e}");
    assert!(matches!(
        expand_sweep(&ConfigSources::new(BUILTIN), "nope", &[], SweepMode::Product).map_err(|e| e.0),
        Err(v) if matches!(v[0], ConfigError::UnknownPipeline { .. })
    ));
}

#[test]
fn glob_matching() {
    assert!(glob_match("*", ""));
    assert!(glob_match("t*_?", "target_b"));
    assert!(!glob_match("t*_?", "target_bb"));
    assert!(glob_match("a*b*c", "aXbYc"));
    assert!(!glob_match("abc", "abcd"));
}

#[test]
fn dirname_is_sorted_and_safe() {
    let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(override_dirname(&o(&["b=2", "a=1"])), "a=1,b=2");
    assert_eq!(
        override_dirname(&o(&["path=/data/x y.nii.gz", "+m@t=\"q\""])),
        "+m@t=_q_,path=_data_x_y.nii.gz"
    );
    assert_eq!(override_dirname(&[]), "");
    let long = override_dirname(&o(&[&format!("a={}", "x".repeat(400))]));
    assert_eq!(long.len(), 197);
    assert_ne!(
        long,
        override_dirname(&o(&[&format!("a={}", "x".repeat(401))]))
    );
    assert!(has_sweep(&o(&["a=1", "b=1,2"])) && !has_sweep(&o(&["a=[1,2]"])));
}
