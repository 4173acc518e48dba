//! The command line as a user meets it: exit codes, streams and the default path.

mod support;

use std::process::Command;
use support::run;

const CLEAN: &str = "tests/fixtures/validate/ok/minimal.yaml";
const BROKEN: &str = "tests/fixtures/validate/err/docker_hub_source.yaml";

#[test]
fn missing_file_exits_2_and_says_which() {
    let (code, stdout, stderr) = run(&["validate", "no/such/_config.yaml"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: cannot read `no/such/_config.yaml`: No such file or directory (os error 2)\n"
    );
    assert_eq!(
        stdout,
        "0 files checked: 0 errors, 0 warnings; 1 file could not be read\n"
    );
}

#[test]
fn a_directory_exits_2() {
    let (code, _, stderr) = run(&["validate", "tests"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read `tests`"), "{stderr}");
}

#[test]
fn unreadable_file_still_gives_valid_json() {
    let (code, stdout, stderr) = run(&["validate", "--format", "json", CLEAN, "missing.yaml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read `missing.yaml`"));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["files"][0]["path"], CLEAN);
    assert_eq!(report["files"][0]["errors"], 0);
    assert_eq!(report["files"][1]["path"], "missing.yaml");
    assert!(
        report["files"][1]["read_error"]
            .as_str()
            .unwrap()
            .contains("No such file")
    );
}

#[test]
fn findings_in_any_file_exit_1_and_every_file_is_reported() {
    let (code, stdout, _) = run(&["validate", CLEAN, BROKEN]);
    assert_eq!(code, 1);
    assert!(stdout.contains(&format!(
        "error[docker-hub-source]: `nginx:1.25` names no registry, so it means Docker Hub (`docker.io/library/nginx:1.25`), which cannot be mirrored\n --> {BROKEN}:3:12\n"
    )));
    assert!(
        stdout.ends_with("2 files checked: 6 errors, 0 warnings\n"),
        "{stdout}"
    );
}

#[test]
fn warnings_alone_exit_0() {
    let (code, stdout, _) = run(&[
        "validate",
        "tests/fixtures/validate/err/untagged_source.yaml",
    ]);
    assert_eq!(code, 0);
    assert!(stdout.contains("warning[untagged-source]"));
}

#[test]
fn bad_usage_exits_2_with_usage_on_stderr() {
    let (code, stdout, stderr) = run(&["validate", "--format", "xml", CLEAN]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert!(stderr.contains("invalid value 'xml'"), "{stderr}");
    let (code, _, stderr) = run(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unrecognized subcommand"), "{stderr}");
}

#[test]
fn help_exits_0_on_stdout() {
    let (code, stdout, stderr) = run(&["validate", "--help"]);
    assert_eq!(code, 0);
    assert_eq!(stderr, "");
    assert!(stdout.contains("--format <FORMAT>"), "{stdout}");
    assert!(stdout.contains("core-services/image-mirroring/_config.yaml"));
}

#[test]
fn target_repository_is_configurable_for_forks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("_config.yaml");
    std::fs::write(
        &path,
        "qciToAppCIImages:\n  ci/a:v1:\n    image: quay.io/my-fork/ci:ci_a_v1\n",
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let (code, stdout, _) = run(&["validate", path]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("error[invalid-qci-source]"));
    let (code, stdout, _) = run(&[
        "validate",
        "--target-repository",
        "quay.io/my-fork/ci",
        path,
    ]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn the_binary_checks_the_openshift_release_path_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("core-services/image-mirroring");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("_config.yaml"),
        "supplementalCIImages:\n  ci/nginx:1.25:\n    image: nginx:1.25\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_qci-mirror"))
        .arg("validate")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with(
            "error[docker-hub-source]: `nginx:1.25` names no registry, so it means Docker Hub (`docker.io/library/nginx:1.25`), which cannot be mirrored\n --> core-services/image-mirroring/_config.yaml:3:12\n"
        ),
        "{stdout}"
    );
}

#[test]
fn settings_that_cannot_work_are_usage_errors_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("_config.yaml");
    std::fs::write(
        &config,
        "supplementalCIImages:\n  ci/a:v1:\n    image: 127.0.0.1:9/org/a:v1\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    for (args, said) in [
        (
            vec![
                "plan",
                "--config",
                config,
                "--target-repository",
                "openshift/ci",
            ],
            "names no registry host",
        ),
        (
            vec![
                "validate",
                "--target-repository",
                "quay.io/openshift/ci:v1",
                config,
            ],
            "is not a repository",
        ),
        (
            vec!["mirror", "--config", config, "--concurrency", "0"],
            "at least 1",
        ),
        (
            vec!["plan", "--config", config, "--host-concurrency", "0"],
            "at least 1",
        ),
    ] {
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
        assert_eq!(stdout, "");
    }
    // A name that matches nothing would otherwise do nothing and exit 0; no request is made.
    for command in ["plan", "mirror"] {
        let (code, stdout, stderr) = run(&[
            command,
            "--config",
            config,
            "--only",
            "ci/a:v1",
            "--only",
            "ci/typo:v1",
        ]);
        assert_eq!(code, 2, "{stdout}{stderr}");
        assert!(
            stderr.contains("--only names no entry of") && stderr.contains("`ci/typo:v1`"),
            "{stderr}"
        );
        assert!(!stderr.contains("`ci/a:v1`"), "{stderr}");
    }
}

const OC_MAIN: &str = "openshift/oc/openshift-oc-main.yaml";
const PROMOTED_KEY_CONFIG: &str = "supplementalCIImages:\n  ocp/4.21:cli:\n    image: quay.io/org/cli:v1\n  ci/unrelated:v1:\n    image: quay.io/org/unrelated:v1\n";

/// A checkout shaped like openshift/release: the config under `core-services/`, one real
/// ci-operator config (promoting `ocp/4.21:cli` on line 104) under `ci-operator/config/`.
fn release_checkout(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("core-services/image-mirroring");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(config_dir.join("_config.yaml"), config).unwrap();
    let target = dir.path().join("ci-operator/config").join(OC_MAIN);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::copy(
        format!("tests/fixtures/ci-operator/config/{OC_MAIN}"),
        target,
    )
    .unwrap();
    dir
}

#[test]
fn a_key_ci_operator_promotes_is_a_warning_naming_the_promoting_config() {
    let dir = release_checkout(PROMOTED_KEY_CONFIG);
    let config = dir
        .path()
        .join("core-services/image-mirroring/_config.yaml");
    let (code, stdout, stderr) = run(&["validate", config.to_str().unwrap()]);
    assert_eq!((code, stderr.as_str()), (0, ""), "{stdout}");
    assert!(
        stdout.contains("warning[target-promoted]: `ocp/4.21:cli` would overwrite a tag promoted by ci-operator/config/openshift/oc/openshift-oc-main.yaml:104;"),
        "{stdout}"
    );
    assert!(stdout.contains("_config.yaml:2:3\n"), "{stdout}");
    assert!(
        stdout.ends_with("1 file checked: 0 errors, 1 warning\n"),
        "{stdout}"
    );
}

#[test]
fn ci_operator_config_names_the_folder_and_it_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("_config.yaml");
    std::fs::write(&config, PROMOTED_KEY_CONFIG).unwrap();
    let config = config.to_str().unwrap();
    let folder = "tests/fixtures/ci-operator/config";
    let (code, stdout, _) = run(&["validate", "--ci-operator-config", folder, config]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&format!("a tag promoted by {folder}/{OC_MAIN}:104")),
        "{stdout}"
    );
    // Without the flag and with no folder beside the config, the rule does not run.
    let (_, stdout, _) = run(&["validate", config]);
    assert!(!stdout.contains("target-promoted"), "{stdout}");

    let (code, stdout, stderr) = run(&["validate", "--ci-operator-config", "no/such", config]);
    assert_eq!(code, 2, "{stdout}");
    assert_eq!(
        stderr,
        "error: --ci-operator-config `no/such` is not a folder\n"
    );
}

