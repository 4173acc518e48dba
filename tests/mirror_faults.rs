//! The copy engine against a fault-injecting proxy in front of real registries: temporary
//! failures are retried to a digest-exact result; persistent ones fail their entry alone.

mod support;

use oci_client::Reference;
use qci_mirror::mirror::{Mirror, Outcome, Stage};
use qci_mirror::registry::auth::AuthFile;
use qci_mirror::registry::retry::RetryPolicy;
use qci_mirror::registry::{Connection, Credentials, Session, hosts};
use std::time::Duration;
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::registry::{ImageSpec, LocalRegistry, push, served_digest};

fn proxy_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A mirror that reaches the registries only through `proxies`, retrying quickly.
fn mirror_through(proxies: &[&FaultProxy]) -> Mirror {
    mirror_limited(proxies, hosts::DEFAULT_LIMIT)
}

/// The same with at most `host_limit` requests in flight per registry host.
fn mirror_limited(proxies: &[&FaultProxy], host_limit: usize) -> Mirror {
    mirror_with(proxies, host_limit, Credentials::default())
}

fn mirror_with(proxies: &[&FaultProxy], host_limit: usize, credentials: Credentials) -> Mirror {
    mirror_idle(
        proxies,
        host_limit,
        credentials,
        Connection::default().idle_timeout,
    )
}

/// The same, with requests failing after `idle_timeout` without progress.
fn mirror_idle(
    proxies: &[&FaultProxy],
    host_limit: usize,
    credentials: Credentials,
    idle_timeout: Duration,
) -> Mirror {
    let connection = Connection {
        plain_http: proxies.iter().map(|p| p.addr.clone()).collect(),
        idle_timeout,
        ..Connection::default()
    };
    Mirror::new(
        Session::new(&connection, credentials, host_limit)
            .unwrap()
            .with_retry(RetryPolicy::new(
                Duration::from_millis(1),
                Duration::from_millis(5),
                5,
                50,
            )),
    )
}

/// The backup tags in `addr`'s repository `ci`, as skopeo lists them.
fn backup_tags(addr: &str) -> Vec<String> {
    let listed = support::registry::run_tool(
        "skopeo",
        &[
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{addr}/ci"),
        ],
        std::path::Path::new("."),
    );
    let listed: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    listed["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str())
        .filter(|t| t.contains("_prune___ci_images_mirror__"))
        .map(str::to_owned)
        .collect()
}

/// Mirrors `org/app:v1` to `ci:ci_app_v1` through `src` and `dst` with a 1 s idle timeout,
/// expecting a copy; how long it took.
fn copied_with_one_second_idle_timeout(src: &FaultProxy, dst: &FaultProxy) -> Duration {
    let mirror = mirror_idle(
        &[src, dst],
        hosts::DEFAULT_LIMIT,
        Credentials::default(),
        Duration::from_secs(1),
    );
    let started = std::time::Instant::now();
    let outcome = current_thread()
        .block_on(mirror.mirror(
            &reference(&format!("{}/org/app:v1", src.addr)),
            &reference(&format!("{}/ci:ci_app_v1", dst.addr)),
        ))
        .unwrap();
    assert!(matches!(outcome, Outcome::Copied { .. }), "{outcome:?}");
    started.elapsed()
}

/// A one-platform image made from `seed`.
fn single_image(seed: u64) -> ImageSpec {
    ImageSpec {
        seed,
        platforms: 1,
        ..Default::default()
    }
}

fn reference(text: &str) -> Reference {
    Reference::try_from(text).unwrap()
}

fn rule(method: &'static str, path_contains: &'static str, fault: Fault, times: usize) -> Rule {
    Rule {
        method: Some(method),
        path_contains,
        fault,
        times,
    }
}

#[test]
fn temporary_failures_are_retried_to_a_digest_exact_copy() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    let digest = push(
        &source.addr,
        "org/app:v1",
        ImageSpec {
            seed: 7,
            platforms: 2,
            ..Default::default()
        },
    );
    let runtime = proxy_runtime();
    let src = FaultProxy::start(
        &runtime,
        &source.addr,
        vec![
            rule("HEAD", "/manifests/", Fault::Status(500, None), 2),
            rule("GET", "/manifests/", Fault::Status(503, None), 1),
            rule("GET", "/blobs/", Fault::CutBody, 1),
            rule("GET", "/blobs/", Fault::CorruptBody, 1),
            rule("GET", "/blobs/", Fault::Status(429, Some(0)), 1),
        ],
    );
    let dst = FaultProxy::start(
        &runtime,
        &target.addr,
        vec![
            rule("POST", "/blobs/uploads/", Fault::Status(429, Some(0)), 1),
            rule("PUT", "/blobs/uploads/", Fault::Status(500, None), 1),
            rule("PUT", "/manifests/", Fault::Status(502, None), 1),
        ],
    );
    let mirror = mirror_through(&[&src, &dst]);
    let work = current_thread();
    let outcome = work
        .block_on(mirror.mirror(
            &reference(&format!("{}/org/app:v1", src.addr)),
            &reference(&format!("{}/ci:ci_app_v1", dst.addr)),
        ))
        .unwrap_or_else(|e| {
            panic!(
                "{e}\nsource: {:?}\ntarget: {:?}",
                src.log.lock().unwrap(),
                dst.log.lock().unwrap()
            )
        });
    assert_eq!(
        outcome,
        Outcome::Copied {
            digest: digest.clone(),
            replaced: None,
            backup: None
        }
    );
    assert_eq!(served_digest(&target.addr, "ci:ci_app_v1"), digest);
    assert!(src.unused_rules().is_empty(), "{:?}", src.unused_rules());
    assert!(dst.unused_rules().is_empty(), "{:?}", dst.unused_rules());
    assert_eq!(src.faults_injected() + dst.faults_injected(), 9);
}

