//! The engine's toy node set: a [`Registry`] of tiny numeric kinds (no ML, no HDF5) used by the
//! engine's own tests, benchmarks and the `rl4seg-toy` binary, and by later launcher tests.
//! Each kind's config is a strict serde struct resolved through [`resolve_typed`]. The toy
//! binary's built-in `configs/` and `pipelines/` (from `engine/toy/`) are in [`BUILTIN`].

pub mod kinds;

use crate::node::{
    ConfigIssue, KindInfo, Metrics, NodeContext, NodeError, Port, Registry, resolve_typed,
};
use kinds::*;

const NUMBERS: &[&str] = &["numbers"];

/// Every toy kind, in the order `list` shows them.
pub static KINDS: &[KindInfo] = &[
    KindInfo {
        name: "const",
        doc: "Fixed numbers from the config",
        version: 1,
        inputs: &[],
        output: "numbers",
        cacheable: true,
    },
    KindInfo {
        name: "random",
        doc: "Uniform random numbers drawn from the node's seed",
        version: 1,
        inputs: &[],
        output: "numbers",
        cacheable: true,
    },
    KindInfo {
        name: "add",
        doc: "Element-wise a + b + offset",
        version: 1,
        inputs: &[
            Port {
                name: "a",
                accepts: NUMBERS,
                optional: false,
            },
            Port {
                name: "b",
                accepts: NUMBERS,
                optional: true,
            },
        ],
        output: "numbers",
        cacheable: true,
    },
    KindInfo {
        name: "scale",
        doc: "Multiply or divide every number by a factor",
        version: 1,
        inputs: &[Port {
            name: "x",
            accepts: NUMBERS,
            optional: false,
        }],
        output: "numbers",
        cacheable: true,
    },
    KindInfo {
        name: "sleep",
        doc: "Wait some seconds, then pass the input through",
        version: 1,
        inputs: &[Port {
            name: "x",
            accepts: NUMBERS,
            optional: true,
        }],
        output: "numbers",
        cacheable: true,
    },
    KindInfo {
        name: "fail",
        doc: "Always fail (user error, internal error or panic)",
        version: 1,
        inputs: &[Port {
            name: "x",
            accepts: NUMBERS,
            optional: true,
        }],
        output: "numbers",
        cacheable: true,
    },
    KindInfo {
        name: "text",
        doc: "A string (artifact type `text`)",
        version: 1,
        inputs: &[],
        output: "text",
        cacheable: true,
    },
    KindInfo {
        name: "load",
        doc: "Numbers read from a user file, one per line",
        version: 1,
        inputs: &[],
        output: "numbers",
        cacheable: true,
    },
    KindInfo {
        name: "export",
        doc: "Write the input's numbers to a user path (runs every time)",
        version: 1,
        inputs: &[Port {
            name: "x",
            accepts: NUMBERS,
            optional: false,
        }],
        output: "exported",
        cacheable: false,
    },
];

/// The toy registry.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToyRegistry;

/// A `'static` instance, for `cli::AppInfo`.
pub static TOY: ToyRegistry = ToyRegistry;

fn schema_of<T: schemars::JsonSchema>() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(serde_json::Value::Null)
}

fn typed<T: serde::de::DeserializeOwned>(kind: &str, config: &toml::Table) -> Result<T, NodeError> {
    crate::node::typed(config).map_err(|e| NodeError::internal(format!("{kind}: {e}")))
}