#[test]
fn unparseable_ci_operator_configs_are_a_note_not_a_failure() {
    let dir = release_checkout(PROMOTED_KEY_CONFIG);
    std::fs::write(
        dir.path()
            .join("ci-operator/config/openshift/oc/openshift-oc-broken.yaml"),
        "promotion: [",
    )
    .unwrap();
    let config = dir
        .path()
        .join("core-services/image-mirroring/_config.yaml");
    let (code, stdout, stderr) = run(&["validate", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("warning[target-promoted]"), "{stdout}");
    assert!(
        stderr.starts_with("note: 7 promoted tags from 2 ci-operator configs under `ci-operator/config`; 1 skipped as unreadable or not ci-operator YAML (first: `ci-operator/config/openshift/oc/openshift-oc-broken.yaml`: "),
        "{stderr}"
    );
}

#[test]
fn a_key_is_compared_with_promoted_tags_by_its_qci_tag() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("ci-operator/config/org/repo");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("org-repo-main.yaml"),
        "images:\n- to: a_b\npromotion:\n  to:\n  - namespace: ci\n    tag: c\n",
    )
    .unwrap();
    let config = dir.path().join("_config.yaml");
    std::fs::write(
        &config,
        "supplementalCIImages:\n  ci/a:b_c:\n    image: quay.io/o/x:v1\n",
    )
    .unwrap();
    let (code, stdout, _) = run(&["validate", config.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("warning[target-promoted]: `ci/a:b_c` would overwrite a tag promoted by ci-operator/config/org/repo/org-repo-main.yaml:3: it renders to the QCI tag `ci_a_b_c`, where ci-operator promotes `ci/a_b:c`"),
        "{stdout}"
    );
}

