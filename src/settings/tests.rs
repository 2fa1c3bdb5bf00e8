//! Layering and error reporting of [`super::load`].
use std::{collections::HashMap, io::Write, time::Duration};

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

fn file_with(suffix: &str, text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(suffix)
        .tempfile()
        .expect("temp file");
    file.write_all(text.as_bytes()).expect("write");
    file
}

fn flag(key: &'static str, flag: &'static str, value: &str) -> FlagOverride {
    FlagOverride {
        key,
        flag,
        value: value.to_owned(),
    }
}

#[test]
fn defaults_apply_when_nothing_is_given() {
    let settings = load(None, &env(&[]), &[]).expect("defaults load");
    assert_eq!(settings, Settings::default());
    assert_eq!(settings.server.addr.to_string(), "0.0.0.0:50051");
}

#[test]
fn a_file_overrides_defaults_and_keeps_the_rest() {
    let file = file_with(".toml", "[shutdown]\ngrace_period = \"250ms\"\n");
    let settings = load(Some(file.path()), &env(&[]), &[]).expect("file loads");
    assert_eq!(settings.shutdown.grace_period, Duration::from_millis(250));
    assert_eq!(settings.shutdown.drain_timeout, Duration::from_secs(10));
}

#[test]
fn yaml_and_json_files_are_read_by_extension() {
    let yaml = file_with(".yaml", "server:\n  reflection: false\n");
    let json = file_with(".json", r#"{"log": {"format": "json"}}"#);
    let from_yaml = load(Some(yaml.path()), &env(&[]), &[]).expect("yaml loads");
    let from_json = load(Some(json.path()), &env(&[]), &[]).expect("json loads");
    assert!(!from_yaml.server.reflection);
    assert_eq!(from_json.log.format, LogFormat::Json);
}

#[test]
fn the_config_file_variable_names_the_file_when_no_flag_does() {
    let file = file_with(".toml", "[server]\naddr = \"127.0.0.1:7000\"\n");
    let path = file.path().to_str().expect("utf-8 path");
    let settings = load(None, &env(&[(CONFIG_FILE_VARIABLE, path)]), &[]).expect("loads");
    assert_eq!(settings.server.addr.to_string(), "127.0.0.1:7000");
}

#[test]
fn a_variable_overrides_the_file_and_a_flag_overrides_the_variable() {
    let file = file_with(".toml", "[server]\naddr = \"127.0.0.1:7000\"\n");
    let vars = env(&[("USER_SERVICE__SERVER__ADDR", "127.0.0.1:7001")]);
    let settings = load(Some(file.path()), &vars, &[]).expect("loads");
    assert_eq!(settings.server.addr.to_string(), "127.0.0.1:7001");

    let flags = [flag("server.addr", "--addr", "127.0.0.1:7002")];
    let settings = load(Some(file.path()), &vars, &flags).expect("loads");
    assert_eq!(settings.server.addr.to_string(), "127.0.0.1:7002");
}

#[test]
fn variables_parse_booleans_and_durations_from_strings() {
    let vars = env(&[
        ("USER_SERVICE__SERVER__REFLECTION", "false"),
        ("USER_SERVICE__SHUTDOWN__DRAIN_TIMEOUT", "1m 30s"),
    ]);
    let settings = load(None, &vars, &[]).expect("loads");
    assert!(!settings.server.reflection);
    assert_eq!(settings.shutdown.drain_timeout, Duration::from_secs(90));
}

#[test]
fn an_unknown_key_in_a_file_names_the_key_and_the_file() {
    let file = file_with(".toml", "[server]\nreflektion = false\n");
    let err = load(Some(file.path()), &env(&[]), &[]).expect_err("unknown key");
    let message = err.to_string();
    assert!(message.contains("`server.reflektion`"), "{message}");
    assert!(
        message.contains(&file.path().display().to_string()),
        "{message}"
    );
}

#[test]
fn an_unknown_section_in_a_variable_names_the_variable() {
    let vars = env(&[("USER_SERVICE__SERVR__ADDR", "127.0.0.1:1")]);
    let message = load(None, &vars, &[]).expect_err("unknown key").to_string();
    assert!(message.contains("`servr.addr`"), "{message}");
    assert!(
        message.contains("environment variable USER_SERVICE__SERVR__ADDR"),
        "{message}"
    );
}

#[test]
fn a_bad_duration_names_the_key_and_the_variable() {
    let vars = env(&[("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "soon")]);
    let message = load(None, &vars, &[])
        .expect_err("bad duration")
        .to_string();
    assert!(message.contains("`shutdown.grace_period`"), "{message}");
    assert!(
        message.contains("environment variable USER_SERVICE__SHUTDOWN__GRACE_PERIOD"),
        "{message}"
    );
}

#[test]
fn a_bad_address_names_the_key_and_the_flag() {
    let flags = [flag("server.addr", "--addr", "localhost:50051")];
    let message = load(None, &env(&[]), &flags)
        .expect_err("bad address")
        .to_string();
    assert!(message.contains("`server.addr`"), "{message}");
    assert!(message.contains("command-line flag --addr"), "{message}");
}

#[test]
fn an_impossible_value_names_the_key_and_the_file() {
    let file = file_with(".toml", "[shutdown]\ndrain_timeout = \"0s\"\n");
    let message = load(Some(file.path()), &env(&[]), &[])
        .expect_err("zero drain")
        .to_string();
    assert!(message.contains("`shutdown.drain_timeout`"), "{message}");
    assert!(message.contains("config file"), "{message}");
}

#[test]
fn a_missing_or_misnamed_file_is_a_file_error() {
    let missing = std::path::Path::new("/nonexistent/user-service.toml");
    let err = load(Some(missing), &env(&[]), &[]).expect_err("missing file");
    assert!(matches!(err, SettingsError::File { .. }), "{err}");
    let ini = file_with(".ini", "x=1");
    let err = load(Some(ini.path()), &env(&[]), &[]).expect_err("bad extension");
    assert!(
        err.to_string().contains(".toml, .yaml, .yml or .json"),
        "{err}"
    );
}

#[test]
fn unrelated_variables_are_ignored() {
    let vars = env(&[("USER_SERVICE_CONFIG_UNUSED", "x"), ("PATH", "/bin")]);
    assert_eq!(load(None, &vars, &[]).expect("loads"), Settings::default());
}

#[test]
fn printed_settings_load_back_unchanged() {
    let mut settings = Settings::default();
    settings.shutdown.grace_period = Duration::from_millis(1500);
    let file = file_with(".toml", &settings.to_toml().expect("serialises"));
    assert_eq!(
        load(Some(file.path()), &env(&[]), &[]).expect("loads"),
        settings
    );
}

#[test]
fn sizes_come_as_units_or_plain_bytes_from_files_and_variables() {
    let file = file_with(".toml", "[limits]\nmax_decoding_message_size = \"1MiB\"\n");
    let vars = env(&[("USER_SERVICE__LIMITS__MAX_ENCODING_MESSAGE_SIZE", "65536")]);
    let settings = load(Some(file.path()), &vars, &[]).expect("loads");
    assert_eq!(settings.limits.max_decoding_message_size, 1 << 20);
    assert_eq!(settings.limits.max_encoding_message_size, 65_536);
}

#[test]
fn a_bad_size_names_the_key_and_the_variable() {
    let vars = env(&[("USER_SERVICE__LIMITS__MAX_HEADER_LIST_SIZE", "lots")]);
    let message = load(None, &vars, &[]).expect_err("bad size").to_string();
    assert!(
        message.contains("`limits.max_header_list_size`"),
        "{message}"
    );
    assert!(
        message.contains("environment variable USER_SERVICE__LIMITS__MAX_HEADER_LIST_SIZE"),
        "{message}"
    );
}

#[test]
fn an_impossible_limit_names_the_key_and_the_file() {
    let file = file_with(".toml", "[limits]\nmax_concurrent_calls = 0\n");
    let message = load(Some(file.path()), &env(&[]), &[])
        .expect_err("zero calls")
        .to_string();
    assert!(
        message.contains("`limits.max_concurrent_calls`"),
        "{message}"
    );
    assert!(message.contains("config file"), "{message}");
}

#[test]
fn an_unreadable_certificate_names_the_key_and_the_path() {
    let vars = env(&[
        ("USER_SERVICE__TLS__CERT_FILE", "/nonexistent/cert.pem"),
        ("USER_SERVICE__TLS__KEY_FILE", "/nonexistent/key.pem"),
    ]);
    let message = load(None, &vars, &[])
        .expect_err("no such file")
        .to_string();
    assert!(message.contains("`tls.cert_file`"), "{message}");
    assert!(message.contains("/nonexistent/cert.pem"), "{message}");
    assert!(
        message.contains("environment variable USER_SERVICE__TLS__CERT_FILE"),
        "{message}"
    );
}

#[test]
fn half_a_tls_configuration_is_rejected() {
    for (variable, key) in [
        ("USER_SERVICE__TLS__CERT_FILE", "`tls.key_file`"),
        ("USER_SERVICE__TLS__KEY_FILE", "`tls.cert_file`"),
        ("USER_SERVICE__TLS__CLIENT_CA_FILE", "`tls.client_ca_file`"),
    ] {
        let message = load(None, &env(&[(variable, "/some/file.pem")]), &[])
            .expect_err("incomplete TLS")
            .to_string();
        assert!(message.contains(key), "{variable}: {message}");
    }
}

#[test]
fn a_variable_with_an_empty_name_part_is_named_in_the_error() {
    for name in [
        "USER_SERVICE__",
        "USER_SERVICE__SERVER__",
        "USER_SERVICE____ADDR",
        "user_service__",
    ] {
        let err = load(None, &env(&[(name, "x")]), &[]).expect_err("names no setting");
        assert!(
            matches!(&err, SettingsError::Variable { name: named } if named == name),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains(name), "{err}");
    }
    // The config file variable and unrelated ones are not setting overrides.
    load(
        None,
        &env(&[("USER_SERVICE_", "x"), ("USER_SERVICEX", "y")]),
        &[],
    )
    .expect("not overrides");
}

#[test]
fn an_empty_unknown_section_is_named_with_its_file() {
    for (suffix, text, key) in [
        (".toml", "[serqer]\n", "serqer"),
        (".toml", "[server.x]\n", "server.x"),
        (".yaml", "serqer: {}\n", "serqer"),
        (".json", "{\"serqer\": {}}", "serqer"),
    ] {
        let file = file_with(suffix, text);
        let err = load(Some(file.path()), &env(&[]), &[]).expect_err("unknown section");
        assert!(
            matches!(&err, SettingsError::Unknown { key: named, origin }
                if named == key && origin.contains(&file.path().display().to_string())),
            "{text}: {err}"
        );
    }
}
