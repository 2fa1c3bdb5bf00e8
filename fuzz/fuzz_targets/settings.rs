//! The settings loader driven the way operators drive it: a config file
//! (TOML, YAML or JSON by extension, named by `--config` or
//! `USER_SERVICE_CONFIG`), `USER_SERVICE__…` variables and the command-line
//! flags, all from one structured input.
//!
//! Properties: `load` never panics; an error names the file (file errors) or
//! a setting key (every other error), and where the value came from; loaded
//! settings written back as TOML load again to the same settings (what
//! `user-service config` promises), except that a printed `[redacted]`
//! secret is refused by name.
//!
//! Values may say `@PEM@` for the path of a file whose bytes are part of the
//! input, so the TLS checks read fuzzed PEM rather than stopping at "cannot
//! read". Inputs naming `/dev`, `/proc` or `/sys` are skipped: the TLS keys
//! read whatever path they are given, and `/dev/zero` or `/dev/stdin` would
//! only measure the machine.
#![no_main]

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::OnceLock,
};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use user_service::settings::{
    CONFIG_FILE_VARIABLE, ENV_PREFIX, FlagOverride, REDACTED, Settings, SettingsError, load,
};

/// Stands for the fuzzed PEM file's path in bodies and values.
const PEM_PLACEHOLDER: &str = "@PEM@";
const ORIGINS: [&str; 3] = [
    "config file ",
    "environment variable ",
    "command-line flag ",
];

/// Laid out for libFuzzer's `arbitrary_take_rest`: a few bytes of choices,
/// then the rest of the input is the file body, so a seed is a short header
/// followed by a real config file.
#[derive(Arbitrary, Debug)]
struct Input {
    file: Option<ConfigFile>,
    variables: Vec<Variable>,
    flags: Vec<Flag>,
    pem: Option<String>,
    /// The config file's contents, when there is a file.
    body: String,
}

#[derive(Arbitrary, Debug)]
struct ConfigFile {
    extension: Extension,
    /// `--config PATH`, or else `USER_SERVICE_CONFIG`.
    by_flag: bool,
}

/// The accepted extensions in both cases, plus ones that must be refused.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Extension {
    Toml,
    Yaml,
    Yml,
    Json,
    UpperToml,
    Txt,
    Missing,
}

impl Extension {
    fn file_name(self) -> &'static str {
        match self {
            Self::Toml => "user-service.toml",
            Self::Yaml => "user-service.yaml",
            Self::Yml => "user-service.yml",
            Self::Json => "user-service.json",
            Self::UpperToml => "user-service.TOML",
            Self::Txt => "user-service.txt",
            Self::Missing => "user-service",
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Variable {
    name: VariableName,
    value: String,
}

#[derive(Arbitrary, Debug)]
enum VariableName {
    /// The variable of a real setting (index into [`keys`]).
    Key(u8),
    /// `USER_SERVICE__` followed by anything: typos, sections, nesting.
    Suffix(String),
}

#[derive(Arbitrary, Debug)]
struct Flag {
    kind: FlagKind,
    value: String,
}

/// The flags `user-service` maps onto settings (src/cli.rs).
#[derive(Arbitrary, Debug)]
enum FlagKind {
    Addr,
    LogFormat,
    LogLevel,
}

impl FlagKind {
    fn key_and_flag(&self) -> (&'static str, &'static str) {
        match self {
            Self::Addr => ("server.addr", "--addr"),
            Self::LogFormat => ("log.format", "--log-format"),
            Self::LogLevel => ("log.level", "--log-level"),
        }
    }
}

/// Every dotted setting key, read from the defaults so it follows the code.
fn keys() -> &'static [String] {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let table = toml::Table::try_from(Settings::default()).expect("defaults serialize");
        let mut keys = Vec::new();
        for (section, value) in table {
            let toml::Value::Table(fields) = value else {
                panic!("top-level setting `{section}` is not a section");
            };
            keys.extend(fields.keys().map(|field| format!("{section}.{field}")));
        }
        keys
    })
}

/// A directory of this process's own, reused by every input.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("user-service-fuzz-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