/// Runs the binary in `dir` with `args`; returns (exit code, stdout, stderr).
fn run_in(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_qci-mirror"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn without_a_path_validate_finds_the_checkouts_config_from_any_folder_in_it() {
    let checkout = tempfile::tempdir().unwrap();
    let config = checkout
        .path()
        .join("core-services/image-mirroring/_config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        "supplementalCIImages:\n  ci/a:v1:\n    image: docker.io/a:v1\n",
    )
    .unwrap();
    let deep = checkout.path().join("ci-operator/step-registry");
    std::fs::create_dir_all(&deep).unwrap();
    let (code, stdout, stderr) = run_in(&deep, &["validate"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("docker-hub-source"), "{stdout}");
    assert!(
        stdout.contains("../../core-services/image-mirroring/_config.yaml:3:12"),
        "{stdout}"
    );

    let elsewhere = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_in(elsewhere.path(), &["validate"]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("no PATH given, and no core-services/image-mirroring/_config.yaml in this folder or any above it"),
        "{stderr}"
    );
}

#[test]
fn a_file_that_cannot_be_read_spoils_the_closing_line_and_an_empty_config_gets_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "").unwrap();
    let only_art = dir.path().join("only_art.yaml");
    std::fs::write(&only_art, "artImages: []\n").unwrap();
    let missing = dir.path().join("missing.yaml");
    let (code, stdout, stderr) = run(&[
        "validate",
        empty.to_str().unwrap(),
        only_art.to_str().unwrap(),
        missing.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "{}: note: the file has no content: nothing is mirrored",
            empty.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{}: note: no `supplementalCIImages` entries: nothing is mirrored into QCI",
            only_art.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("2 files checked: 0 errors, 0 warnings; 1 file could not be read\n"),
        "{stdout}"
    );
    assert!(stderr.contains("cannot read"), "{stderr}");
}

/// Runs the binary (the in-process runner passes no environment): `NO_COLOR` set to `no_color`,
/// or removed. Returns stdout.
fn validate_binary(args: &[&str], no_color: Option<&str>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qci-mirror"));
    command.arg("validate").args(args);
    match no_color {
        Some(value) => command.env("NO_COLOR", value),
        None => command.env_remove("NO_COLOR"),
    };
    let output = command.output().unwrap();
    String::from_utf8(output.stdout).unwrap()
}

