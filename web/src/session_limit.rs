//! The rate limit of `POST /login`: failed logins are counted per client
//! address (an IPv6 address by its /64) and per user name over a window;
//! once either count reaches its limit, logins from that address or for
//! that name are answered 429 until the window that began with the first
//! failure ends, before the password is checked. A successful login clears
//! the name's count (not the address's). Memory is bounded: each table
//! keeps at most [`MAX_KEYS`] entries, dropping expired ones, then the
//! oldest, when full.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long failures are remembered, counted from the first of a run.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Failed logins per client address within [`WINDOW`].
pub const MAX_FAILURES_PER_ADDRESS: u32 = 20;
/// Failed logins per user name within [`WINDOW`].
pub const MAX_FAILURES_PER_NAME: u32 = 10;
/// Entries each table keeps at most.
pub const MAX_KEYS: usize = 10_000;
/// Longest user name kept as a key (longer names are cut).
const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Failures {
    since: Instant,
    count: u32,
}

#[derive(Debug)]
struct Table<K> {
    entries: HashMap<K, Failures>,
    limit: u32,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new(limit: u32) -> Self {
        Self {
            entries: HashMap::new(),
            limit,
        }
    }

    /// How long `key` must still wait, if it is at its limit.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let failures = self.entries.get(key)?;
        let ends = failures.since + WINDOW;
        (failures.count >= self.limit && ends > now).then(|| ends - now)
    }

    fn failed(&mut self, key: K, now: Instant) {
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_KEYS {
            self.entries
                .retain(|_, failures| failures.since + WINDOW > now);
            if self.entries.len() >= MAX_KEYS {
                let oldest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, failures)| failures.since)
                    .map(|(key, _)| key.clone());
                if let Some(oldest) = oldest {
                    self.entries.remove(&oldest);
                }
            }
        }
        let failures = self.entries.entry(key).or_insert(Failures {
            since: now,
            count: 0,
        });
        if failures.since + WINDOW <= now {
            *failures = Failures {
                since: now,
                count: 0,
            };
        }
        failures.count = failures.count.saturating_add(1);
    }
}

#[derive(Debug)]
struct Tables {
    addresses: Table<IpAddr>,
    names: Table<String>,
}

/// Failed logins of this process, shared by the login handler's clones.
#[derive(Debug, Clone)]
pub struct LoginLimiter(Arc<Mutex<Tables>>);

impl Default for LoginLimiter {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Tables {
            addresses: Table::new(MAX_FAILURES_PER_ADDRESS),
            names: Table::new(MAX_FAILURES_PER_NAME),
        })))
    }
}

/// The key of a client: IPv4 as is, IPv6 by its /64 (one host holds many).
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
        v4 => v4,
    }
}

fn name_key(name: &str) -> String {
    name.chars().take(MAX_NAME_CHARS).collect()
}

impl LoginLimiter {
    fn with<T>(&self, action: impl FnOnce(&mut Tables) -> T) -> T {
        match self.0.lock() {
            Ok(mut guard) => action(&mut guard),
            Err(poisoned) => action(&mut poisoned.into_inner()),
        }
    }

    /// `Err(wait)` when the client's address or the name is at its limit.
    pub fn check(&self, client: Option<IpAddr>, name: &str) -> Result<(), Duration> {
        self.check_at(client, name, Instant::now())
    }

    fn check_at(&self, client: Option<IpAddr>, name: &str, now: Instant) -> Result<(), Duration> {
        self.with(|tables| {
            let by_address = client.and_then(|ip| tables.addresses.wait(&address_key(ip), now));
            let by_name = tables.names.wait(&name_key(name), now);
            match by_address.max(by_name) {
                Some(wait) => Err(wait),
                None => Ok(()),
            }
        })
    }

    /// Counts a failed login.
    pub fn failed(&self, client: Option<IpAddr>, name: &str) {
        self.failed_at(client, name, Instant::now());
    }

    fn failed_at(&self, client: Option<IpAddr>, name: &str, now: Instant) {
        self.with(|tables| {
            if let Some(ip) = client {
                tables.addresses.failed(address_key(ip), now);
            }
            tables.names.failed(name_key(name), now);
        });
    }

    /// A successful login clears the name's failures.
    pub fn succeeded(&self, name: &str) {
        self.with(|tables| tables.names.entries.remove(&name_key(name)));
    }

    /// Entries held (addresses, names).
    pub fn len(&self) -> (usize, usize) {
        self.with(|tables| (tables.addresses.entries.len(), tables.names.entries.len()))
    }

    /// Whether no failure is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("address"))
    }

    #[test]
    fn a_name_is_refused_after_its_limit_until_the_window_ends() {
        let limiter = LoginLimiter::default();
        let start = Instant::now();
        for attempt in 0..MAX_FAILURES_PER_NAME {
            assert_eq!(limiter.check_at(ip("10.0.0.1"), "ana", start), Ok(()));
            // Each attempt from another address: only the name's count reaches its limit.
            limiter.failed_at(ip(&format!("10.0.1.{attempt}")), "ana", start);
        }
        let wait = limiter
            .check_at(ip("10.0.0.1"), "ana", start)
            .expect_err("refused");
        assert_eq!(wait, WINDOW);
        assert_eq!(limiter.check_at(ip("10.0.0.1"), "bob", start), Ok(()));
        assert_eq!(
            limiter.check_at(ip("10.0.0.1"), "ana", start + WINDOW),
            Ok(())
        );
        limiter.succeeded("ana");
        assert_eq!(limiter.check_at(ip("10.0.0.1"), "ana", start), Ok(()));
    }

    #[test]
    fn an_address_is_refused_for_every_name_and_ipv6_counts_by_prefix() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        for attempt in 0..MAX_FAILURES_PER_ADDRESS {
            let address = ip(&format!("2001:db8::{attempt:x}"));
            limiter.failed_at(address, &format!("user{attempt}"), now);
        }
        assert!(limiter.check_at(ip("2001:db8::ffff"), "new", now).is_err());
        assert_eq!(limiter.check_at(ip("2001:db8:0:1::1"), "new", now), Ok(()));
        assert_eq!(limiter.check_at(None, "new", now), Ok(()));
    }

    #[test]
    fn memory_stays_bounded() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        for index in 0..(MAX_KEYS + 500) {
            let address = IpAddr::V4(std::net::Ipv4Addr::from(index as u32));
            limiter.failed_at(Some(address), &format!("n{index}"), now);
        }
        assert_eq!(limiter.len(), (MAX_KEYS, MAX_KEYS));
        assert!(!limiter.is_empty());
    }
}