#[test]
fn an_upload_the_registry_finds_damaged_is_sent_again() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    let digest = push(&source.addr, "org/app:v1", single_image(21));
    let runtime = proxy_runtime();
    // The real registry answers a damaged upload with 400 and the code DIGEST_INVALID.
    let dst = FaultProxy::start(
        &runtime,
        &target.addr,
        vec![rule("PUT", "/blobs/uploads/", Fault::CorruptUpload, 1)],
    );
    let src = FaultProxy::start(&runtime, &source.addr, Vec::new());
    let mirror = mirror_through(&[&src, &dst]);
    let outcome = current_thread()
        .block_on(mirror.mirror(
            &reference(&format!("{}/org/app:v1", src.addr)),
            &reference(&format!("{}/ci:ci_app_v1", dst.addr)),
        ))
        .unwrap_or_else(|e| panic!("{e}\ntarget: {:?}", dst.log.lock().unwrap()));
    assert!(matches!(outcome, Outcome::Copied { .. }), "{outcome:?}");
    assert_eq!(served_digest(&target.addr, "ci:ci_app_v1"), digest);
    assert_eq!(dst.faults_injected(), 1);
}

#[test]
fn a_source_that_keeps_failing_fails_its_entry_alone_within_the_budget() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    let good = push(&source.addr, "org/good:v1", single_image(8));
    push(&source.addr, "org/bad:v1", single_image(9));
    let runtime = proxy_runtime();
    let src = FaultProxy::start(
        &runtime,
        &source.addr,
        vec![Rule {
            method: None,
            path_contains: "/org/bad/",
            fault: Fault::Status(503, None),
            times: 1000,
        }],
    );
    let dst = FaultProxy::start(&runtime, &target.addr, vec![]);
    let mirror = mirror_through(&[&src, &dst]);
    let work = current_thread();
    let bad_source = reference(&format!("{}/org/bad:v1", src.addr));
    let bad_target = reference(&format!("{}/ci:ci_bad_v1", dst.addr));
    let good_source = reference(&format!("{}/org/good:v1", src.addr));
    let good_target = reference(&format!("{}/ci:ci_good_v1", dst.addr));
    let (bad, ok) = work.block_on(async {
        tokio::join!(
            mirror.mirror(&bad_source, &bad_target),
            mirror.mirror(&good_source, &good_target),
        )
    });
    let error = bad.unwrap_err();
    assert_eq!(error.stage, Stage::Source);
    assert!(error.reason.contains("503"), "{error}");
    // Five tries of the HEAD, then the entry gives up.
    assert_eq!(src.faults_injected(), 5);
    assert_eq!(
        ok.unwrap(),
        Outcome::Copied {
            digest: good,
            replaced: None,
            backup: None
        }
    );
}

