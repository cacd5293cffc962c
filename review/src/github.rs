//! Posting a review to a GitHub pull request from inside a GitHub Actions
//! run, so that one push never duplicates the last push's comments:
//!
//! 1. list the pull request's review comments and pick out hone's own by
//!    their fingerprint marker ([`crate::format::FINGERPRINT_MARKER`]);
//! 2. a finding whose fingerprint already has a comment: that comment is
//!    edited (only when its text changed);
//! 3. new findings go out as **one** review (`event: COMMENT`) on the head
//!    commit — every comment on lines inside one hunk, so GitHub's 422 for
//!    an out-of-diff line cannot happen;
//! 4. an earlier hone comment whose finding is gone is marked resolved: its
//!    review thread is resolved (GraphQL `resolveReviewThread`), and its
//!    text says so.
//!
//! The environment is the one Actions provides: `GITHUB_TOKEN`,
//! `GITHUB_REPOSITORY` (`owner/name`), `GITHUB_EVENT_PATH` (the
//! `pull_request` event's JSON), and `GITHUB_API_URL` (default
//! `https://api.github.com`).

use std::collections::BTreeMap;

use hone_core::ApiKey;
use serde_json::{json, Value};

use crate::format::{comment_body, github_review, FINGERPRINT_MARKER};
use crate::pipeline::ReviewState;

/// Why posting failed.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// A variable of the Actions environment is missing or unreadable.
    #[error("--post github runs inside a GitHub Actions pull_request run: {0}")]
    Environment(String),
    /// A request failed in transport.
    #[error("{what}: {source}")]
    Transport {
        /// The request.
        what: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// GitHub answered with an error status.
    #[error("{what}: GitHub answered {status}: {body}")]
    Status {
        /// The request.
        what: String,
        /// The status.
        status: u16,
        /// The body GitHub sent.
        body: String,
    },
}

/// Where and as whom to post.
#[derive(Debug, Clone)]
pub struct ActionsEnv {
    /// The REST API root.
    pub api_url: String,
    /// `owner/name`.
    pub repository: String,
    /// The pull request's number.
    pub pull_number: u64,
    /// The head commit's sha.
    pub head_sha: String,
    /// The token (never printed).
    pub token: ApiKey,
}

impl ActionsEnv {
    /// Reads the Actions environment.
    pub fn from_env() -> Result<ActionsEnv, GithubError> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| GithubError::Environment(format!("{name} is not set")))
        };
        let token = ApiKey::new(var("GITHUB_TOKEN")?);
        let repository = var("GITHUB_REPOSITORY")?;
        let event_path = var("GITHUB_EVENT_PATH")?;
        let event: Value = std::fs::read_to_string(&event_path)
            .map_err(|e| GithubError::Environment(format!("GITHUB_EVENT_PATH {event_path}: {e}")))
            .and_then(|t| {
                serde_json::from_str(&t).map_err(|e| {
                    GithubError::Environment(format!("GITHUB_EVENT_PATH {event_path}: {e}"))
                })
            })?;
        let pr = &event["pull_request"];
        let (Some(pull_number), Some(head_sha)) =
            (pr["number"].as_u64(), pr["head"]["sha"].as_str())
        else {
            return Err(GithubError::Environment(format!(
                "{event_path} is not a pull_request event (no pull_request.number and pull_request.head.sha)"
            )));
        };
        Ok(ActionsEnv {
            api_url: std::env::var("GITHUB_API_URL")
                .unwrap_or_else(|_| "https://api.github.com".into()),
            repository,
            pull_number,
            head_sha: head_sha.to_string(),
            token,
        })
    }
}

/// What a post did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Posted {
    /// New comments in the new review.
    pub created: usize,
    /// Earlier comments edited.
    pub updated: usize,
    /// Earlier comments left as they were.
    pub unchanged: usize,
    /// Earlier comments whose finding is gone, resolved.
    pub resolved: usize,
}

impl std::fmt::Display for Posted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "posted to GitHub: {} new comment(s), {} updated, {} unchanged, {} resolved",
            self.created, self.updated, self.unchanged, self.resolved
        )
    }
}

struct Client {
    http: reqwest::Client,
    env: ActionsEnv,
}

