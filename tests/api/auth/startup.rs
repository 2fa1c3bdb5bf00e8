//! Impossible `[auth]` settings stop the binary before it serves: exit 78,
//! naming the key and where it came from.
use crate::{helpers::bounded, process::command};

#[tokio::test]
async fn impossible_auth_settings_exit_78_naming_the_key() {
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("USER_SERVICE__AUTH__MODE", "jwt")], "auth.mode"),
        (
            &[
                ("USER_SERVICE__AUTH__MODE", "jwt"),
                ("USER_SERVICE__AUTH__JWKS_FILE", "/nonexistent/jwks.json"),
                ("USER_SERVICE__AUTH__ISSUER", "https://issuer.test"),
                ("USER_SERVICE__AUTH__AUDIENCES", "user-service"),
            ],
            "auth.jwks_file",
        ),
        (
            &[("USER_SERVICE__AUTH__ALGORITHMS", "RS256,HS256")],
            "USER_SERVICE__AUTH__ALGORITHMS",
        ),
    ];
    for (env, named) in cases {
        let output = bounded(command(&[], env).output()).await.expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(78), "{env:?}: {stderr}");
        assert!(stderr.contains(named), "{named:?} missing from {stderr:?}");
    }
}

#[tokio::test]
async fn auth_off_is_announced_by_a_warning_at_start_up() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let mut child = command(&["--addr", "127.0.0.1:0", "--log-format", "json"], &[])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut warned = false;
    while let Some(line) = bounded(lines.next_line()).await.expect("readable") {
        let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        warned |= entry["level"] == "WARN"
            && entry["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("auth.off"));
        if entry["message"] == "server.started" {
            break;
        }
    }
    assert!(warned, "no auth.off warning before server.started");
    child.kill().await.expect("stopped");
}