#[test]
fn a_refused_or_deferred_mount_falls_back_to_streaming() {
    // Source and target on one registry, so the engine tries a cross-repository mount first.
    for answer in [403, 202] {
        let registry = LocalRegistry::start();
        let digest = push(
            &registry.addr,
            "org/app:v1",
            ImageSpec {
                seed: 50 + u64::from(answer),
                platforms: 1,
                ..Default::default()
            },
        );
        let runtime = proxy_runtime();
        let proxy = FaultProxy::start(
            &runtime,
            &registry.addr,
            vec![rule("POST", "mount=", Fault::Status(answer, None), 100)],
        );
        let mirror = mirror_through(&[&proxy]);
        let work = current_thread();
        let outcome = work
            .block_on(mirror.mirror(
                &reference(&format!("{}/org/app:v1", proxy.addr)),
                &reference(&format!("{}/ci:ci_app_v1", proxy.addr)),
            ))
            .unwrap_or_else(|e| panic!("mount answered {answer}: {e}"));
        assert_eq!(
            outcome,
            Outcome::Copied {
                digest: digest.clone(),
                replaced: None,
                backup: None
            }
        );
        assert_eq!(served_digest(&registry.addr, "ci:ci_app_v1"), digest);
        assert_eq!(
            proxy.faults_injected(),
            2,
            "a mount was tried for the config and the layer"
        );
        let stats = &mirror.stats;
        assert_eq!(
            stats
                .blobs_mounted
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
        assert_eq!(
            stats
                .blobs_uploaded
                .load(std::sync::atomic::Ordering::Relaxed),
            2
        );
    }
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Pushes `count` images `org/app{i}:v1` and returns their digests.
fn push_apps(registry: &LocalRegistry, count: usize, seed: u64) -> Vec<String> {
    (0..count)
        .map(|i| {
            push(
                &registry.addr,
                &format!("org/app{i}:v1"),
                ImageSpec {
                    seed: seed + i as u64,
                    platforms: 2,
                    ..Default::default()
                },
            )
        })
        .collect()
}

/// Mirrors `org/app{i}:v1` to `ci:ci_app{i}_v1` for every `i` at once; returns the outcomes.
fn mirror_apps(mirror: &Mirror, src: &FaultProxy, dst: &FaultProxy, count: usize) -> Vec<Outcome> {
    let pairs: Vec<(Reference, Reference)> = (0..count)
        .map(|i| {
            (
                reference(&format!("{}/org/app{i}:v1", src.addr)),
                reference(&format!("{}/ci:ci_app{i}_v1", dst.addr)),
            )
        })
        .collect();
    current_thread().block_on(async {
        futures_util::future::join_all(pairs.iter().map(|(s, t)| mirror.mirror(s, t)))
            .await
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
            .collect()
    })
}

#[test]
fn a_retry_after_holds_back_the_whole_host_for_as_long_as_asked() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    let digests = push_apps(&source, 3, 60);
    let runtime = proxy_runtime();
    let src = FaultProxy::start(
        &runtime,
        &source.addr,
        vec![rule("HEAD", "/manifests/", Fault::Status(429, Some(2)), 1)],
    );
    // The other entries come back to the source registry only after a slow target HEAD,
    // well inside the pause.
    let dst = FaultProxy::start(
        &runtime,
        &target.addr,
        vec![rule("HEAD", "/manifests/", Fault::Delay(500), 3)],
    );
    // Backoff alone would retry after a millisecond: any longer wait is the registry's.
    let mirror = mirror_through(&[&src, &dst]);
    let outcomes = mirror_apps(&mirror, &src, &dst, 3);
    for (outcome, digest) in outcomes.iter().zip(&digests) {
        assert_eq!(
            outcome,
            &Outcome::Copied {
                digest: digest.clone(),
                replaced: None,
                backup: None
            }
        );
    }
    let log = src.log.lock().unwrap().clone();
    let refused = log.iter().position(|s| s.faulted).unwrap();
    let (path, at) = (&log[refused].request, log[refused].at);
    let again = log[refused + 1..]
        .iter()
        .find(|s| &s.request == path)
        .expect("the refused request was not made again");
    assert!(
        again.at - at >= Duration::from_millis(1900),
        "retried after {:?}",
        again.at - at
    );
    // Requests already on their way may land just after the 429; after that the host is left
    // alone until the pause ends, by every entry.
    let quiet = log.iter().filter(|s| {
        s.at - at > Duration::from_millis(300) && s.at - at < Duration::from_millis(1900)
    });
    assert_eq!(quiet.count(), 0, "{log:#?}");
}

#[test]
fn requests_to_one_host_never_exceed_the_limit() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    let digests = push_apps(&source, 4, 70);
    let runtime = proxy_runtime();
    // Every request takes a while, so that parallel requests overlap for sure.
    let slow = || {
        vec![Rule {
            method: None,
            path_contains: "/",
            fault: Fault::Delay(20),
            times: usize::MAX,
        }]
    };
    let src = FaultProxy::start(&runtime, &source.addr, slow());
    let dst = FaultProxy::start(&runtime, &target.addr, slow());
    let outcomes = mirror_apps(&mirror_limited(&[&src, &dst], 2), &src, &dst, 4);
    for (i, (outcome, digest)) in outcomes.iter().zip(&digests).enumerate() {
        assert!(
            matches!(outcome, Outcome::Copied { digest: d, .. } if d == digest),
            "{outcome:?}"
        );
        assert_eq!(
            &served_digest(&target.addr, &format!("ci:ci_app{i}_v1")),
            digest
        );
    }
    assert!(src.most_in_flight() <= 2, "{}", src.most_in_flight());
    assert!(dst.most_in_flight() <= 2, "{}", dst.most_in_flight());

    // The same work without a tight limit does overlap: the measure above can see it.
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    push_apps(&source, 4, 70);
    let src = FaultProxy::start(&runtime, &source.addr, slow());
    let dst = FaultProxy::start(&runtime, &target.addr, slow());
    mirror_apps(&mirror_limited(&[&src, &dst], 16), &src, &dst, 4);
    assert!(src.most_in_flight() > 2, "{}", src.most_in_flight());
}

