//! A load generator for `user.v1.UserService`, for benchmarks: a fixed body
//! (h2load) cannot create distinct users or pick random ones.
//!
//! usage:
//!   directory_load load ADDR get|create|list [--connections C] [--streams S]
//!                  [--duration SECS | --calls N] [--warmup SECS] [--list first|random]
//!   directory_load page ADDR PAGE_SIZE     time one full listing, page by page
//!
//! `load` opens C connections and keeps S calls in flight on each. For get
//! and `list --list random` it first walks the listing (pages of 50) to learn
//! the stored names and page tokens, then picks among them at random; `list
//! --list first` always asks for the first page (with `--calls 1`: a
//! readiness probe). Every CreateUser has an email of its own. Each mode
//! prints one JSON line; every call and the whole run are bounded in time.
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use clap::{Parser, Subcommand, ValueEnum};
use tonic::transport::{Channel, Endpoint};
use user_service::proto::v1::{
    CreateUserRequest, GetUserRequest, ListUsersRequest, User,
    user_service_client::UserServiceClient,
};

/// Bound on one call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on the pages of one walk through the listing.
const MAX_PAGES: usize = 100_000;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Calls under load.
    Load(LoadArgs),
    /// One full listing (active users, default order), page by page.
    Page { addr: String, page_size: i32 },
}

#[derive(clap::Args)]
struct LoadArgs {
    addr: String,
    op: Op,
    #[arg(long, default_value_t = 8)]
    connections: usize,
    #[arg(long, default_value_t = 16)]
    streams: usize,
    /// Seconds of the timed phase (after the warm-up).
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Instead of a duration: this many calls, no warm-up.
    #[arg(long)]
    calls: Option<u64>,
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    #[arg(long, value_enum, default_value_t = ListFrom::Random)]
    list: ListFrom,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Op {
    Get,
    Create,
    List,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListFrom {
    First,
    Random,
}

/// What every caller of one run shares.
struct Run {
    op: Op,
    /// The stored users' names (GetUser picks among them).
    names: Vec<String>,
    /// Page tokens, and "" for the first page (ListUsers picks among them).
    tokens: Vec<String>,
    /// Calls ending inside it are counted.
    window: (Instant, Instant),
    /// Calls left to start.
    budget: AtomicU64,
    errors: AtomicU64,
}

async fn connect(addr: &str) -> Result<UserServiceClient<Channel>, tonic::transport::Error> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(2))
        .timeout(CALL_TIMEOUT)
        .connect()
        .await?;
    Ok(UserServiceClient::new(channel))
}

fn list(page_size: i32, page_token: String) -> ListUsersRequest {
    ListUsersRequest {
        page_size,
        page_token,
        ..ListUsersRequest::default()
    }
}

/// Walks the whole listing; calls `each` with every page's users and token.
async fn walk(
    client: &mut UserServiceClient<Channel>,
    page_size: i32,
    mut each: impl FnMut(&[User], &str),
) -> Result<usize, tonic::Status> {
    let mut token = String::new();
    for pages in 1..=MAX_PAGES {
        let page = client
            .list_users(list(page_size, token))
            .await?
            .into_inner();
        each(&page.users, &page.next_page_token);
        if page.next_page_token.is_empty() {
            return Ok(pages);
        }
        token = page.next_page_token;
    }
    Err(tonic::Status::resource_exhausted("the listing did not end"))
}

/// A random item, by xorshift64: enough to spread picks, no dependency.
fn pick(items: &[String], state: &mut u64) -> String {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    items[(*state % items.len() as u64) as usize].clone()
}

/// One caller: calls until the window ends or the budget is spent;
/// returns the latencies (µs) of calls that ended inside the window.
async fn caller(
    mut client: UserServiceClient<Channel>,
    run: Arc<Run>,
    mut state: u64,
    tag: String,
) -> (Vec<u32>, Option<String>) {
    let (mut latencies, mut first_error) = (Vec::new(), None);
    let take = |b: u64| b.checked_sub(1);
    for n in 0u64.. {
        let spent = run
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, take)
            .is_err();
        if spent || Instant::now() >= run.window.1 {
            break;
        }
        let started = Instant::now();
        let result = match run.op {
            Op::Get => {
                let name = pick(&run.names, &mut state);
                client.get_user(GetUserRequest { name }).await.map(drop)
            }
            Op::List => {
                let token = pick(&run.tokens, &mut state);
                client.list_users(list(50, token)).await.map(drop)
            }
            Op::Create => {
                let user = User {
                    email: format!("load-{tag}-{n}@bench.example"),
                    display_name: "Load User".to_owned(),
                    ..User::default()
                };
                let request = CreateUserRequest {
                    user: Some(user),
                    ..CreateUserRequest::default()
                };
                client.create_user(request).await.map(drop)
            }
        };
        let ended = Instant::now();
        if let Err(status) = result {
            run.errors.fetch_add(1, Ordering::Relaxed);
            first_error.get_or_insert_with(|| format!("{:?}: {}", status.code(), status.message()));
        } else if started >= run.window.0 && ended <= run.window.1 {
            latencies.push(u32::try_from((ended - started).as_micros()).unwrap_or(u32::MAX));
        }
    }
    (latencies, first_error)
}

