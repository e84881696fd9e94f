//! The API client and the commands built on it (PRODUCT.md §2, §7): `whoami` and `status`
//! against the stand-in, each HTTP error path with its exit code and message.

use crate::util::{Home, StandIn};

/// A CA bundle trusting both stand-ins, for tests that talk to two hosts.
fn both_cas(home: &Home, a: &StandIn, b: &StandIn) -> String {
    let mut pem = std::fs::read(&a.ca).unwrap();
    pem.extend(std::fs::read(&b.ca).unwrap());
    let path = home.path().join("both-cas.pem");
    std::fs::write(&path, pem).unwrap();
    path.to_str().unwrap().to_string()
}

// The configured key belongs to the configured domain: `--domain OTHER` never sends or prints
// it (PRODUCT.md §3), for whoami, api-key and status alike.
#[test]
fn env_key_stays_with_its_domain() {
    let configured = StandIn::shared();
    let other = StandIn::start();
    let mut home = Home::new(configured);
    let key = configured.mint_key(3600);
    home.set("ANACONDA_CLOUD_API_KEY", &key);
    home.set(
        "ANACONDA_CLOUD_SSL_VERIFY",
        &both_cas(&home, configured, &other),
    );
    home.ok(&["whoami"], "");

    let who = home.run(&["whoami", "--domain", &other.domain], "");
    assert_eq!(who.code, 3, "{who:?}");
    assert!(
        who.stderr
            .contains(&format!("not logged in to {}", other.domain)),
        "{}",
        who.stderr
    );
    assert!(
        other
            .requests()
            .iter()
            .all(|r| r.get("auth_scheme").is_none()),
        "the key went to {}: {:?}",
        other.domain,
        other.requests()
    );
    let api_key = home.run(&["api-key", "--domain", &other.domain], "");
    assert_eq!(api_key.code, 3, "{api_key:?}");
    assert!(!api_key.stdout.contains(&key));
    let status = home.run(&["status", "--domain", &other.domain], "");
    assert_eq!(status.code, 3, "{status:?}");
    assert!(
        !status.stdout.contains("ANACONDA_CLOUD_API_KEY"),
        "{}",
        status.stdout
    );
    for run in [&who, &api_key, &status] {
        assert!(!run.stderr.contains(&key) && !run.stdout.contains(&key));
    }
}