#[test]
fn a_redirected_download_is_followed_without_our_credentials() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    let digest = push(&source.addr, "org/app:v1", single_image(80));
    let runtime = proxy_runtime();
    // Another door to the same storage, as a CDN would be: it must never see our login.
    let cdn = FaultProxy::start(&runtime, &source.addr, vec![]);
    let src = FaultProxy::start(
        &runtime,
        &source.addr,
        vec![rule(
            "GET",
            "/blobs/sha256:",
            Fault::Redirect(cdn.addr.clone()),
            100,
        )],
    );
    let dst = FaultProxy::start(&runtime, &target.addr, vec![]);
    let login = serde_json::json!({"auths": {src.addr.clone(): {"auth": "cmVhZGVyOnMzY3JldA=="}}});
    let credentials = Credentials {
        auth_file: AuthFile::parse(&login.to_string(), "test").unwrap(),
        target: None,
        app_ci: None,
    };
    let mirror = mirror_with(&[&src, &dst, &cdn], hosts::DEFAULT_LIMIT, credentials);
    let outcome = current_thread()
        .block_on(mirror.mirror(
            &reference(&format!("{}/org/app:v1", src.addr)),
            &reference(&format!("{}/ci:ci_app_v1", dst.addr)),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(outcome, Outcome::Copied { digest: d, .. } if d == digest));
    assert_eq!(served_digest(&target.addr, "ci:ci_app_v1"), digest);
    let redirected = src.faults_injected();
    let cdn_log = cdn.log.lock().unwrap().clone();
    assert_eq!(redirected, 2, "config and layer");
    assert_eq!(cdn_log.len(), redirected, "{cdn_log:?}");
    assert!(cdn_log.iter().all(|s| !s.authorized), "{cdn_log:?}");
    assert!(
        src.log
            .lock()
            .unwrap()
            .iter()
            .all(|s| s.authorized || s.request.ends_with("/v2/"))
    );
}

/// The target `ci:ci_app_v1` holds `org/app:v1`; the source's `org/app:v2` is about to replace it.
fn target_about_to_move() -> (LocalRegistry, LocalRegistry, String, String) {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    let spec = |seed| ImageSpec {
        seed,
        platforms: 2,
        ..Default::default()
    };
    let old = push(&source.addr, "org/app:v1", spec(31));
    let new = push(&source.addr, "org/app:v2", spec(32));
    let (src, dst) = (recorder(&source), recorder(&target));
    let first = current_thread()
        .block_on(mirror_through(&[&src, &dst]).mirror(
            &reference(&format!("{}/org/app:v1", src.addr)),
            &reference(&format!("{}/ci:ci_app_v1", dst.addr)),
        ))
        .unwrap();
    assert!(matches!(
        first,
        Outcome::Copied {
            replaced: None,
            backup: None,
            ..
        }
    ));
    (source, target, old, new)
}

/// A proxy that only records what it sees.
fn recorder(registry: &LocalRegistry) -> FaultProxy {
    FaultProxy::start(&PROXIES, &registry.addr, vec![])
}

static PROXIES: std::sync::LazyLock<tokio::runtime::Runtime> =
    std::sync::LazyLock::new(proxy_runtime);

#[test]
fn a_moved_tag_first_keeps_its_old_image_under_a_backup_tag() {
    let (source, target, old, new) = target_about_to_move();
    let (src, dst) = (recorder(&source), recorder(&target));
    let outcome = current_thread()
        .block_on(mirror_through(&[&src, &dst]).with_backups(true).mirror(
            &reference(&format!("{}/org/app:v2", src.addr)),
            &reference(&format!("{}/ci:ci_app_v1", dst.addr)),
        ))
        .unwrap();
    let Outcome::Copied {
        digest,
        replaced,
        backup: Some(backup),
    } = outcome
    else {
        panic!("no backup: {outcome:?}");
    };
    assert_eq!(
        (digest.as_str(), replaced.as_deref()),
        (new.as_str(), Some(old.as_str()))
    );
    let pattern = regex::Regex::new(r"^\d{14}_prune___ci_images_mirror__ci_app_v1$").unwrap();
    assert!(pattern.is_match(&backup), "{backup}");
    assert_eq!(served_digest(&target.addr, &format!("ci:{backup}")), old);
    assert_eq!(served_digest(&target.addr, "ci:ci_app_v1"), new);
    // The backup tag was written before the tag moved.
    let log = dst.log.lock().unwrap();
    let put = |tag: &str| {
        log.iter()
            .position(|seen| seen.request == format!("PUT /v2/ci/manifests/{tag}"))
            .unwrap_or_else(|| panic!("no PUT of {tag}: {log:?}"))
    };
    assert!(put(&backup) < put("ci_app_v1"), "{log:?}");
}

