#!/usr/bin/env python3
"""Write a synthetic OpenShift CI image-mirroring `_config.yaml` with N entries.

Usage: gen_config.py N OUTPUT_PATH

N is the number of `supplementalCIImages` entries (the section that grows in
real life). The shape follows the real file
(tests/fixtures/openshift-release/_config.yaml): image "families" with a
few to a few dozen tags each, mostly quay.io sources, about one in thirty
entries sourced from an app.ci imagestreamtag, the odd tag rename and comment
line, plus small `qciToAppCIImages`, `ignoredSources` and `artImages` sections.

The output is meant to validate with zero errors and zero warnings, so the
generator guarantees (and asserts) what the validator checks: unique keys,
unique rendered QCI tags, tags matching the registry grammar, tagged pull
specs that are not on docker.io, and quoted values that YAML 1.1 would read as
numbers or booleans. It uses only the standard library and a fixed seed, so
the same N always gives byte-identical output.
"""

import random
import re
import sys

SEED = 20260921

# Registry tag grammar (distribution spec), also applied to rendered QCI tags.
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# Stay well under 87 characters: longer QCI tags cannot get a backup tag and a
# validator may warn about them (see reference/openshift-mirroring.md §4).
MAX_QCI_TAG_LEN = 80

# Plain scalars that YAML 1.1 (PyYAML, go-yaml v2) resolves to something other
# than a string: int, float, bool, null, timestamp. Such values must be quoted,
# otherwise upstream would coerce them ("10.10" -> "10.1").
YAML11_NON_STRING = re.compile(
    r"""^(?:
        [-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
      | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
      | [-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?
      | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
      | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
      | yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|y|Y|n|N
      | ~|null|Null|NULL|
      | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*
    )$""",
    re.VERBOSE,
)

# Weighted like the real file: ci dominates, then stackrox, ocp, edge, coreos...
NAMESPACES = (
    ["ci"] * 48 + ["stackrox"] * 18 + ["ocp"] * 6 + ["edge-infrastructure"] * 5
    + ["coreos"] * 5 + ["openshift"] * 4 + ["chaos"] * 3 + ["konveyor"] * 3
    + ["origin"] * 2 + ["microsoft", "k8s", "hypershift-toolkit", "rh_ee_ves"]
)
# Source hosts: quay.io carries most of the real file; none is docker.io.
HOSTS = (
    ["quay.io"] * 83 + ["registry.access.redhat.com"] * 8 + ["registry.k8s.io"] * 3
    + ["mcr.microsoft.com"] * 3 + ["ghcr.io"] * 3
)
QUAY_ORGS = [
    "stackrox-io", "jetstack", "kubevirt", "redhat-chaos", "edge-infrastructure",
    "redhat-services-prod", "konveyor", "maistra-dev", "coreos-assembler",
    "openshift-ci", "app-sre", "rhdh-community", "opendatahub", "sclorg",
    "openshiftci", "redhat-user-workloads", "ocp-splat", "prometheus",
]
GHCR_ORGS = ["kubernetes-sigs", "open-telemetry", "actions", "oras-project"]
RH_ORGS = ["ubi8", "ubi9", "rhel9", "ubi10"]
K8S_PATHS = ["sig-storage", "csi-vsphere", "kas-network-proxy", "e2e-test-images"]
MCR_PATHS = ["oss/kubernetes-csi", "k8s/csi", "oss/v2/kubernetes", "azure-cli"]

WORDS = [
    "cert-manager", "operator", "builder", "tests", "e2e", "runner", "console",
    "plugin", "index", "bundle", "controller", "webhook", "cainjector", "toolkit",
    "assisted", "service", "installer", "agent", "scanner", "collector", "sensor",
    "driver", "csi", "node", "registrar", "krkn", "cerberus", "golangci-lint",
    "git-sync", "prometheus", "minio", "postgresql", "redis", "nginx", "python",
    "nodejs", "java", "ubi", "fedora", "centos", "rust", "go-toolset", "kubevirt",
    "virtctl", "hyperconverged", "odf", "tempo", "strimzi", "maistra", "istio",
    "envoy", "apicurio", "cypress", "playwright", "automation", "flavors",
    "apollo", "interop", "upgrade", "must-gather", "hub", "scenarios",
]
PREFIXES = ["stackrox-test", "scanner-test", "ui-test", "ubi9", "rhel-9-golang",
            "release", "ocm", "cnv", "upstream"]
WORD_TAGS = ["latest", "main", "stable", "interop", "nightly", "edge", "dev",
             "ci-brew", "fips", "old", "master"]
COMMENTS = [
    "# pinned until the upstream tag is fixed (DPTP-{n})",
    "# used by the Windows storage tests (OCP-{n})",
    "# TODO: remove after the {n} migration",
]


def render_qci_tag(key):
    """QCI tag as ci-images-mirror renders it: first '/' and first ':' -> '_'."""
    return key.replace("/", "_", 1).replace(":", "_", 1)


def scalar(value):
    """Quote a value only when YAML 1.1 would not read it back as a string."""
    return f'"{value}"' if YAML11_NON_STRING.match(value) else value


def make_tag(rng, style):
    """One tag in the family's style; callers dedupe."""
    a, b, c = rng.randint(0, 12), rng.randint(0, 40), rng.randint(0, 30)
    if style == "semver":
        return f"v{a}.{b}.{c}"
    if style == "bare":
        return f"{a}.{b}.{c}"
    if style == "prefixed":
        return f"{rng.choice(PREFIXES)}-{a}.{b}.{c}"
    if style == "minor":  # numeric-looking, e.g. "4.18": exercises quoting
        return f"{rng.choice([4, 5, 9, 10])}.{b}"
    if style == "major":  # e.g. "9": also numeric-looking
        return str(rng.randint(6, 40))
    if style == "release":
        return (f"RELEASE.20{rng.randint(20, 26)}-{rng.randint(1, 12):02d}-"
                f"{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}-"
                f"{rng.randint(0, 59):02d}-{rng.randint(0, 59):02d}Z")
    return rng.choice(WORD_TAGS)


