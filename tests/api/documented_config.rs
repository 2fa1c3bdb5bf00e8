//! `deploy/config/user-service.toml` documents every key with its default.
use std::{collections::HashMap, path::Path};

use user_service::settings::{self, Settings};

fn leaf_keys(table: &toml::Table, prefix: &str, keys: &mut Vec<String>) {
    for (key, value) in table {
        let path = format!("{prefix}{key}");
        match value {
            toml::Value::Table(child) => leaf_keys(child, &format!("{path}."), keys),
            _ => keys.push(path),
        }
    }
}

fn keys_of(text: &str) -> Vec<String> {
    let table: toml::Table = text.parse().expect("valid TOML");
    let mut keys = Vec::new();
    leaf_keys(&table, "", &mut keys);
    keys.sort();
    keys
}

const DOCUMENTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/deploy/config/user-service.toml"
);

#[test]
fn the_documented_config_holds_exactly_the_defaults() {
    let loaded = settings::load(Some(Path::new(DOCUMENTED)), &HashMap::new(), &[])
        .expect("the documented file loads");
    assert_eq!(loaded, Settings::default());
}

#[test]
fn the_documented_config_names_every_key_and_its_variable() {
    let text = std::fs::read_to_string(DOCUMENTED).expect("readable");
    let defaults = Settings::default().to_toml().expect("serialises");
    assert_eq!(keys_of(&text), keys_of(&defaults));
    for key in keys_of(&defaults) {
        let variable = format!("USER_SERVICE__{}", key.replace('.', "__").to_uppercase());
        assert!(text.contains(&variable), "{variable} is not documented");
    }
}
