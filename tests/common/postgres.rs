//! A throwaway PostgreSQL server for tests, from the distribution's server
//! binaries (Debian: the `postgresql` package): `initdb` into a directory of
//! its own, `postgres` on a free port on 127.0.0.1, run as `nobody` when the
//! tests run as root. TCP connections need the superuser's password
//! ([`PASSWORD`], scram-sha-256), so the service's password settings are
//! exercised. One shared server per test binary, one fresh database per
//! test; outage tests start one of their own to stop and start again.
//!
//! The server dies with the test process: it is started through `setpriv
//! --pdeathsig QUIT` from a thread that lives as long as it does, and a later
//! run removes the directories of servers whose test process is gone.
#![allow(dead_code)] // each test binary uses its own subset

use std::{
    net::{Ipv4Addr, SocketAddr, TcpStream},
    path::PathBuf,
    process::Stdio,
    sync::{OnceLock, mpsc},
    time::{Duration, Instant},
};

use sqlx::{Connection, PgConnection};

#[path = "postgres_host.rs"]
mod host;

pub(crate) use host::binaries;
use host::{as_server_user, free_port, remove_abandoned, unprivileged};

/// The superuser's password on every test server (they are throwaway and
/// listen on 127.0.0.1 only).
pub(crate) const PASSWORD: &str = "throwaway-test-password";
/// Set it to a directory holding `initdb` and `postgres` to choose them.
pub(crate) const BIN_VARIABLE: &str = "USER_SERVICE_TEST_PG_BIN";
/// How long a server may take to start or stop.
const START_BOUND: Duration = Duration::from_secs(30);
/// The prefix of every server's directory under the temporary directory.
const DIR_PREFIX: &str = "user-service-pg-";

/// One running (or stopped) PostgreSQL server.
pub(crate) struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Whether this one is dropped (and so stopped and removed) by its test.
    owned: bool,
}

impl PgServer {
    /// The server this test binary shares, started on first use; `None`
    /// when PostgreSQL is not installed.
    pub(crate) fn shared() -> Option<&'static PgServer> {
        static SHARED: OnceLock<Option<PgServer>> = OnceLock::new();
        SHARED
            .get_or_init(|| binaries().map(|bin| Self::init(bin, false)))
            .as_ref()
    }

    /// A server of the test's own, stopped and removed when dropped.
    pub(crate) fn own() -> Option<PgServer> {
        binaries().map(|bin| Self::init(bin, true))
    }

    fn init(bin: PathBuf, owned: bool) -> Self {
        remove_abandoned();
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for the server");
        if let Some((uid, gid)) = unprivileged() {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown to nobody");
        }
        let data = dir.join("data");
        let password_file = dir.join("password");
        std::fs::write(&password_file, PASSWORD).expect("the password file");
        if let Some((uid, gid)) = unprivileged() {
            std::os::unix::fs::chown(&password_file, Some(uid), Some(gid)).expect("chown");
        }
        let initdb = as_server_user(&bin.join("initdb"))
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .args(["-E", "UTF8", "--no-sync", "--no-instructions"])
            .arg(format!("--pwfile={}", password_file.display()))
            .arg("-D")
            .arg(&data)
            .current_dir(&dir)
            .output()
            .expect("initdb runs");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let mut server = Self {
            bin,
            dir,
            port: 0,
            owned,
        };
        // A free port may be taken by someone else before the server binds
        // it: a few tries on fresh ports.
        for _ in 0..3 {
            server.port = free_port();
            if server.try_start() {
                return server;
            }
        }
        panic!("PostgreSQL did not start: {}", server.log_tail());
    }

    /// The port it listens on (127.0.0.1).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// A URL of database `name` as the superuser, without the password (as
    /// `store.url` takes it; the password goes in `store.password`).
    pub(crate) fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The same with the password, for the tests' own connections.
    pub(crate) fn admin_url(&self, name: &str) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/{name}",
            self.port
        )
    }

    /// Store settings for the database `url` names, with the password.
    pub(crate) fn store_settings(&self, url: &str) -> user_service::settings::StoreSettings {
        user_service::settings::StoreSettings {
            url: url.to_owned(),
            password: user_service::settings::Secret::new(PASSWORD),
            ..Default::default()
        }
    }

    /// Creates a fresh, empty database named by a UUID; returns its URL.
    pub(crate) async fn fresh_database(&self) -> String {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&self.admin_url("postgres"))
            .await
            .expect("the test server accepts connections");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("a fresh database");
        conn.close().await.expect("closed");
        self.url(&name)
    }

    /// Starts the server (again) on its port; waits until it accepts
    /// connections.
    pub(crate) fn start(&self) {
        assert!(self.try_start(), "PostgreSQL restarts: {}", self.log_tail());
    }

    /// Stops the server: fast shutdown (clients are disconnected at once,
    /// what was committed stays), waiting until it is down.
    pub(crate) fn stop(&self) {
        let status = as_server_user(&self.bin.join("pg_ctl"))
            .args(["stop", "-m", "fast", "-w", "-t", "30", "-D"])
            .arg(self.dir.join("data"))
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl runs");
        assert!(status.success(), "PostgreSQL stops: {}", self.log_tail());
    }

    fn try_start(&self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("postgres.log"))
            .expect("a log file");
        let mut command = as_server_user(&self.bin.join("postgres"));
        command
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=300",
            ])
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "shared_buffers=32MB"])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // The thread that starts the server waits for it, so the parent
        // death signal fires only when the test process ends.
        let (exited, ended) = mpsc::channel();
        std::thread::spawn(move || {
            let status = command.spawn().and_then(|mut child| child.wait());
            let _ = exited.send(status);
        });
        let deadline = Instant::now() + START_BOUND;
        while Instant::now() < deadline {
            if ended.try_recv().is_ok() {
                return false;
            }
            if self.accepts() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        false
    }

    /// True once the server listens and says it is ready.
    fn accepts(&self) -> bool {
        let ready = std::fs::read_to_string(self.dir.join("data/postmaster.pid"))
            .is_ok_and(|pid| pid.lines().any(|line| line.trim() == "ready"));
        ready
            && TcpStream::connect_timeout(
                &SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
                Duration::from_secs(1),
            )
            .is_ok()
    }

    /// The end of the server's log, for failure messages.
    pub(crate) fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.owned {
            let _ = as_server_user(&self.bin.join("pg_ctl"))
                .args(["stop", "-m", "immediate", "-w", "-D"])
                .arg(self.dir.join("data"))
                .current_dir(&self.dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