#[test]
fn a_failed_backup_leaves_the_tag_where_it_was() {
    let (source, target, old, _) = target_about_to_move();
    let src = recorder(&source);
    let dst = FaultProxy::start(
        &PROXIES,
        &target.addr,
        vec![rule("PUT", "_prune___", Fault::Status(500, None), 1000)],
    );
    let error = current_thread()
        .block_on(mirror_through(&[&src, &dst]).with_backups(true).mirror(
            &reference(&format!("{}/org/app:v2", src.addr)),
            &reference(&format!("{}/ci:ci_app_v1", dst.addr)),
        ))
        .unwrap_err();
    assert_eq!(error.stage, Stage::Backup, "{error}");
    assert_eq!(served_digest(&target.addr, "ci:ci_app_v1"), old);
    let log = dst.log.lock().unwrap();
    assert!(
        log.iter().all(
            |seen| !seen.request.starts_with("PUT /v2/ci/manifests/ci_app_v1")
                && !seen.request.starts_with("PUT /v2/ci/blobs")
        ),
        "nothing of the new image was written: {log:?}"
    );
}

#[test]
fn two_moves_of_one_tag_within_a_second_keep_both_old_images() {
    let (source, target, old, new) = target_about_to_move();
    let (src, dst) = (recorder(&source), recorder(&target));
    let mirror = mirror_through(&[&src, &dst]).with_backups(true);
    let work = current_thread();
    let tag = reference(&format!("{}/ci:ci_app_v1", dst.addr));
    let mut backups = Vec::new();
    for version in ["v2", "v1"] {
        let outcome = work
            .block_on(mirror.mirror(&reference(&format!("{}/org/app:{version}", src.addr)), &tag))
            .unwrap();
        let Outcome::Copied {
            backup: Some(backup),
            ..
        } = outcome
        else {
            panic!("no backup: {outcome:?}");
        };
        backups.push(backup);
    }
    // Distinct names (the second a second later when both fall in one second), each holding the
    // image it replaced.
    assert_ne!(backups[0], backups[1]);
    assert_eq!(
        served_digest(&target.addr, &format!("ci:{}", backups[0])),
        old
    );
    assert_eq!(
        served_digest(&target.addr, &format!("ci:{}", backups[1])),
        new
    );
    assert_eq!(served_digest(&target.addr, "ci:ci_app_v1"), old);
}

#[test]
fn bodies_are_read_only_up_to_their_limits_whatever_the_headers_say() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    push(&source.addr, "org/app:v1", single_image(17));
    let runtime = proxy_runtime();
    // A 200 MB manifest sent chunked, so no length warns of it; then, on the next try, a
    // 1 GiB error answer.
    let src = FaultProxy::start(
        &runtime,
        &source.addr,
        vec![
            rule("GET", "/manifests/", Fault::Flood(200, 200 << 20), 1),
            rule("GET", "/manifests/", Fault::Flood(500, 1 << 30), 1),
        ],
    );
    let dst = FaultProxy::start(&runtime, &target.addr, Vec::new());
    let mirror = mirror_through(&[&src, &dst]);
    let work = current_thread();
    let error = work
        .block_on(mirror.mirror(
            &reference(&format!("{}/org/app:v1", src.addr)),
            &reference(&format!("{}/ci:ci_app_v1", dst.addr)),
        ))
        .unwrap_err();
    assert_eq!(error.stage, Stage::Manifest, "{error}");
    assert!(
        error.reason.contains("larger than 4194304 bytes"),
        "{error}"
    );
    // A size refusal is final: one GET, and only about the limit was read of it.
    let gets = src
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.request.starts_with("GET ") && s.request.contains("/manifests/"))
        .count();
    assert_eq!(gets, 1, "{:?}", src.log.lock().unwrap());
    assert!(
        src.flood_sent() < 16 << 20,
        "{} bytes read",
        src.flood_sent()
    );

    // The error answer is read for its message only: at most 64 KiB of it.
    let src = FaultProxy::start(
        &runtime,
        &source.addr,
        vec![rule("GET", "/manifests/", Fault::Flood(500, 1 << 30), 5)],
    );
    let mirror = mirror_through(&[&src, &dst]);
    let error = work
        .block_on(mirror.mirror(
            &reference(&format!("{}/org/app:v1", src.addr)),
            &reference(&format!("{}/ci:ci_app_v1", dst.addr)),
        ))
        .unwrap_err();
    assert!(error.reason.contains("HTTP 500"), "{error}");
    assert!(
        src.flood_sent() < 5 * (4 << 20),
        "{} bytes read over 5 tries",
        src.flood_sent()
    );
}

