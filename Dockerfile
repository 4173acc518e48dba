# The image of the qci-mirror GitHub action (action.yml: `runs.image: Dockerfile`). The runner
# builds it in every job that uses the action, so `uses: ./` tests the working tree.

# Builder. Pinned by tag here; on release also pin by digest (`rust:1.95-bookworm@sha256:…`)
# so a re-pushed tag cannot change what is built.
FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# A static binary on glibc: `crt-static` links libc in, so the final image needs no libc at all.
# (The musl target would be the usual way, but it cannot be installed where this project is
# developed and tested, so CI and scripts/check-action build exactly this way.) An explicit
# `--target` keeps RUSTFLAGS off build scripts and proc macros, which must stay dynamic. glibc
# 2.36 resolves host names from /etc/hosts and /etc/resolv.conf without loading NSS modules, so
# DNS works in a static binary. The target is the builder's own triple: x86_64-unknown-linux-gnu
# on the usual runners, and the same recipe on arm64 runners.
RUN target="$(rustc -vV | sed -n 's/^host: //p')" \
 && RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target "$target" \
 && cp "target/$target/release/qci-mirror" /qci-mirror

# Final image: distroless/static (about 2 MiB) rather than scratch, because it already carries what
# a static binary needs at run time and is kept patched by its maintainers: the CA bundle
# (/etc/ssl/certs/ca-certificates.crt, without which the TLS clients cannot even be built),
# /etc/nsswitch.conf, /etc/passwd with root, /tmp and tzdata. Not the `:nonroot` variant:
# container actions must run as root, or writing $GITHUB_OUTPUT fails with EACCES.
# Pin by digest on release, like the builder.
FROM gcr.io/distroless/static-debian12
COPY --from=builder /qci-mirror /qci-mirror
# No USER (see above) and no WORKDIR: the runner starts the container with
# `--workdir /github/workspace`. Exec form with an absolute path, and the subcommand is part of
# the entrypoint, so action.yml has no `args:` (they would be appended here).
ENTRYPOINT ["/qci-mirror", "action"]
