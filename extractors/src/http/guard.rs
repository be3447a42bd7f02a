//! The address guard every fetch goes through (DESIGN §9): which addresses a source may reach, a DNS
//! resolver that refuses the others, and a redirect policy that checks every hop.
//!
//! Why a resolver and not a check before the request: a check resolves the name once and the client
//! resolves it again, so a name that answers a public address first and a private one next (DNS
//! rebinding) passes the check and reaches the private one. The resolver is the only resolution the
//! client makes, so what it refuses is never connected to. IP literals are not resolved by the client,
//! so they are checked directly, on the first URL and on every redirect hop.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Client;
use url::Url;

/// Which addresses one source may reach.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressPolicy {
    /// Every address, special-purpose ones included (the local sandbox).
    pub allow_private_network: bool,
    /// Special-purpose networks this source may reach nonetheless (an internal shop on 10.1.2.0/24).
    pub allowed_networks: Vec<IpNet>,
}

/// Why an address is refused: the special-purpose block it is in.
pub fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

/// IPv4 blocks of the IANA IPv4 Special-Purpose Address Registry that are not globally reachable, and
/// multicast and reserved space.
const V4_BLOCKS: &[(&str, &str)] = &[
    ("0.0.0.0/8", "\"this network\""),
    ("10.0.0.0/8", "private-use"),
    ("100.64.0.0/10", "shared address space (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private-use"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)"),
    ("192.31.196.0/24", "AS112-v4"),
    ("192.52.193.0/24", "AMT"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast"),
    ("192.168.0.0/16", "private-use"),
    ("192.175.48.0/24", "direct delegation AS112 service"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
];

/// IPv6 blocks of the IANA IPv6 Special-Purpose Address Registry (and multicast, site-local) that must
/// not be fetched; blocks that embed an IPv4 address are decided by that address where it is meaningful.
const V6_BLOCKS: &[(&str, &str)] = &[
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b::/96", "NAT64 (IPv4/IPv6 translation)"),
    ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments (Teredo, ORCHID, …)"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing SIDs"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
];

fn find(blocks: &'static [(&'static str, &'static str)], ip: IpAddr) -> Option<&'static str> {
    blocks.iter().find(|(net, _)| net.parse::<IpNet>().is_ok_and(|n| n.contains(&ip))).map(|(_, why)| *why)
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    find(V4_BLOCKS, IpAddr::V4(ip))
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // IPv4-mapped (::ffff:a.b.c.d) reaches the IPv4 address itself.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return special_v4(v4);
    }
    // IPv4-compatible (::a.b.c.d, deprecated): refused whatever it embeds.
    let seg = ip.segments();
    if seg[..6].iter().all(|s| *s == 0) && !ip.is_loopback() && !ip.is_unspecified() {
        return Some("IPv4-compatible (deprecated)");
    }
    find(V6_BLOCKS, IpAddr::V6(ip))
}

impl AddressPolicy {
    /// `Err(reason)` when this source may not reach `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        if self.allow_private_network {
            return Ok(());
        }
        let Some(block) = special_purpose(ip) else { return Ok(()) };
        if self.allowed_networks.iter().any(|n| n.contains(&ip)) {
            return Ok(());
        }
        Err(format!("{ip} is a {block} address, which the source does not allow"))
    }

    /// Check a URL before or while fetching it: the scheme, and the host when it is an IP literal
    /// (names are checked by the resolver when the client connects).
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("scheme {} is not fetched", url.scheme()));
        }
        match url.host() {
            None => Err("the URL has no host".to_string()),
            Some(url::Host::Ipv4(ip)) => self.check(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
        }
    }
}

/// The error a refused address surfaces as, found again in the client's error chain.
#[derive(Debug, thiserror::Error)]
#[error("refused: {0}")]
pub struct Refused(pub String);

