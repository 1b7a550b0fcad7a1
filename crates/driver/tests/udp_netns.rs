//! Two hosts in one machine: two network namespaces joined by a veth pair, a driver in each (this test binary
//! re-run under `ip netns exec`). Needs root and `ip`; where the environment cannot create namespaces the test
//! says so on its output and does not pretend to have run.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oxeron_client::{Aeron, Context as ClientContext, Header, OfferError};
use oxeron_driver::{Context, MediaDriver, ThreadingMode};
use oxeron_testkit::temp_aeron_dir;

const ENDPOINT_VAR: &str = "OXERON_NETNS_ENDPOINT";
const COUNT_VAR: &str = "OXERON_NETNS_COUNT";
const STREAM: i32 = 1070;

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Two namespaces and a veth pair between them, removed when dropped.
struct Hosts {
    a: String,
    b: String,
    address_b: String,
}

impl Hosts {
    fn create() -> Result<Self, String> {
        let id = std::process::id() % 100_000;
        let subnet = 1 + id % 250;
        let hosts = Hosts {
            a: format!("oxa{id}"),
            b: format!("oxb{id}"),
            address_b: format!("10.201.{subnet}.2"),
        };
        let (veth_a, veth_b) = (format!("vxa{id}"), format!("vxb{id}"));
        ip(&["netns", "add", &hosts.a])?;
        ip(&["netns", "add", &hosts.b])?;
        ip(&[
            "link", "add", &veth_a, "type", "veth", "peer", "name", &veth_b,
        ])?;
        ip(&["link", "set", &veth_a, "netns", &hosts.a])?;
        ip(&["link", "set", &veth_b, "netns", &hosts.b])?;
        for (ns, veth, host) in [(&hosts.a, &veth_a, 1), (&hosts.b, &veth_b, 2)] {
            let address = format!("10.201.{subnet}.{host}/24");
            ip(&["-n", ns, "addr", "add", &address, "dev", veth])?;
            ip(&["-n", ns, "link", "set", veth, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(hosts)
    }

    fn run(&self, ns: &str, test: &str, endpoint: &str, count: u64) -> std::io::Result<Child> {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(std::env::current_exe()?)
            .args(["--exact", test, "--ignored", "--nocapture"])
            .env(ENDPOINT_VAR, endpoint)
            .env(COUNT_VAR, count.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

fn wait_for(mut child: Child, what: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let output = child.wait_with_output().map_err(|e| e.to_string())?;
            return if status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{what} failed ({status}):\n{}\n{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ))
            };
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} did not finish within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_hosts_in_network_namespaces() {
    let hosts = match Hosts::create() {
        Ok(hosts) => hosts,
        Err(e) => {
            println!("NETWORK NAMESPACE TEST NOT RUN: cannot create namespaces here: {e}");
            eprintln!("NETWORK NAMESPACE TEST NOT RUN: cannot create namespaces here: {e}");
            return;
        }
    };
    let endpoint = format!("{}:40170", hosts.address_b);
    let count = 100_000;
    let subscriber = hosts
        .run(&hosts.b, "netns_subscriber", &endpoint, count)
        .unwrap();
    let publisher = hosts
        .run(&hosts.a, "netns_publisher", &endpoint, count)
        .unwrap();
    let published = wait_for(
        publisher,
        "publisher in the first namespace",
        Duration::from_secs(120),
    );
    let subscribed = wait_for(
        subscriber,
        "subscriber in the second namespace",
        Duration::from_secs(120),
    );
    published.unwrap();
    subscribed.unwrap();
    println!("network namespaces: {count} messages from one host to the other over veth");
}

fn node() -> (tempfile::TempDir, MediaDriver, Aeron) {
    let dir = temp_aeron_dir();
    let aeron_dir = dir.path().join("aeron");
    let driver = MediaDriver::launch(
        Context::new()
            .aeron_dir(&aeron_dir)
            .threading_mode(ThreadingMode::Shared)
            .term_buffer_length(1024 * 1024)
            .dir_delete_on_shutdown(true),
    )
    .unwrap();
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir)).unwrap();
    (dir, driver, aeron)
}

fn helper_args() -> Option<(String, u64)> {
    let endpoint = std::env::var(ENDPOINT_VAR).ok()?;
    let count = std::env::var(COUNT_VAR).ok()?.parse().ok()?;
    Some((format!("aeron:udp?endpoint={endpoint}"), count))
}

/// Run by [`two_hosts_in_network_namespaces`] inside the second namespace.
#[test]
#[ignore = "helper run inside a network namespace"]
fn netns_subscriber() {
    let Some((channel, count)) = helper_args() else {
        return;
    };
    let (_dir, _driver, aeron) = node();
    let mut subscription = aeron.add_subscription(&channel, STREAM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(100);
    let mut next = 0u64;
    while next < count {
        let n = subscription.poll(
            |m: &[u8], _: &Header| {
                assert_eq!(u64::from_le_bytes(m[..8].try_into().unwrap()), next);
                assert!(m[8..].iter().all(|&b| b == next as u8));
                next += 1;
            },
            256,
        );
        if n == 0 {
            assert!(Instant::now() < deadline, "received {next} of {count}");
            std::thread::yield_now();
        }
    }
}

/// Run by [`two_hosts_in_network_namespaces`] inside the first namespace.
#[test]
#[ignore = "helper run inside a network namespace"]
fn netns_publisher() {
    let Some((channel, count)) = helper_args() else {
        return;
    };
    let (_dir, _driver, aeron) = node();
    let mut publication = aeron.add_exclusive_publication(&channel, STREAM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(100);
    let mut message = [0u8; 40];
    for sequence in 0..count {
        message[..8].copy_from_slice(&sequence.to_le_bytes());
        message[8..].fill(sequence as u8);
        loop {
            match publication.offer(&message) {
                Ok(_) => break,
                Err(
                    OfferError::NotConnected | OfferError::BackPressured | OfferError::AdminAction,
                ) => {
                    assert!(Instant::now() < deadline, "stuck at {sequence}");
                    std::thread::yield_now();
                }
                Err(e) => panic!("offer: {e}"),
            }
        }
    }
    // Stay until the subscriber's driver is gone (it exits once it has every message), so that any resend it
    // asks for can still be served.
    while publication.is_connected() {
        assert!(Instant::now() < deadline, "the subscriber never went away");
        std::thread::sleep(Duration::from_millis(10));
    }
}
