//! Which credential answers for a host (PRODUCT.md §3): the configured `api_key` only for the
//! configured domain, else the stored record; repo tokens by `/repo/ORG/`. Never another
//! host's key, and never a network request.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::protocol::{Credential, Scheme, Target};
use crate::storage::Store;
use crate::token::{self, TokenRecord};

/// The credential for `target` (`None`: the configured domain).
///
/// Nothing stored is [`Error::LoginRequired`]; an expired key is [`Error::TokenExpired`].
pub fn credential(
    settings: &Settings,
    store: &Store,
    target: Option<&Target>,
) -> Result<Credential> {
    let domain = target.map_or(&settings.domain.value, |t| &t.domain);
    if let Some(key) = settings.api_key_for(domain) {
        return Ok(Credential {
            scheme: Scheme::Bearer,
            expires: token::jwt_exp(key.value.expose()),
            token: key.value.clone(),
            domain: domain.clone(),
        });
    }
    let login_required = || Error::LoginRequired {
        domain: domain.to_string(),
    };
    let record = store.load(domain)?.ok_or_else(login_required)?;
    if let Some(repo) = repo_token(&record, target) {
        return Ok(Credential {
            scheme: Scheme::Token,
            token: repo,
            domain: domain.clone(),
            expires: None,
        });
    }
    let key = record.api_key.clone().ok_or_else(login_required)?;
    let expires = record.expires_at();
    if let Some(exp) = expires.filter(|&exp| exp <= token::now()) {
        return Err(Error::TokenExpired {
            domain: domain.to_string(),
            expired: token::rfc3339(exp),
        });
    }
    Ok(Credential {
        scheme: Scheme::Bearer,
        token: key,
        domain: domain.clone(),
        expires,
    })
}

/// The repo token for a request: the org's for `/repo/ORG/...`, else the first, when the
/// request names the host (or the record has no API key).
fn repo_token(record: &TokenRecord, target: Option<&Target>) -> Option<crate::Secret> {
    let first = record.repo_tokens.first()?;
    let org = target
        .and_then(|t| t.path.as_deref())
        .and_then(|p| p.strip_prefix("/repo/"))
        .and_then(|rest| rest.split('/').next())
        .filter(|org| !org.is_empty());
    let by_org = org.and_then(|org| {
        record.repo_tokens.iter().find(|t| {
            t.org_name
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(org))
        })
    });
    if let Some(t) = by_org {
        return Some(t.token.clone());
    }
    (target.is_some() || record.api_key.is_none()).then(|| first.token.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Domain;
    use crate::secret::Secret;
    use crate::token::RepoToken;

    fn record(api_key: Option<&str>, orgs: &[&str]) -> TokenRecord {
        TokenRecord {
            domain: "h".into(),
            api_key: api_key.map(Secret::new),
            username: None,
            repo_tokens: orgs
                .iter()
                .map(|o| RepoToken {
                    token: Secret::new(format!("tok-{o}")),
                    org_name: Some(o.to_string()),
                })
                .collect(),
            version: Some(1),
        }
    }

    fn target(path: Option<&str>) -> Target {
        Target {
            domain: Domain::parse("h").unwrap(),
            path: path.map(String::from),
        }
    }

    // The org in /repo/ORG/ picks its token; another path gets the first.
    #[test]
    fn repo_tokens_by_org() {
        let r = record(Some("k"), &["a", "b"]);
        let t = target(Some("/repo/b/main/noarch/repodata.json"));
        assert_eq!(repo_token(&r, Some(&t)).unwrap().expose(), "tok-b");
        let t = target(Some("/repo/zzz/x"));
        assert_eq!(repo_token(&r, Some(&t)).unwrap().expose(), "tok-a");
        assert_eq!(
            repo_token(&r, Some(&target(None))).unwrap().expose(),
            "tok-a"
        );
    }

    // `{}` (the configured domain) prefers the API key; no repo tokens, no repo answer.
    #[test]
    fn api_key_for_configured_domain() {
        assert!(repo_token(&record(Some("k"), &["a"]), None).is_none());
        assert!(repo_token(&record(None, &["a"]), None).is_some());
        assert!(repo_token(&record(Some("k"), &[]), Some(&target(Some("/repo/a/")))).is_none());
    }
}
