//! Layering: built-in defaults → config file → `USER_SERVICE__*` variables →
//! command-line flags, later wins. Every error names the key and its source.
use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

use config::{Config, ConfigError, Environment, File, Source, Value, ValueKind};

use super::{Settings, validate::validate};

/// Prefix of the variables that override settings: `USER_SERVICE__SERVER__ADDR`.
pub const ENV_PREFIX: &str = "USER_SERVICE";
/// Separator between the prefix, sections and keys of those variables.
const ENV_SEPARATOR: &str = "__";
/// The variable naming the config file when `--config` is not given.
pub const CONFIG_FILE_VARIABLE: &str = "USER_SERVICE_CONFIG";
/// The origin the `config` crate gives to values read from variables.
const ENV_ORIGIN: &str = "the environment";
const FILE_EXTENSIONS: [&str; 4] = ["toml", "yaml", "yml", "json"];

/// A setting given on the command line, e.g. `--addr` for `server.addr`.
#[derive(Debug, Clone)]
pub struct FlagOverride {
    /// The dotted setting key.
    pub key: &'static str,
    /// The flag as the user typed it, for error messages.
    pub flag: &'static str,
    /// The raw value.
    pub value: String,
}

/// Why the settings could not be loaded. The message is meant for an operator.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The config file is missing, unreadable or not valid TOML/YAML/JSON.
    #[error("cannot load config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A key that no setting has (often a typo).
    #[error("unknown setting `{key}` (from {origin})")]
    Unknown {
        /// The dotted key.
        key: String,
        /// Where it came from.
        origin: String,
    },
    /// A `USER_SERVICE__…` variable whose name has an empty part, such as
    /// `USER_SERVICE__` or `USER_SERVICE__SERVER__`: it names no setting.
    #[error(
        "environment variable {name} names no setting (expected {ENV_PREFIX}__SECTION__KEY, e.g. USER_SERVICE__SERVER__ADDR)"
    )]
    Variable {
        /// The variable as set.
        name: String,
    },
    /// A value of the wrong type or an impossible one.
    #[error("invalid setting `{key}` (from {origin}): {reason}")]
    Invalid {
        /// The dotted key.
        key: String,
        /// Where it came from.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Loads and validates the settings. `config_file` is the `--config` flag,
/// falling back to `USER_SERVICE_CONFIG` in `env`; `env` is the process
/// environment (passed in so tests need not mutate the real one).
pub fn load(
    config_file: Option<&Path>,
    env: &HashMap<String, String>,
    flags: &[FlagOverride],
) -> Result<Settings, SettingsError> {
    let file = config_file
        .map(Path::to_path_buf)
        .or_else(|| env.get(CONFIG_FILE_VARIABLE).map(PathBuf::from));
    check_variable_names(env)?;
    let defaults = Config::try_from(&Settings::default()).map_err(internal)?;
    let known_keys = flatten(collect(&defaults)?);

    let mut builder = Config::builder().add_source(defaults);
    if let Some(path) = &file {
        builder = builder.add_source(file_source(path)?);
    }
    builder = builder.add_source(
        Environment::with_prefix(ENV_PREFIX)
            .prefix_separator(ENV_SEPARATOR)
            .separator(ENV_SEPARATOR)
            .source(Some(env.clone().into_iter().collect())),
    );
    for flag in flags {
        builder = builder
            .set_override(flag.key, flag.value.clone())
            .map_err(internal)?;
    }
    let merged = builder.build().map_err(|err| match &file {
        Some(path) => SettingsError::File {
            path: path.clone(),
            reason: err.to_string(),
        },
        None => internal(err),
    })?;

    let values = flatten(collect(&merged)?);
    let origin_of = |key: &str| describe_origin(key, values.get(key), file.as_deref(), flags);
    if let Some((key, value)) = values
        .iter()
        .find(|(key, _)| !known_keys.contains_key(*key))
    {
        // Only a file can hold an empty table, and the crate records no
        // origin for one.
        let origin = match (value.origin(), &file) {
            (None, Some(path)) => format!("config file {}", path.display()),
            _ => origin_of(key),
        };
        return Err(SettingsError::Unknown {
            origin,
            key: key.clone(),
        });
    }

    let settings: Settings = serde_path_to_error::deserialize(merged).map_err(|err| {
        let key = err.path().to_string();
        SettingsError::Invalid {
            origin: origin_of(&key),
            reason: plain_reason(err.into_inner()),
            key,
        }
    })?;
    validate(&settings).map_err(|invalid| SettingsError::Invalid {
        key: invalid.key.to_owned(),
        origin: origin_of(invalid.key),
        reason: invalid.reason,
    })?;
    Ok(settings)
}

/// The `config` crate turns an empty part of a variable name into an empty
/// key, which would be reported as the unknown setting ``; name the variable
/// instead. Its prefix match ignores case, so this one does too.
fn check_variable_names(env: &HashMap<String, String>) -> Result<(), SettingsError> {
    let prefix = format!("{ENV_PREFIX}{ENV_SEPARATOR}");
    let mut malformed: Vec<&String> = env
        .keys()
        .filter(|name| {
            name.get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(&prefix))
                && name[prefix.len()..].split(ENV_SEPARATOR).any(str::is_empty)
        })
        .collect();
    malformed.sort();
    match malformed.first() {
        Some(name) => Err(SettingsError::Variable {
            name: (*name).clone(),
        }),
        None => Ok(()),
    }
}

