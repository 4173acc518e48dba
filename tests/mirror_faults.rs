//! The copy engine against a fault-injecting proxy in front of real registries: temporary
//! failures are retried to a digest-exact result; persistent ones fail their entry alone.

mod support;

use oci_client::Reference;
use qci_mirror::mirror::{Mirror, Outcome};
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
    let connection = Connection {
        plain_http: proxies.iter().map(|p| p.addr.clone()).collect(),
        ca_file: None,
    };
    Mirror::new(
        Session::new(&connection, Credentials::default(), hosts::DEFAULT_LIMIT)
            .unwrap()
            .with_retry(RetryPolicy::new(
                Duration::from_millis(1),
                Duration::from_millis(5),
                5,
                50,
            )),
    )
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
    let work = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
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
            replaced: None
        }
    );
    assert_eq!(served_digest(&target.addr, "ci:ci_app_v1"), digest);
    assert!(src.unused_rules().is_empty(), "{:?}", src.unused_rules());
    assert!(dst.unused_rules().is_empty(), "{:?}", dst.unused_rules());
    assert_eq!(src.faults_injected() + dst.faults_injected(), 9);
}

#[test]
fn a_source_that_keeps_failing_fails_its_entry_alone_within_the_budget() {
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    let good = push(
        &source.addr,
        "org/good:v1",
        ImageSpec {
            seed: 8,
            platforms: 1,
            ..Default::default()
        },
    );
    push(
        &source.addr,
        "org/bad:v1",
        ImageSpec {
            seed: 9,
            platforms: 1,
            ..Default::default()
        },
    );
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
    let work = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
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
    assert_eq!(error.stage, "source");
    assert!(error.reason.contains("503"), "{error}");
    // Five tries of the HEAD (and of the GET it falls back to), then the entry gives up.
    assert!(src.faults_injected() <= 10, "{}", src.faults_injected());
    assert_eq!(
        ok.unwrap(),
        Outcome::Copied {
            digest: good,
            replaced: None
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
        let work = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
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
                replaced: None
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