async fn load(args: LoadArgs) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let (mut names, mut tokens) = (Vec::new(), vec![String::new()]);
    let mut client = connect(&args.addr).await?;
    if args.op == Op::Get || args.list == ListFrom::Random && args.op == Op::List {
        walk(&mut client, 50, |users, token| {
            names.extend(users.iter().map(|u| u.name.clone()));
            if args.list == ListFrom::Random && !token.is_empty() {
                tokens.push(token.to_owned());
            }
        })
        .await?;
        if names.is_empty() && args.op == Op::Get {
            return Err("the store is empty: seed it first".into());
        }
    }
    let (warmup, duration) = match args.calls {
        Some(_) => (0.0, 3600.0),
        None => (args.warmup, args.duration),
    };
    let (warmup, duration) = (
        Duration::from_secs_f64(warmup),
        Duration::from_secs_f64(duration),
    );
    let (connections, streams) = (args.connections.max(1), args.streams.max(1));
    let mut clients = Vec::new();
    for _ in 0..connections {
        clients.push(connect(&args.addr).await?);
    }
    let nonce = SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros() as u64;
    let start = Instant::now();
    let run = Arc::new(Run {
        op: args.op,
        names,
        tokens,
        window: (start + warmup, start + warmup + duration),
        budget: AtomicU64::new(args.calls.unwrap_or(u64::MAX)),
        errors: AtomicU64::new(0),
    });
    let mut tasks = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        for s in 0..streams {
            let seed = nonce ^ ((c * streams + s) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let tag = format!("{nonce}-{c}-{s}");
            tasks.push(tokio::spawn(caller(client.clone(), run.clone(), seed, tag)));
        }
    }
    let (mut latencies, mut first_error) = (Vec::new(), None);
    for task in tasks {
        let bound = (start + warmup + duration + CALL_TIMEOUT * 2)
            .saturating_duration_since(Instant::now());
        let (mine, error) = tokio::time::timeout(bound, task).await??;
        latencies.extend(mine);
        first_error = first_error.or(error);
    }
    let elapsed = match args.calls {
        Some(_) => start.elapsed(),
        None => duration,
    };
    latencies.sort_unstable();
    let last = latencies.len().saturating_sub(1);
    let quantile = |q: f64| {
        let at = ((latencies.len() as f64 * q) as usize).min(last);
        latencies.get(at).map(|us| f64::from(*us) / 1000.0)
    };
    Ok(serde_json::json!({
        "op": args.op.to_possible_value().map(|v| v.get_name().to_owned()),
        "connections": connections, "streams": streams, "calls": latencies.len(),
        "errors": run.errors.load(Ordering::Relaxed), "first_error": first_error,
        "seconds": elapsed.as_secs_f64(), "calls_per_s": latencies.len() as f64 / elapsed.as_secs_f64(),
        "p50_ms": quantile(0.50), "p90_ms": quantile(0.90), "p99_ms": quantile(0.99),
        "known_users": run.names.len(), "known_tokens": run.tokens.len(),
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let line = match Args::parse().mode {
        Mode::Load(args) => load(args).await?,
        Mode::Page { addr, page_size } => {
            let mut client = connect(&addr).await?;
            let (started, mut users, mut ends) = (Instant::now(), 0, Vec::new());
            let pages = walk(&mut client, page_size, |page, _| {
                users += page.len();
                ends.push(started.elapsed().as_secs_f64());
            })
            .await?;
            // Keyset paging costs the same per page wherever it is: the last
            // tenth of the pages takes as long as the first.
            let tenth = (ends.len() / 10).max(1);
            let first = ends[tenth - 1];
            let last = ends[ends.len() - 1] - ends[ends.len() - 1 - tenth.min(ends.len() - 1)];
            serde_json::json!({ "page_size": page_size, "pages": pages, "users": users,
                "seconds": started.elapsed().as_secs_f64(), "first_tenth_s": first, "last_tenth_s": last })
        }
    };
    println!("{line}");
    Ok(())
}