/// Every ESC in `text` opens a colour sequence (`ESC [ digits and ; m`) of the renderer's own.
fn only_colour_sequences(text: &str) -> bool {
    text.split('\u{1b}').skip(1).all(|rest| {
        rest.strip_prefix('[')
            .and_then(|r| r.split_once('m'))
            .is_some_and(|(params, _)| params.chars().all(|c| c.is_ascii_digit() || c == ';'))
    })
}

#[test]
fn color_always_colours_the_severity_even_with_no_color_set() {
    for no_color in [None, Some("1")] {
        let stdout = validate_binary(&["--color", "always", BROKEN], no_color);
        assert!(
            stdout.contains("\u{1b}[91merror[docker-hub-source]\u{1b}[0m"),
            "{stdout:?}"
        );
        assert!(only_colour_sequences(&stdout), "{stdout:?}");
    }
}

#[test]
fn no_color_a_pipe_or_color_never_print_no_escape_at_all() {
    let golden = std::fs::read_to_string(BROKEN.replace(".yaml", ".out")).unwrap();
    for (args, no_color) in [
        (&["--color", "auto"][..], Some("1")),
        (&[][..], Some("1")),
        // Not a terminal: the test captures stdout.
        (&[][..], None),
        (&["--color", "never"][..], None),
    ] {
        let stdout = validate_binary(&[args, &[BROKEN]].concat(), no_color);
        assert_eq!(stdout, golden, "{args:?} NO_COLOR={no_color:?}");
    }
}

/// Fails unless `program` can be run here: `scripts/test` installs it, and a check that
/// quietly does less where a tool is missing would pass for one that ran.
fn require(program: &str) {
    let found = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "`{program}` is needed: scripts/test installs it");
}

const SUBCOMMANDS: [&str; 5] = ["validate", "action", "plan", "mirror", "migrate"];

