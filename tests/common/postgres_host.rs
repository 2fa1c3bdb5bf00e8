//! What the throwaway PostgreSQL needs from the host: its binaries, an
//! unprivileged user when the tests run as root, a free port, and the
//! removal of directories left by test processes that have ended.

use std::{
    net::{Ipv4Addr, TcpListener},
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use super::{BIN_VARIABLE, DIR_PREFIX};

/// The directory of PostgreSQL's server binaries, when they are installed.
/// In CI (`CI=true`) their absence fails the test instead of skipping it.
pub(crate) fn binaries() -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = FOUND.get_or_init(find_binaries).clone();
    if found.is_none() && std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!(
            "PostgreSQL's server binaries (initdb, postgres) are required in CI: \
             install the postgresql package or set {BIN_VARIABLE}"
        );
    }
    found
}

fn find_binaries() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("postgres").is_file() && dir.join("initdb").is_file();
    if let Ok(dir) = std::env::var(BIN_VARIABLE) {
        return Some(PathBuf::from(dir)).filter(|dir| has_server(dir));
    }
    // Debian keeps them out of PATH, one directory per major version.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_server(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

/// A command for one of the server's binaries: as `nobody` when this
/// process is root (PostgreSQL refuses to run as root), and killed (SIGQUIT:
/// immediate shutdown) when the thread that started it ends.
pub(super) fn as_server_user(program: &Path) -> Command {
    let mut command = Command::new("setpriv");
    if let Some((uid, gid)) = unprivileged() {
        command.args([
            format!("--reuid={uid}"),
            format!("--regid={gid}"),
            "--clear-groups".to_owned(),
        ]);
    }
    command.args(["--pdeathsig", "QUIT", "--"]).arg(program);
    command
}

/// `nobody`'s uid and gid when this process runs as root.
pub(super) fn unprivileged() -> Option<(u32, u32)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let root = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .is_some_and(|uid| uid == "0");
    if !root {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let fields: Vec<&str> = passwd
        .lines()
        .find(|line| line.starts_with("nobody:"))?
        .split(':')
        .collect();
    Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
}

pub(super) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Removes the directories of servers whose test process has ended.
pub(super) fn remove_abandoned() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .filter(|pid| pid.parse::<u32>().is_ok())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