impl Registry for ToyRegistry {
    fn kinds(&self) -> &'static [KindInfo] {
        KINDS
    }

    fn resolve(&self, kind: &str, raw: toml::Table) -> Result<toml::Table, Vec<ConfigIssue>> {
        match kind {
            "const" => resolve_typed::<ConstConfig>(raw),
            "random" => resolve_typed::<RandomConfig>(raw),
            "add" => resolve_typed::<AddConfig>(raw),
            "scale" => resolve_typed::<ScaleConfig>(raw),
            "sleep" => resolve_typed::<SleepConfig>(raw),
            "fail" => resolve_typed::<FailConfig>(raw),
            "text" => resolve_typed::<TextConfig>(raw),
            "load" => resolve_typed::<LoadConfig>(raw),
            "export" => resolve_typed::<ExportConfig>(raw),
            other => Err(vec![ConfigIssue {
                path: String::new(),
                message: format!("unknown toy kind `{other}`"),
            }]),
        }
    }

    fn schema(&self, kind: &str) -> serde_json::Value {
        match kind {
            "const" => schema_of::<ConstConfig>(),
            "random" => schema_of::<RandomConfig>(),
            "add" => schema_of::<AddConfig>(),
            "scale" => schema_of::<ScaleConfig>(),
            "sleep" => schema_of::<SleepConfig>(),
            "fail" => schema_of::<FailConfig>(),
            "text" => schema_of::<TextConfig>(),
            "load" => schema_of::<LoadConfig>(),
            "export" => schema_of::<ExportConfig>(),
            _ => serde_json::Value::Null,
        }
    }

    fn external_fingerprint(
        &self,
        kind: &str,
        config: &toml::Table,
    ) -> Result<Option<String>, NodeError> {
        match kind {
            "load" => load_fingerprint(&typed(kind, config)?).map(Some),
            _ => Ok(None),
        }
    }

    fn run(
        &self,
        kind: &str,
        config: &toml::Table,
        ctx: &NodeContext,
    ) -> Result<Metrics, NodeError> {
        match kind {
            "const" => write_numbers(ctx, &typed::<ConstConfig>(kind, config)?.values),
            "random" => write_numbers(
                ctx,
                &random_values(ctx.seed, &typed::<RandomConfig>(kind, config)?),
            ),
            "add" => {
                let c: AddConfig = typed(kind, config)?;
                let a = read_numbers(ctx, "a")?;
                let b = if ctx.inputs.contains_key("b") {
                    Some(read_numbers(ctx, "b")?)
                } else {
                    None
                };
                write_numbers(ctx, &add(&a, b.as_deref(), c.offset)?)
            }
            "scale" => write_numbers(
                ctx,
                &scale(&read_numbers(ctx, "x")?, &typed(kind, config)?)?,
            ),
            "sleep" => {
                let c: SleepConfig = typed(kind, config)?;
                std::thread::sleep(std::time::Duration::from_secs_f64(
                    c.seconds.clamp(0.0, 3600.0),
                ));
                let values = if ctx.inputs.contains_key("x") {
                    read_numbers(ctx, "x")?
                } else {
                    vec![c.seconds]
                };
                write_numbers(ctx, &values)
            }
            "fail" => {
                let c: FailConfig = typed(kind, config)?;
                match c.error {
                    FailMode::User => Err(NodeError::user(c.message)),
                    FailMode::Internal => Err(NodeError::internal(c.message)),
                    FailMode::Panic => panic!("{}", c.message),
                }
            }
            "text" => write_text(ctx, &typed::<TextConfig>(kind, config)?.text),
            "load" => write_numbers(ctx, &load(&typed(kind, config)?)?),
            "export" => export(ctx, &typed(kind, config)?),
            other => Err(NodeError::internal(format!("unknown toy kind `{other}`"))),
        }
    }
}

macro_rules! builtin {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../toy/", $path)))),*]
    };
}

/// The toy binary's built-in config groups and pipelines (relative path, contents).
pub static BUILTIN: &[(&str, &str)] = builtin![
    "configs/source/small.toml",
    "configs/source/big.toml",
    "configs/experiment/big_source.toml",
    "pipelines/toy.toml",
    "pipelines/loop.toml",
    "pipelines/slow.toml",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn table(src: &str) -> toml::Table {
        src.parse().expect("test TOML parses")
    }

    #[test]
    fn resolve_fills_defaults_and_is_canonical() {
        let t = TOY
            .resolve("scale", table("factor = 3.0"))
            .expect("valid config");
        assert_eq!(t, table("factor = 3.0\nop = 'mul'"));
        assert_eq!(TOY.resolve("scale", t.clone()).ok(), Some(t));
    }

    #[test]
    fn resolve_names_the_key_at_fault() {
        let unknown = TOY
            .resolve("scale", table("factr = 3.0"))
            .expect_err("unknown key");
        assert!(
            unknown[0].message.contains("unknown field `factr`"),
            "{unknown:?}"
        );
        let wrong = TOY
            .resolve("scale", table("op = 'pow'"))
            .expect_err("bad enum");
        assert_eq!(wrong[0].path, "op");
        assert!(
            wrong[0].message.contains("mul") && wrong[0].message.contains("div"),
            "{wrong:?}"
        );
        let missing = TOY
            .resolve("load", toml::Table::new())
            .expect_err("missing path");
        assert!(
            missing[0].message.contains("missing field `path`"),
            "{missing:?}"
        );
    }

    #[test]
    fn every_kind_resolves_its_defaults_or_names_required_keys_and_has_a_schema() {
        for k in KINDS {
            let raw = if matches!(k.name, "load" | "export") {
                table("path = 'x'")
            } else {
                toml::Table::new()
            };
            assert!(TOY.resolve(k.name, raw).is_ok(), "{}", k.name);
            assert!(TOY.schema(k.name).is_object(), "{}", k.name);
        }
    }

    #[test]
    fn builtin_files_are_valid_toml() {
        for (path, text) in BUILTIN {
            assert!(text.parse::<toml::Table>().is_ok(), "{path}");
        }
    }
}