#[test]
fn the_man_page_has_every_command_and_its_options_and_renders() {
    let (code, page, stderr) = run(&["generate", "man"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert!(page.starts_with(".ie"), "{page}");
    assert!(page.contains(".TH qci-mirror 1"), "{page}");
    for sub in SUBCOMMANDS {
        let heading = format!(".SH \"QCI-MIRROR {}\"", sub.to_uppercase());
        assert!(page.contains(&heading), "no {heading} in\n{page}");
    }
    assert!(page.contains(r"\fB\-\-target\-repository\fR"), "{page}");
    assert!(
        !page.contains("generate"),
        "the release-only command is not for users"
    );

    // Rendered as `man` would: no warnings, and the text reads.
    require("groff");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qci-mirror.1");
    std::fs::write(&path, &page).unwrap();
    let rendered = Command::new("groff")
        // Plain text (no bold or underline overstrikes), lines wide enough not to break options.
        .args(["-man", "-Tutf8", "-ww", "-P-cbou", "-rLL=200n"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(rendered.status.success());
    assert_eq!(String::from_utf8_lossy(&rendered.stderr), "");
    // groff may draw a hyphen as U+2010; read every one as `-`.
    let text = String::from_utf8_lossy(&rendered.stdout).replace('\u{2010}', "-");
    for needle in [
        "QCI-MIRROR PLAN",
        "QCI-MIRROR MIRROR",
        "--target-repository <REPO>",
        "--no-backup",
        "Validate and mirror OpenShift CI",
    ] {
        assert!(text.contains(needle), "no `{needle}` in\n{text}");
    }
}

#[test]
fn config_text_never_carries_an_escape_sequence_even_in_colour() {
    let dir = tempfile::tempdir().unwrap();
    // A raw ESC in a comment (a YAML syntax error, shown on its line) and one written as `\e`
    // in a double-quoted value (quoted by the message).
    let raw = dir.path().join("raw.yaml");
    std::fs::write(
        &raw,
        "supplementalCIImages:\n  ci/a:v1:\n    image: quay.io/org/a:v1 # \u{1b}[2J\u{7}\n",
    )
    .unwrap();
    let quoted = dir.path().join("quoted.yaml");
    std::fs::write(
        &quoted,
        "supplementalCIImages:\n  ci/a:v1:\n    image: \"quay.io/org/a\\e[2J:v1\"\n",
    )
    .unwrap();
    let stdout = validate_binary(
        &[
            "--color",
            "always",
            raw.to_str().unwrap(),
            quoted.to_str().unwrap(),
        ],
        None,
    );
    assert!(stdout.contains("\u{1b}[0m"), "not coloured: {stdout:?}");
    assert!(only_colour_sequences(&stdout), "{stdout:?}");
    assert!(!stdout.contains("\u{1b}[2J") && !stdout.contains('\u{7}'));
    assert!(
        stdout.contains("quay.io/org/a:v1 # \u{FFFD}[2J\u{FFFD}"),
        "{stdout:?}"
    );
    assert!(
        stdout.contains("`quay.io/org/a\\u{1b}[2J:v1`"),
        "{stdout:?}"
    );
}

#[test]
fn completions_offer_every_command_and_bash_reads_its_script() {
    let (code, bash, stderr) = run(&["generate", "completions", "bash"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    // The words offered after `qci-mirror `.
    let top = bash
        .lines()
        .find(|line| line.trim_start().starts_with("opts=\"-h -V"))
        .unwrap_or_else(|| panic!("no top-level opts in\n{bash}"));
    for sub in SUBCOMMANDS {
        assert!(
            top.split(['"', ' ']).any(|w| w == sub),
            "{sub} not in {top}"
        );
    }
    assert!(
        !bash.contains("generate"),
        "the release-only command is not offered"
    );
    assert!(bash.contains("--target-repository"));
    require("bash");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qci-mirror.bash");
    std::fs::write(&path, &bash).unwrap();
    let checked = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(checked.status.success(), "{checked:?}");
    for shell in ["zsh", "fish"] {
        let (code, script, _) = run(&["generate", "completions", shell]);
        assert_eq!(code, 0);
        // zsh writes `--target-repository=[…]`, fish `-l target-repository`.
        assert!(script.contains("target-repository"), "{shell}");
        assert!(!script.contains("generate"), "{shell}");
    }
    let (code, _, stderr) = run(&["generate", "completions", "tcsh"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn changed_since_holds_a_local_change_to_its_own_entries_as_a_pull_request_is_held() {
    let checkout = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@e", "-C"])
            .arg(checkout.path())
            .args(args)
            .status()
            .expect("git must be installed");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    let config = checkout.path().join("_config.yaml");
    let old = "supplementalCIImages:\n  ci/old:v1:\n    image: docker.io/old:v1\n";
    std::fs::write(&config, old).unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    let config = config.to_str().unwrap();

    // Only the old error: reported, not held against this change.
    let (code, stdout, _) = run(&["validate", "--changed-since", "HEAD", config]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("error[docker-hub-source]"), "{stdout}");
    assert!(
        stdout.ends_with("0 errors in entries added or changed since HEAD: only those fail this check, as on a pull request\n"),
        "{stdout}"
    );

    std::fs::write(
        checkout.path().join("_config.yaml"),
        format!("{old}  ci/new:v1:\n    image: docker.io/new:v1\n"),
    )
    .unwrap();
    let (code, stdout, _) = run(&["validate", "--changed-since", "HEAD", config]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("\n1 error in entries added or changed since HEAD"),
        "{stdout}"
    );
    // Without the flag every error counts, as before.
    let (code, _, _) = run(&["validate", config]);
    assert_eq!(code, 1);

    let (code, _, stderr) = run(&["validate", "--changed-since", "no-such-branch", config]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("`no-such-branch` is not a revision"),
        "{stderr}"
    );
}
