#!/usr/bin/env python3
"""Write a synthetic openshift/release `ci-operator/config/` tree of N config files.

Usage: gen_ci_operator.py N OUTPUT_DIR

The shape follows real configs (tests/fixtures/ci-operator/config/, copied from
openshift/release): `ORG/REPO/ORG-REPO-BRANCH[__VARIANT].yaml`, keys in the
sorted order determinize-ci-operator writes, `base_images`, `build_root`,
`images` (a list, or in one file in five a mapping with `items`), `promotion`
(three files in four; `to:` with the name form `ocp/<version>` or the tag form
`ci/<image>:latest`, the odd `excluded_images`, `additional_images`,
`disabled: true`, and one in twenty in the legacy single-target form),
`binary_build_commands` in one file in five, `releases`, `resources`,
`tests` with multi-stage steps and shell commands, and
`zz_generated_metadata`. Sizes land between about 1 and 15 KB, most a few KB,
as in the real folder (about 10,000 files, 40 MB). Standard library only and a
fixed seed: the same N always gives the same tree.
"""

import os
import random
import sys

SEED = 20261203
VERSIONS = ["4.16", "4.17", "4.18", "4.19", "4.20", "4.21", "4.22", "5.0"]
WORKFLOWS = ["openshift-e2e-aws", "openshift-e2e-gcp", "openshift-upgrade-aws",
             "openshift-e2e-azure", "ipi-aws", "baremetalds-e2e"]
PROFILES = ["aws", "aws-2", "gcp", "azure4", "equinix-ocp-metal"]


def word(rng, n=2):
    syll = ["ku", "be", "ope", "ra", "tor", "cli", "mon", "net", "cfg", "api",
            "csi", "dns", "ovn", "ing", "reg", "img", "sec", "auth", "log", "mcp"]
    return "-".join("".join(rng.choice(syll) for _ in range(2)) for _ in range(n))


def q(version):
    return f'"{version}"'


def base_images(rng, version):
    lines = ["base_images:"]
    for alias in sorted({"base", "ocp_builder_rhel-9-golang-1.24-openshift-" + version,
                         rng.choice(["must-gather", "tests-base", "cli", "tools"])}):
        lines += [f"  {alias}:", f"    name: {q(version) if alias != 'ocp_builder_rhel-9-golang-1.24-openshift-' + version else 'builder'}",
                  "    namespace: ocp", f"    tag: {rng.choice(['base', 'rhel-9-golang-1.24-openshift-' + version, 'tests'])}"]
    return lines


def image_entry(rng, name, version, indent):
    pad = " " * indent
    lines = [f"{pad}- dockerfile_path: images/{name}/Dockerfile.rhel"]
    if rng.random() < 0.7:
        lines += [f"{pad}  inputs:",
                  f"{pad}    ocp_builder_rhel-9-golang-1.24-openshift-{version}:",
                  f"{pad}      as:",
                  f"{pad}      - registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-{version}"]
    if rng.random() < 0.08:
        lines.append(f"{pad}  optional: true")
    lines.append(f"{pad}  to: {name}")
    return lines


def images(rng, repo, version):
    names = [repo] + [f"{repo}-{word(rng, 1)}" for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 8]))]
    names = list(dict.fromkeys(names))
    if rng.random() < 0.2:
        lines = ["images:", "  items:"]
        for n in names:
            lines += image_entry(rng, n, version, 2)
    else:
        lines = ["images:"]
        for n in names:
            lines += image_entry(rng, n, version, 0)
    return lines, names


def promotion(rng, names, version):
    r = rng.random()
    if r < 0.05:
        return ["promotion:", "  namespace: ci", "  tag: latest"]
    target = []
    if rng.random() < 0.15:
        target += ["    additional_images:", f"      {names[0]}-rpms: rpms"]
    if rng.random() < 0.05:
        target.append("    disabled: true")
    if len(names) > 1 and rng.random() < 0.3:
        target += ["    excluded_images:", f"    - {names[-1]}"]
    if rng.random() < 0.5:
        target += [f"    name: {q(version)}", "    namespace: ocp"]
    else:
        target += ["    namespace: ci", "    tag: latest"]
    target[0] = "  - " + target[0].lstrip()
    return ["promotion:", "  to:"] + target