#[test]
fn a_run_overtaken_by_another_never_moves_the_tag_backwards() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    push(&source.addr, "org/app:v1", single_image(31));
    let runtime = proxy_runtime();
    let quick_src = FaultProxy::start(&runtime, &source.addr, Vec::new());
    let quick_dst = FaultProxy::start(&runtime, &target.addr, Vec::new());
    let quick = mirror_through(&[&quick_src, &quick_dst]).with_backups(true);
    let (quick_from, quick_to) = (
        reference(&format!("{}/org/app:v1", quick_src.addr)),
        reference(&format!("{}/ci:ci_app_v1", quick_dst.addr)),
    );
    current_thread()
        .block_on(quick.mirror(&quick_from, &quick_to))
        .unwrap();
    let a1 = served_digest(&target.addr, "ci:ci_app_v1");
    // The source moves to a2, and run A starts on it; its blob reads are slow.
    push(&source.addr, "org/app:v1", single_image(32));
    let slow_src = FaultProxy::start(
        &runtime,
        &source.addr,
        vec![rule("GET", "/blobs/", Fault::Delay(5_000), usize::MAX)],
    );
    let slow_dst = FaultProxy::start(&runtime, &target.addr, Vec::new());
    let slow = mirror_through(&[&slow_src, &slow_dst]).with_backups(true);
    let (a, a3) = std::thread::scope(|scope| {
        // Meanwhile the source moves again, to a3, and run B mirrors it all the way.
        let b = scope.spawn(|| {
            std::thread::sleep(Duration::from_secs(1));
            let a3 = push(&source.addr, "org/app:v1", single_image(33));
            let outcome = current_thread()
                .block_on(quick.mirror(&quick_from, &quick_to))
                .unwrap();
            assert!(matches!(outcome, Outcome::Copied { .. }), "{outcome:?}");
            a3
        });
        let a = current_thread().block_on(slow.mirror(
            &reference(&format!("{}/org/app:v1", slow_src.addr)),
            &reference(&format!("{}/ci:ci_app_v1", slow_dst.addr)),
        ));
        (a, b.join().unwrap())
    });
    let error = a.unwrap_err();
    assert_eq!(error.stage, Stage::Target, "{error}");
    assert!(error.reason.starts_with("moved concurrently"), "{error}");
    // A finished last, and the tag still holds the newest image; a1, which both runs saw
    // replaced, is kept once.
    assert_eq!(served_digest(&target.addr, "ci:ci_app_v1"), a3);
    let backups = backup_tags(&target.addr);
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(error.backup.as_deref(), Some(backups[0].as_str()));
    assert_eq!(
        served_digest(&target.addr, &format!("ci:{}", backups[0])),
        a1
    );
}

#[test]
fn a_blob_that_trickles_is_cut_at_its_deadline_and_fetched_again() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    let digest = push(&source.addr, "org/app:v1", single_image(41));
    let runtime = proxy_runtime();
    // A byte every 100 ms: never a second without progress, and a 2 KiB layer would take
    // 3.5 minutes.
    let src = FaultProxy::start(
        &runtime,
        &source.addr,
        vec![rule("GET", "/blobs/", Fault::Trickle(100), 1)],
    );
    let dst = FaultProxy::start(&runtime, &target.addr, Vec::new());
    let took = copied_with_one_second_idle_timeout(&src, &dst);
    assert_eq!(served_digest(&target.addr, "ci:ci_app_v1"), digest);
    assert_eq!(src.faults_injected(), 1);
    // Cut after its 2 s (two idle timeouts, and 64 KiB/s for 2 KiB), then fetched whole.
    assert!(took < Duration::from_secs(15), "{took:?}");
}

#[test]
fn a_tag_found_on_other_bytes_than_were_sent_is_put_back() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    push(&source.addr, "org/app:v1", single_image(51));
    let runtime = proxy_runtime();
    let src = FaultProxy::start(&runtime, &source.addr, Vec::new());
    let honest = FaultProxy::start(&runtime, &target.addr, Vec::new());
    let (from, to) = (
        reference(&format!("{}/org/app:v1", src.addr)),
        reference(&format!("{}/ci:ci_app_v1", honest.addr)),
    );
    let work = current_thread();
    work.block_on(mirror_through(&[&src, &honest]).mirror(&from, &to))
        .unwrap();
    let a1 = served_digest(&target.addr, "ci:ci_app_v1");
    push(&source.addr, "org/app:v1", single_image(52));
    // The target answers the tag's PUT saying it stored other bytes.
    let lying = FaultProxy::start(
        &runtime,
        &target.addr,
        vec![rule("PUT", "/manifests/ci_app_v1", Fault::WrongDigest, 1)],
    );
    let to = reference(&format!("{}/ci:ci_app_v1", lying.addr));
    let error = work
        .block_on(mirror_through(&[&src, &lying]).mirror(&from, &to))
        .unwrap_err();
    assert_eq!(error.stage, Stage::Verify, "{error}");
    assert!(
        error.reason.ends_with(&format!(
            "the tag was put back on {a1}, the image it held before"
        )),
        "{error}"
    );
    assert_eq!(served_digest(&target.addr, "ci:ci_app_v1"), a1);
    assert_eq!(lying.faults_injected(), 1);
}