fn file_source(
    path: &Path,
) -> Result<File<config::FileSourceFile, config::FileFormat>, SettingsError> {
    let extension = path.extension().and_then(|ext| ext.to_str()).unwrap_or("");
    if !FILE_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str()) {
        return Err(SettingsError::File {
            path: path.to_path_buf(),
            reason: "the name must end in .toml, .yaml, .yml or .json".to_owned(),
        });
    }
    Ok(File::from(path).required(true))
}

/// The environment variable that sets `key`.
pub(crate) fn env_variable_for(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{ENV_SEPARATOR}{}",
        key.replace('.', ENV_SEPARATOR).to_ascii_uppercase()
    )
}

fn describe_origin(
    key: &str,
    value: Option<&Value>,
    file: Option<&Path>,
    flags: &[FlagOverride],
) -> String {
    if let Some(flag) = flags.iter().rev().find(|flag| flag.key == key) {
        return format!("command-line flag {}", flag.flag);
    }
    match value.and_then(Value::origin) {
        Some(ENV_ORIGIN) => format!("environment variable {}", env_variable_for(key)),
        // The crate records a relativised path; name the file as the user did.
        Some(recorded) => match file {
            Some(path) => format!("config file {}", path.display()),
            None => format!("config file {recorded}"),
        },
        None => "built-in default".to_owned(),
    }
}

/// The `config` crate repeats key and origin in some messages; the caller
/// already names both, so keep only the reason.
fn plain_reason(err: ConfigError) -> String {
    match err {
        ConfigError::Type {
            unexpected,
            expected,
            ..
        } => format!("invalid type: {unexpected}, expected {expected}"),
        ConfigError::At { error, .. } => plain_reason(*error),
        other => other.to_string(),
    }
}

fn collect(config: &Config) -> Result<HashMap<String, Value>, SettingsError> {
    config
        .collect()
        .map(|map| map.into_iter().collect())
        .map_err(internal)
}

/// Dotted leaf keys (`server.addr`) with their values. An empty table is a
/// leaf too: no setting is one, so an unknown section such as `[serqer]` is
/// reported as an unknown key with its origin.
fn flatten(table: HashMap<String, Value>) -> BTreeMap<String, Value> {
    let mut leaves = BTreeMap::new();
    let mut pending: Vec<(String, Value)> = table.into_iter().collect();
    while let Some((key, value)) = pending.pop() {
        match value.kind {
            ValueKind::Table(children) if !children.is_empty() => pending.extend(
                children
                    .into_iter()
                    .map(|(child, value)| (format!("{key}.{child}"), value)),
            ),
            _ => {
                leaves.insert(key, value);
            }
        }
    }
    leaves
}

fn internal(err: ConfigError) -> SettingsError {
    SettingsError::Invalid {
        key: String::new(),
        origin: "settings loader".to_owned(),
        reason: err.to_string(),
    }
}