impl Client {
    async fn send(
        &self,
        what: &str,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, GithubError> {
        let mut req = self
            .http
            .request(method, url)
            .header(
                "Authorization",
                format!("Bearer {}", self.env.token.expose()),
            )
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .header("User-Agent", "hone-review");
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.map_err(|source| GithubError::Transport {
            what: what.to_string(),
            source,
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|source| GithubError::Transport {
            what: what.to_string(),
            source,
        })?;
        if !(200..300).contains(&status) {
            return Err(GithubError::Status {
                what: what.to_string(),
                status,
                body: text.chars().take(500).collect(),
            });
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn repo_url(&self, tail: &str) -> String {
        format!(
            "{}/repos/{}/{tail}",
            self.env.api_url.trim_end_matches('/'),
            self.env.repository
        )
    }
}

/// The fingerprint in a comment body, when it is one of hone's.
pub fn fingerprint_in(body: &str) -> Option<&str> {
    let at = body.find(FINGERPRINT_MARKER)? + FINGERPRINT_MARKER.len();
    body[at..].split_whitespace().next()
}

/// Posts `state`'s findings to the pull request of `env` (see the module
/// docs for what it sends).
pub async fn post(env: &ActionsEnv, state: &ReviewState) -> Result<Posted, GithubError> {
    let client = Client {
        http: reqwest::Client::new(),
        env: env.clone(),
    };
    // 1. hone's earlier comments, by fingerprint (every page).
    let mut earlier: BTreeMap<String, (u64, String, String)> = BTreeMap::new();
    for page in 1.. {
        let url = client.repo_url(&format!(
            "pulls/{}/comments?per_page=100&page={page}",
            env.pull_number
        ));
        let list = client
            .send(
                "listing the pull request's review comments",
                reqwest::Method::GET,
                &url,
                None,
            )
            .await?;
        let items = list.as_array().cloned().unwrap_or_default();
        for c in &items {
            let body = c["body"].as_str().unwrap_or_default();
            if let (Some(fp), Some(id)) = (fingerprint_in(body), c["id"].as_u64()) {
                let node = c["node_id"].as_str().unwrap_or_default().to_string();
                earlier.insert(fp.to_string(), (id, body.to_string(), node));
            }
        }
        if items.len() < 100 {
            break;
        }
    }
    let mut posted = Posted::default();
    // 2. edit what is still found.
    let mut fresh = state.clone();
    for f in fresh.findings.iter_mut().filter(|f| f.alive()) {
        let Some((id, old_body, _)) = earlier.get(&f.fingerprint) else {
            continue;
        };
        let body = comment_body(f);
        if *old_body != body {
            let url = client.repo_url(&format!("pulls/comments/{id}"));
            client
                .send(
                    "editing an earlier comment",
                    reqwest::Method::PATCH,
                    &url,
                    Some(&json!({"body": body})),
                )
                .await?;
            posted.updated += 1;
        } else {
            posted.unchanged += 1;
        }
        // Already on the pull request: not part of the new review.
        f.dropped = Some(crate::finding::Dropped::Duplicate {
            of: f.fingerprint.clone(),
        });
    }
    // 3. one review with the new ones.
    let review = github_review(&fresh, Some(&env.head_sha));
    let new_comments = review["comments"].as_array().map_or(0, Vec::len);
    if fresh.posted().next().is_some() {
        let url = client.repo_url(&format!("pulls/{}/reviews", env.pull_number));
        client
            .send(
                "creating the review",
                reqwest::Method::POST,
                &url,
                Some(&review),
            )
            .await?;
        posted.created = new_comments;
    }
    // 4. resolve what is gone.
    let current: std::collections::HashSet<&str> =
        state.posted().map(|f| f.fingerprint.as_str()).collect();
    let gone: Vec<(&String, &(u64, String, String))> = earlier
        .iter()
        .filter(|(fp, (_, body, _))| !current.contains(fp.as_str()) && !body.starts_with("~~"))
        .collect();
    if !gone.is_empty() {
        let threads = review_threads(&client).await?;
        for (fp, (id, body, node)) in gone {
            let resolved_body = format!(
                "~~{}~~\n\nResolved: hone no longer finds this.\n\n<!-- {FINGERPRINT_MARKER} {fp} -->",
                body.split("\n\n<!--").next().unwrap_or(body).trim()
            );
            let url = client.repo_url(&format!("pulls/comments/{id}"));
            client
                .send(
                    "marking an earlier comment resolved",
                    reqwest::Method::PATCH,
                    &url,
                    Some(&json!({"body": resolved_body})),
                )
                .await?;
            if let Some(thread) = threads.get(node.as_str()) {
                let query = "mutation($id: ID!) { resolveReviewThread(input: {threadId: $id}) { thread { isResolved } } }";
                let graphql = format!("{}/graphql", env.api_url.trim_end_matches('/'));
                client
                    .send(
                        "resolving a review thread",
                        reqwest::Method::POST,
                        &graphql,
                        Some(&json!({"query": query, "variables": {"id": thread}})),
                    )
                    .await?;
            }
            posted.resolved += 1;
        }
    }
    Ok(posted)
}

/// The pull request's unresolved review threads: first comment's node id →
/// thread id.
async fn review_threads(client: &Client) -> Result<BTreeMap<String, String>, GithubError> {
    let (owner, name) = client
        .env
        .repository
        .split_once('/')
        .unwrap_or((client.env.repository.as_str(), ""));
    let query = "query($owner: String!, $name: String!, $number: Int!) { repository(owner: $owner, name: $name) { pullRequest(number: $number) { reviewThreads(first: 100) { nodes { id isResolved comments(first: 1) { nodes { id } } } } } } }";
    let graphql = format!("{}/graphql", client.env.api_url.trim_end_matches('/'));
    let answer = client
        .send(
            "listing review threads",
            reqwest::Method::POST,
            &graphql,
            Some(&json!({"query": query, "variables": {"owner": owner, "name": name, "number": client.env.pull_number}})),
        )
        .await?;
    let mut out = BTreeMap::new();
    let nodes = &answer["data"]["repository"]["pullRequest"]["reviewThreads"]["nodes"];
    for t in nodes.as_array().into_iter().flatten() {
        if t["isResolved"].as_bool() == Some(true) {
            continue;
        }
        if let (Some(thread), Some(first)) =
            (t["id"].as_str(), t["comments"]["nodes"][0]["id"].as_str())
        {
            out.insert(first.to_string(), thread.to_string());
        }
    }
    Ok(out)
}