#[test]
fn one_move_leaves_one_backup_however_many_runs_fail_before_it_succeeds() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    push(&source.addr, "org/app:v1", single_image(71));
    let runtime = proxy_runtime();
    let src = FaultProxy::start(&runtime, &source.addr, Vec::new());
    let honest = FaultProxy::start(&runtime, &target.addr, Vec::new());
    let from = reference(&format!("{}/org/app:v1", src.addr));
    let to = |proxy: &FaultProxy| reference(&format!("{}/ci:ci_app_v1", proxy.addr));
    let work = current_thread();
    let with_backups = |proxy: &FaultProxy| mirror_through(&[&src, proxy]).with_backups(true);
    work.block_on(with_backups(&honest).mirror(&from, &to(&honest)))
        .unwrap();
    let a1 = served_digest(&target.addr, "ci:ci_app_v1");
    push(&source.addr, "org/app:v1", single_image(72));
    // Two runs fail at the tag's write, a second apart, after each kept a1.
    let mut left = Vec::new();
    for _ in 0..2 {
        let failing = FaultProxy::start(
            &runtime,
            &target.addr,
            vec![rule(
                "PUT",
                "/manifests/ci_app_v1",
                Fault::Status(400, None),
                1,
            )],
        );
        let error = work
            .block_on(with_backups(&failing).mirror(&from, &to(&failing)))
            .unwrap_err();
        assert_eq!(error.stage, Stage::Push, "{error}");
        left.push(error.backup.clone().expect("the report names the backup"));
        assert!(
            error.to_string().contains(&format!("kept as {}", left[0])),
            "{error}"
        );
        std::thread::sleep(Duration::from_millis(1_100));
    }
    assert_eq!(
        left[0], left[1],
        "the second run took over the first one's backup"
    );
    let outcome = work
        .block_on(with_backups(&honest).mirror(&from, &to(&honest)))
        .unwrap();
    let Outcome::Copied { backup, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(backup.as_deref(), Some(left[0].as_str()));
    assert_eq!(
        backup_tags(&target.addr),
        [left[0].clone()],
        "one backup for one move"
    );
    assert_eq!(served_digest(&target.addr, &format!("ci:{}", left[0])), a1);
}

#[test]
fn a_source_that_breaks_off_is_named_as_the_side_that_failed() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    push(&source.addr, "org/app:v1", single_image(81));
    let runtime = proxy_runtime();
    let src = FaultProxy::start(
        &runtime,
        &source.addr,
        vec![rule("GET", "/blobs/", Fault::CutBody, usize::MAX)],
    );
    let dst = FaultProxy::start(&runtime, &target.addr, Vec::new());
    let mirror = mirror_through(&[&src, &dst]);
    let error = current_thread()
        .block_on(mirror.mirror(
            &reference(&format!("{}/org/app:v1", src.addr)),
            &reference(&format!("{}/ci:ci_app_v1", dst.addr)),
        ))
        .unwrap_err();
    assert_eq!(error.stage, Stage::Blob, "{error}");
    assert!(
        error.reason.starts_with(&format!(
            "reading http://{}/v2/org/app/blobs/sha256:",
            src.addr
        )),
        "{error}"
    );
    assert!(error.reason.contains("from the source failed"), "{error}");
    assert!(!error.reason.contains(&dst.addr), "{error}");
    // Progress counts bytes as they stream, the halves of broken tries included; nothing was
    // accepted whole.
    use std::sync::atomic::Ordering;
    assert!(mirror.stats.bytes_streamed.load(Ordering::Relaxed) > 0);
    assert_eq!(mirror.stats.bytes_uploaded.load(Ordering::Relaxed), 0);
}