def tests(rng, count):
    lines = ["tests:"]
    for i in range(count):
        name = f"e2e-{word(rng, 1)}-{i}"
        if rng.random() < 0.35:
            lines += [f"- as: {name}", "  commands: |",
                      "    export GOFLAGS=-mod=vendor",
                      f"    make {rng.choice(['test', 'verify', 'lint'])} JUNITFILE=${{ARTIFACT_DIR}}/junit.xml",
                      "  container:", f"    from: {rng.choice(['src', 'bin', 'test-bin'])}"]
        else:
            lines += [f"- as: {name}"]
            if rng.random() < 0.3:
                lines.append("  optional: true")
            if rng.random() < 0.3:
                lines.append(f"  run_if_changed: ^(pkg/{word(rng, 1)}/.*)")
            lines += ["  steps:", f"    cluster_profile: {rng.choice(PROFILES)}"]
            if rng.random() < 0.5:
                lines += ["    env:", f"      TEST_SUITE: openshift/{word(rng, 1)}/parallel",
                          f"      FEATURE_SET: {rng.choice(['Default', 'TechPreviewNoUpgrade'])}"]
            if rng.random() < 0.3:
                lines += ["    test:", f"    - ref: openshift-{word(rng, 1)}-test", "    - ref: openshift-e2e-test"]
            lines.append(f"    workflow: {rng.choice(WORKFLOWS)}")
            if rng.random() < 0.2:
                lines.append("  timeout: 5h0m0s")
    return lines


def config(rng, org, repo, branch, variant, version):
    lines = base_images(rng, version)
    if rng.random() < 0.2:
        lines.append("binary_build_commands: make build --warn-undefined-variables")
    lines += ["build_root:", "  from_repository: true"]
    image_lines, names = images(rng, repo, version) if rng.random() < 0.85 else ([], [repo])
    lines += image_lines
    if rng.random() < 0.75:
        lines += promotion(rng, names, version)
    lines += ["releases:", "  initial:", "    integration:", f"      name: {q(version)}",
              "      namespace: ocp", "  latest:", "    integration:",
              "      include_built_images: true", f"      name: {q(version)}", "      namespace: ocp",
              "resources:", "  '*':", "    requests:", "      cpu: 100m", "      memory: 200Mi"]
    lines += tests(rng, rng.choice([1, 2, 4, 6, 8, 10, 14, 20, 30, 45]))
    lines += ["zz_generated_metadata:", f"  branch: {branch}", f"  org: {org}", f"  repo: {repo}"]
    if variant:
        lines.append(f"  variant: {variant}")
    return "\n".join(lines) + "\n"


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(SEED)
    written = 0
    while written < n:
        org = rng.choice(["openshift", "openshift-priv", "redhat-openstack", "kubevirt", "stolostron", "openshift-eng"])
        repo = word(rng)
        folder = os.path.join(out, org, repo)
        os.makedirs(folder, exist_ok=True)
        for version in rng.sample(VERSIONS, rng.randint(1, 6)):
            for variant in [None] + ([rng.choice(["okd", "images", "periodics"])] if rng.random() < 0.2 else []):
                if written == n:
                    break
                branch = "main" if version == VERSIONS[-1] else f"release-{version}"
                name = f"{org}-{repo}-{branch}" + (f"__{variant}" if variant else "") + ".yaml"
                path = os.path.join(folder, name)
                if os.path.exists(path):
                    continue
                with open(path, "w") as f:
                    f.write(config(rng, org, repo, branch, variant, version))
                written += 1


if __name__ == "__main__":
    main()
