//! Wires the pieces: command line → settings → logging → server → exit code.
use std::{collections::HashMap, process::ExitCode, time::Duration};

use clap::{Parser, error::ErrorKind};
use user_service::{
    cli::{Cli, Command, HealthcheckArgs, SettingsArgs},
    healthcheck,
    server::{Application, signals::ShutdownSignals},
    settings::Settings,
    telemetry,
};

/// mimalloc, not the system allocator: a call allocates a few dozen times,
/// and mimalloc's fast path takes a fraction of glibc's instructions
/// (BENCHMARKS.md, "Telemetry on: the cost per call").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// sysexits.h EX_USAGE: the command line is wrong.
const EXIT_USAGE: u8 = 64;
/// sysexits.h EX_CONFIG: the settings are wrong.
const EXIT_CONFIG: u8 = 78;
/// grpc_health_probe's exit code for bad arguments.
const EXIT_PROBE_BAD_ARGUMENTS: u8 = 1;
/// How long exiting may wait for buffered telemetry to reach the collector.
const TELEMETRY_FLUSH_BOUND: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    match cli.command {
        None => serve(&cli.settings),
        Some(Command::Serve(args)) => serve(&args),
        Some(Command::Config(args)) => print_config(&args),
        Some(Command::Migrate(args)) => migrate(&args),
        Some(Command::Healthcheck(args)) => check_health(&args),
    }
}

fn usage_error(err: &clap::Error) -> ExitCode {
    let _ = err.print();
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
        // healthcheck keeps grpc_health_probe's exit codes, where 2 would
        // mean "connection failure".
        _ if std::env::args().nth(1).as_deref() == Some("healthcheck") => {
            ExitCode::from(EXIT_PROBE_BAD_ARGUMENTS)
        }
        _ => ExitCode::from(EXIT_USAGE),
    }
}

fn load_settings(args: &SettingsArgs) -> Result<Settings, ExitCode> {
    args.load().map_err(|err| {
        eprintln!("user-service: {err}");
        ExitCode::from(EXIT_CONFIG)
    })
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn serve(args: &SettingsArgs) -> ExitCode {
    let settings = match load_settings(args) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("user-service: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let env: HashMap<String, String> = std::env::vars().collect();
    // Exporters run on a runtime of their own (see telemetry::init).
    let telemetry = match telemetry::init(&settings, &env) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("user-service: {err:#}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let result = runtime.block_on(run(settings));
    // Flushed once serving has stopped, within a bound.
    telemetry.shutdown(TELEMETRY_FLUSH_BOUND);
    // Connections cut off by the drain timeout must not delay exit.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => {
            tracing::info!("shutdown.complete");
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "server.failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::install()?;
    let app = Application::build(settings).await?;
    let shutdown = async move {
        let signal = signals.recv().await;
        tracing::info!(signal = signal.name(), "shutdown.signal");
        tokio::spawn(async move {
            let signal = signals.recv().await;
            tracing::warn!(
                signal = signal.name(),
                "shutdown.forced: second signal, exiting now"
            );
            std::process::exit(signal.exit_code());
        });
    };
    app.run_until(shutdown).await
}

fn print_config(args: &SettingsArgs) -> ExitCode {
    let settings = match load_settings(args) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    match settings.to_toml() {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("user-service: cannot print settings: {err}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(args: &SettingsArgs) -> ExitCode {
    let settings = match load_settings(args) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let result = match runtime() {
        Ok(runtime) => runtime.block_on(user_service::store::migrate(&settings.store)),
        Err(err) => Err(err.into()),
    };
    match result {
        Ok(()) => {
            eprintln!("user-service: migrations applied");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("user-service: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_health(args: &HealthcheckArgs) -> ExitCode {
    let addr = args.addr.clone().unwrap_or_else(|| {
        let settings_args = SettingsArgs {
            config: args.config.clone(),
            ..SettingsArgs::default()
        };
        // Unloadable settings mean the server is not running with them
        // either: probe the built-in default port.
        let listen = settings_args.load().unwrap_or_default().server.addr;
        healthcheck::default_addr(listen)
    });
    let outcome = match runtime() {
        Ok(runtime) => runtime.block_on(healthcheck::probe(
            &addr,
            &args.service,
            args.timeout,
            &args.tls,
        )),
        Err(err) => healthcheck::ProbeOutcome::ConnectionFailure(err.to_string()),
    };
    outcome.report()
}