/// Resolves with the system resolver and refuses names with any address the policy refuses (a name
/// with one public and one private address is refused whole: it is how rebinding attacks look).
#[derive(Debug, Clone)]
struct GuardedResolver {
    policy: Arc<AddressPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            for a in &addrs {
                if let Err(why) = policy.check(a.ip()) {
                    let e: Box<dyn std::error::Error + Send + Sync> =
                        Box::new(Refused(format!("{host} resolves to {why}")));
                    return Err(e);
                }
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Limits of a guarded client.
#[derive(Debug, Clone)]
pub struct ClientLimits {
    pub user_agent: String,
    pub timeout: Duration,
    pub max_redirects: usize,
    pub pool_max_idle_per_host: usize,
}

/// An HTTP client that reaches only what `policy` allows: its resolver refuses forbidden addresses and
/// every redirect hop is checked (scheme, IP literal, count). No proxy: a proxy would resolve names
/// itself, beyond the guard.
pub fn client(
    policy: AddressPolicy,
    limits: &ClientLimits,
    cookies: Option<Arc<reqwest::cookie::Jar>>,
) -> Result<Client, String> {
    let policy = Arc::new(policy);
    let hops = policy.clone();
    let max_redirects = limits.max_redirects;
    let redirect = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max_redirects {
            return attempt.error(format!("more than {max_redirects} redirects"));
        }
        match hops.check_url(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(why) => {
                let to = attempt.url().to_string();
                attempt.error(Refused(format!("a redirect to {to}: {why}")))
            }
        }
    });
    let mut builder = Client::builder();
    if let Some(jar) = cookies {
        builder = builder.cookie_provider(jar);
    }
    builder
        .user_agent(limits.user_agent.clone())
        .timeout(limits.timeout)
        .connect_timeout(limits.timeout.min(Duration::from_secs(10)))
        .redirect(redirect)
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .no_proxy()
        .pool_max_idle_per_host(limits.pool_max_idle_per_host)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// The refusal in an error's cause chain, if the guard refused.
pub fn refusal(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refused>() {
            return Some(r.0.clone());
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn special_purpose_ranges_are_refused() {
        let strict = AddressPolicy::default();
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.0.8",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "fec0::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "::127.0.0.1",
            "::169.254.169.254",
            "2001:db8::1",
            "2001::1",
            "ff02::1",
        ] {
            assert!(strict.check(ip(s)).is_err(), "{s} must be refused");
        }
        for s in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "2a00:1450:4001::1"] {
            assert!(strict.check(ip(s)).is_ok(), "{s} is public");
        }
    }

    #[test]
    fn a_source_may_allow_all_or_some_networks() {
        let all = AddressPolicy { allow_private_network: true, ..Default::default() };
        assert!(all.check(ip("127.0.0.1")).is_ok());
        let some = AddressPolicy { allowed_networks: vec!["127.0.0.2/32".parse().expect("net")], ..Default::default() };
        assert!(some.check(ip("127.0.0.2")).is_ok());
        let refused = some.check(ip("127.0.0.1")).expect_err("refused");
        assert!(refused.contains("loopback"), "{refused}");
    }

    #[test]
    fn urls_are_checked_by_scheme_and_literal_host() {
        let strict = AddressPolicy::default();
        let check = |u: &str| strict.check_url(&Url::parse(u).expect("url"));
        assert!(check("ftp://example.com/").is_err());
        assert!(check("file:///etc/passwd").is_err());
        assert!(check("http://127.0.0.1:8123/?query=SELECT+1").is_err());
        assert!(check("http://[::1]/").is_err());
        assert!(check("http://[::ffff:7f00:1]/").is_err());
        assert!(check("https://example.com/").is_ok(), "names are left to the resolver");
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_forbidden_addresses() {
        let r = GuardedResolver { policy: Arc::new(AddressPolicy::default()) };
        let err = match r.resolve("localhost".parse().expect("name")).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e,
        };
        assert!(refusal(err.as_ref()).is_some_and(|r| r.contains("loopback")), "{err}");
    }
}