def family_size(rng):
    """Most images have one tag; a few (stackrox/apollo-ci) have dozens."""
    r = rng.random()
    if r < 0.45:
        return 1
    if r < 0.70:
        return rng.randint(2, 3)
    if r < 0.90:
        return rng.randint(4, 10)
    return rng.randint(11, 40)


def source_path(rng, host, name):
    """Repository path on the source host; `name` is unique, so is the path."""
    if host == "quay.io":
        return f"{rng.choice(QUAY_ORGS)}/{name}"
    if host == "ghcr.io":
        return f"{rng.choice(GHCR_ORGS)}/{name}"
    if host == "registry.access.redhat.com":
        return f"{rng.choice(RH_ORGS)}/{name}"
    if host == "registry.k8s.io":
        return f"{rng.choice(K8S_PATHS)}/{name}"
    return f"{rng.choice(MCR_PATHS)}/{name}"


def generate(n):
    rng = random.Random(SEED)
    qci_tags = set()  # rendered tags across both target sections
    sources = set()
    out = [
        f"# Synthetic config: {n} supplementalCIImages entries, generated by",
        f"# bench/gen_config.py (seed {SEED}). Not a real mirroring config.",
        "supplementalCIImages:",
    ]

    def claim(key):
        """Reserve a target key; False if it (or its QCI tag) is taken."""
        qci = render_qci_tag(key)
        if qci in qci_tags:
            return False
        assert TAG_RE.fullmatch(qci) and len(qci) <= MAX_QCI_TAG_LEN, qci
        qci_tags.add(qci)
        return True

    count = 0
    family = 0
    while count < n:
        family += 1
        ns = rng.choice(NAMESPACES)
        # The family number makes names (and so source paths) unique.
        name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{family}"
        host = rng.choice(HOSTS)
        path = source_path(rng, host, name)
        style = rng.choice(["semver", "semver", "bare", "prefixed", "prefixed",
                            "minor", "major", "release", "word"])
        size = min(family_size(rng), n - count)
        tags = []
        for _ in range(size * 20):  # bounded: small tag spaces (words) run out
            if len(tags) == size:
                break
            tag = make_tag(rng, style)
            if tag not in tags:
                tags.append(tag)

        for tag in tags:
            key = f"{ns}/{name}:{tag}"
            if not claim(key):
                continue
            count += 1
            out.append(f"  {key}:")
            if count % 30 == 0:
                # app.ci imagestreamtag source, like coreos/stream-coreos-base:9
                out.append(f"    namespace: {scalar(ns)}")
                out.append(f"    name: {scalar(name)}")
                out.append(f"    tag: {scalar(tag)}")
                continue
            src_tag = tag
            if rng.random() < 0.2:
                # Target tag differs from the source tag (~1 in 5 in the real file).
                src_tag = f"{tag}{rng.choice(['.1', '-1', '-ubi9', f'-{rng.randint(10**9, 10**10 - 1)}'])}"
            source = f"{host}/{path}:{src_tag}"
            if source in sources:  # a rename hit a sibling's tag: keep it 1:1
                source = f"{host}/{path}:{tag}"
            assert source not in sources and TAG_RE.fullmatch(src_tag), source
            sources.add(source)
            out.append(f"    image: {source}")
            if count % 250 == 0:
                out.append("    " + rng.choice(COMMENTS).format(n=rng.randint(1000, 9999)))

    # qciToAppCIImages: migration backfill, about 1 per 15 entries in the real file.
    out.append("qciToAppCIImages:")
    wanted, added = max(1, n // 15), 0
    while added < wanted:
        version = f"{rng.choice([4, 5])}.{rng.randint(0, 30)}"
        key = f"ocp/{version}:{rng.choice(WORDS)}-{rng.choice(WORDS)}"
        if claim(key):
            out.append(f"  {key}: {{}}")
            added += 1

    # Fixed tail, as in the real file. None of these sources is used above
    # (different hosts), so no entry is silently ignored.
    out += [
        "ignoredSources:",
        "- image: registry.fedoraproject.org/fedora:latest",
        "  reason: https://issues.redhat.com/browse/RFE-5363",
        "- image: registry.ci.openshift.org/ocp/builder:rhel-7-golang-1.13",
        "  reason: broken image",
        "- image: registry.ci.openshift.org/openshift/release:rhel-golang-1.13",
        "  reason: broken image",
        "artImages:",
        "- namespace: openshift",
        "  name: ^release$",
        "- namespace: ocp",
        "  name: ^builder$",
        "- namespace: origin",
        "  name: ^scos.*",
        "- namespace: ocp",
        "  name: ^\\d+\\.\\d+$",
        "  tag: ^rhel-coreos.*",
        "- namespace: ocp",
        "  name: ^\\d+\\.\\d+$",
        "  tag: ^base-rhel.*$",
    ]
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 3 or not argv[1].isdigit() or int(argv[1]) < 1:
        sys.exit(f"usage: {argv[0]} N OUTPUT_PATH   (N >= 1 entries)")
    with open(argv[2], "w", encoding="utf-8", newline="\n") as f:
        f.write(generate(int(argv[1])))


if __name__ == "__main__":
    main(sys.argv)