fn variable_for(key: &str) -> String {
    format!(
        "{ENV_PREFIX}__{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

fn touches_devices(text: &str) -> bool {
    ["/dev", "/proc", "/sys"]
        .iter()
        .any(|root| text.contains(root))
}

fn check_error(err: &SettingsError, file: Option<&Path>) {
    let message = err.to_string();
    assert!(!message.trim().is_empty(), "empty message for {err:?}");
    match err {
        SettingsError::File { path, reason } => {
            assert_eq!(Some(path.as_path()), file, "names another file: {message}");
            assert!(
                message.contains(&path.display().to_string()),
                "the file is not named: {message}"
            );
            assert!(!reason.trim().is_empty(), "no reason: {message}");
        }
        SettingsError::Unknown { key, origin } => {
            assert!(!key.is_empty(), "no key: {message}");
            assert!(message.contains(key.as_str()), "key not named: {message}");
            assert!(
                ORIGINS.iter().any(|prefix| origin.starts_with(prefix)),
                "an unknown key must come from the file, a variable or a flag: {message}"
            );
        }
        SettingsError::Variable { name } => {
            assert!(
                name.to_ascii_uppercase().starts_with(ENV_PREFIX),
                "not one of ours: {message}"
            );
            assert!(
                message.contains(name.as_str()),
                "variable not named: {message}"
            );
        }
        SettingsError::Invalid {
            key,
            origin,
            reason,
        } => {
            assert!(
                keys().contains(key),
                "an invalid value must name a real setting, not `{key}`: {message}"
            );
            assert!(message.contains(key.as_str()), "key not named: {message}");
            assert!(!origin.trim().is_empty(), "no origin: {message}");
            assert!(!reason.trim().is_empty(), "no reason: {message}");
        }
    }
}

/// What `user-service config` prints must load back to the same settings;
/// a secret that was set prints as `[redacted]` (by design), and loading
/// that placeholder back is refused, naming a key printed with it.
fn check_round_trip(settings: &Settings) {
    let printed = toml::to_string(settings).expect("loaded settings serialize");
    let path = scratch().join("printed.toml");
    std::fs::write(&path, &printed).expect("write the printed settings");
    match load(Some(&path), &HashMap::new(), &[]) {
        Ok(again) => assert_eq!(&again, settings, "printed as:\n{printed}"),
        Err(SettingsError::Invalid { key, reason, .. }) if reason.contains(REDACTED) => {
            let table: toml::Table = printed.parse().expect("the printed settings are TOML");
            let (section, field) = key.split_once('.').expect("keys are section.field");
            let value = table.get(section).and_then(|fields| fields.get(field));
            assert_eq!(
                value.and_then(toml::Value::as_str),
                Some(REDACTED),
                "`{key}` refused as redacted but not printed so:\n{printed}"
            );
        }
        Err(err) => panic!("printed settings do not load back: {err}\n{printed}"),
    }
}

fuzz_target!(|input: Input| {
    let dir = scratch();
    let pem_path = dir.join("tls.pem");
    let pem_text = pem_path.display().to_string();
    let substitute = |text: &str| text.replace(PEM_PLACEHOLDER, &pem_text);

    let texts = [input.body.as_str()]
        .into_iter()
        .chain(input.variables.iter().flat_map(|variable| {
            let name = match &variable.name {
                VariableName::Suffix(suffix) => Some(suffix.as_str()),
                VariableName::Key(_) => None,
            };
            name.into_iter().chain([variable.value.as_str()])
        }))
        .chain(input.flags.iter().map(|flag| flag.value.as_str()));
    for text in texts {
        if touches_devices(text) {
            return;
        }
    }

    match &input.pem {
        Some(bytes) => std::fs::write(&pem_path, bytes).expect("write the PEM file"),
        None => {
            let _ = std::fs::remove_file(&pem_path);
        }
    }

    let mut env = HashMap::new();
    for variable in &input.variables {
        let name = match &variable.name {
            VariableName::Key(index) => {
                let keys = keys();
                variable_for(&keys[usize::from(*index) % keys.len()])
            }
            VariableName::Suffix(suffix) => format!("{ENV_PREFIX}__{suffix}"),
        };
        env.insert(name, substitute(&variable.value));
    }
    let flags: Vec<FlagOverride> = input
        .flags
        .iter()
        .map(|flag| {
            let (key, name) = flag.kind.key_and_flag();
            FlagOverride {
                key,
                flag: name,
                value: substitute(&flag.value),
            }
        })
        .collect();

    let mut config_flag = None;
    let mut file = None;
    if let Some(config) = &input.file {
        let path = dir.join(config.extension.file_name());
        std::fs::write(&path, substitute(&input.body)).expect("write the config file");
        match config.by_flag {
            true => config_flag = Some(path.clone()),
            false => {
                env.insert(CONFIG_FILE_VARIABLE.to_owned(), path.display().to_string());
            }
        }
        file = Some(path);
    }

    match load(config_flag.as_deref(), &env, &flags) {
        Ok(settings) => check_round_trip(&settings),
        Err(err) => check_error(&err, file.as_deref()),
    }
});
