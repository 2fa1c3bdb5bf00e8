//! The `server.started` line names every listener and whether IPv4 clients
//! reach it: the default `0.0.0.0` is bound as a dual-stack `[::]`, which the
//! address alone would show as IPv6 only.
use std::net::{Ipv4Addr, SocketAddr};

use crate::{
    helpers::bounded,
    metrics::scrape,
    process::{command, start, start_on},
};

fn addr_field(started: &serde_json::Value, field: &str) -> SocketAddr {
    started[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing from {started}"))
        .parse()
        .expect("an address")
}

#[tokio::test]
async fn a_wildcard_address_is_logged_as_dual_stack_with_the_admin_address() {
    let mut running = start_on("0.0.0.0:0", &[("USER_SERVICE__ADMIN__ADDR", "0.0.0.0:0")]).await;
    let started = running.started.clone();
    let addr = addr_field(&started, "addr");
    let admin = addr_field(&started, "admin_addr");
    // Where the host has no IPv6 the wildcard stays `0.0.0.0`, not dual-stack.
    let dual_stack = addr.is_ipv6();
    assert_eq!(started["dual_stack"], dual_stack, "{started}");
    assert_eq!(started["admin_dual_stack"], admin.is_ipv6(), "{started}");
    assert!(addr.ip().is_unspecified() && addr.port() != 0, "{started}");

    // Both listeners answer IPv4 clients, whatever the logged address shows.
    let ipv4 = SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port())).to_string();
    let probe = bounded(command(&["healthcheck", "--addr", &ipv4], &[]).output())
        .await
        .expect("healthcheck runs");
    assert_eq!(probe.status.code(), Some(0));
    let (status, _) = scrape(SocketAddr::from((Ipv4Addr::LOCALHOST, admin.port()))).await;
    assert!(status.contains("200"), "{status}");
    running.child.kill().await.expect("stopped");
}

#[tokio::test]
async fn a_specific_address_is_not_dual_stack_and_a_disabled_admin_is_not_named() {
    let mut running = start(&[("USER_SERVICE__ADMIN__ENABLED", "false")]).await;
    let started = &running.started;
    assert_eq!(started["addr"], running.addr.to_string(), "{started}");
    assert_eq!(started["dual_stack"], false, "{started}");
    assert!(started.get("admin_addr").is_none(), "{started}");
    assert!(started.get("admin_dual_stack").is_none(), "{started}");
    running.child.kill().await.expect("stopped");
}