#[test]
fn a_run_that_runs_out_of_time_fails_what_is_unfinished_and_still_reports() {
    use qci_mirror::mirror::run::{self, Event, MirrorResult, RunSettings};
    use qci_mirror::report::progress::Style;
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    push(&source.addr, "org/fast:v1", single_image(91));
    push(&source.addr, "org/slow:v1", single_image(92));
    let runtime = proxy_runtime();
    // Every read of the slow image's blobs waits a minute.
    let src = FaultProxy::start(
        &runtime,
        &source.addr,
        vec![rule(
            "GET",
            "/org/slow/blobs/",
            Fault::Delay(60_000),
            usize::MAX,
        )],
    );
    let dst = FaultProxy::start(&runtime, &target.addr, Vec::new());
    let options = qci_mirror::rules::Options {
        target_repository: format!("{}/ci", dst.addr),
        ..qci_mirror::rules::Options::default()
    };
    let text = format!(
        "supplementalCIImages:\n  ci/fast:v1:\n    image: {0}/org/fast:v1\n  ci/slow:v1:\n    image: {0}/org/slow:v1\n",
        src.addr
    );
    let checked = qci_mirror::validate::check_text(
        qci_mirror::source::SourceFile::new("_config.yaml", text),
        &options,
    );
    let connection = Connection {
        plain_http: vec![src.addr.clone(), dst.addr.clone()],
        ..Connection::default()
    };
    let session = Session::new(&connection, Credentials::default(), hosts::DEFAULT_LIMIT).unwrap();
    let started = std::time::Instant::now();
    let mut events = Vec::new();
    let report = run::run(
        &checked.config,
        &checked.diagnostics,
        &options,
        session,
        &|_| true,
        RunSettings {
            concurrency: 4,
            backups: true,
            tick: Style::Lines.tick(),
            deadline: Duration::from_secs(3),
        },
        &mut |event| {
            events.push(match event {
                Event::Started { total } => format!("started {total}"),
                Event::Finished { entry, .. } => format!("finished {}", entry.key),
                Event::Tick(_) => "tick".to_owned(),
                Event::Ended => "ended".to_owned(),
            })
        },
    )
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let result = |key: &str| &report.entries.iter().find(|e| e.key == key).unwrap().result;
    assert!(matches!(
        result("ci/fast:v1"),
        MirrorResult::Done(Outcome::Copied { .. })
    ));
    let MirrorResult::Failed { error, .. } = result("ci/slow:v1") else {
        panic!("{:?}", result("ci/slow:v1"))
    };
    assert_eq!(error.stage, Stage::Deadline, "{error}");
    assert!(
        error.reason.starts_with("not finished within the run's"),
        "{error}"
    );
    // Both entries end, the unfinished one when the run is out of time, and the run says so.
    let events: Vec<&str> = events
        .iter()
        .map(String::as_str)
        .filter(|e| *e != "tick")
        .collect();
    assert_eq!(events[0], "started 2");
    assert_eq!(events[3], "ended");
    assert_eq!(events.len(), 4, "{events:?}");
    assert!(events.contains(&"finished ci/slow:v1"), "{events:?}");
    assert_eq!(report.failed(), 1);
}

#[test]
fn a_body_that_stalls_or_an_answer_that_never_comes_fails_after_the_idle_timeout() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    let digest = push(&source.addr, "org/app:v1", single_image(101));
    let runtime = proxy_runtime();
    // Once a blob stops half-way and never goes on; once a manifest request gets no answer.
    let src = FaultProxy::start(
        &runtime,
        &source.addr,
        vec![
            rule("GET", "/blobs/", Fault::StallBody, 1),
            rule("GET", "/manifests/", Fault::NoAnswer, 1),
        ],
    );
    let dst = FaultProxy::start(&runtime, &target.addr, Vec::new());
    let took = copied_with_one_second_idle_timeout(&src, &dst);
    assert_eq!(served_digest(&target.addr, "ci:ci_app_v1"), digest);
    assert_eq!(src.faults_injected(), 2);
    // Each stall cost about one idle timeout before the retry.
    assert!(took < Duration::from_secs(15), "{took:?}");
}

#[test]
fn a_registry_that_fails_everything_does_not_spend_the_retries_of_the_others() {
    let (broken, healthy, target) = (
        LocalRegistry::start(),
        LocalRegistry::start(),
        LocalRegistry::start(),
    );
    let digest = push(&healthy.addr, "org/app:v1", single_image(111));
    let runtime = proxy_runtime();
    // One registry answers 503 to every manifest HEAD; the target fails the healthy entry's
    // first HEAD once, as any registry may.
    let broken_proxy = FaultProxy::start(
        &runtime,
        &broken.addr,
        vec![rule(
            "HEAD",
            "/manifests/",
            Fault::Status(503, None),
            usize::MAX,
        )],
    );
    let healthy_proxy = FaultProxy::start(&runtime, &healthy.addr, Vec::new());
    let dst = FaultProxy::start(
        &runtime,
        &target.addr,
        vec![rule(
            "HEAD",
            "/manifests/ci_app_v1",
            Fault::Status(503, None),
            1,
        )],
    );
    // 50 retries in the run, 25 for any one host.
    let mirror = mirror_through(&[&broken_proxy, &healthy_proxy, &dst]);
    let work = current_thread();
    for i in 0..30 {
        let error = work
            .block_on(mirror.mirror(
                &reference(&format!("{}/org/gone-{i}:v1", broken_proxy.addr)),
                &reference(&format!("{}/ci:ci_gone-{i}_v1", dst.addr)),
            ))
            .unwrap_err();
        assert_eq!(error.stage, Stage::Source, "{error}");
    }
    let outcome = work
        .block_on(mirror.mirror(
            &reference(&format!("{}/org/app:v1", healthy_proxy.addr)),
            &reference(&format!("{}/ci:ci_app_v1", dst.addr)),
        ))
        .unwrap();
    assert!(matches!(outcome, Outcome::Copied { .. }), "{outcome:?}");
    assert_eq!(served_digest(&target.addr, "ci:ci_app_v1"), digest);
    assert_eq!(dst.faults_injected(), 1);
}
