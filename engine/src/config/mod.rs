//! Config composition (Hydra semantics over TOML files): where files come from
//! ([`ConfigSources`]), the override grammar ([`parse_override`]), composing one job's tree with
//! provenance ([`compose`]), sweeps ([`expand_sweep`]) and run-directory names
//! ([`override_dirname`]). Turning a [`Composed`] tree into typed structs is `crate::spec_parse`.

mod apply;
mod compose;
mod defaults;
mod error;
mod interp;
mod overrides;
mod provenance;
mod sources;
mod sweep;
mod tree;
mod value;

pub use apply::TOP_LEVEL;
pub use compose::{Composed, compose, compose_with_env};
pub use error::{ConfigError, ConfigErrors, nearest};
pub use interp::EnvLookup;
pub use overrides::{Num, Override, OverrideValue, Sweep, parse_override};
pub use provenance::{Provenance, Source};
pub use sources::{Builtin, ConfigFile, ConfigSources};
pub use sweep::{MAX_JOBS, SweepMode, expand_sweep, glob_match, has_sweep, override_dirname};
pub use tree::get as get_path;
pub use value::{is_dotted_key, is_ident, parse_value, render_value, render_value_bare};
