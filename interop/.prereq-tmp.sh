#!/usr/bin/env bash
# Interop tests against real Aeron C 1.54 (built from source by rusteron): installs the C toolchain if
# missing, then runs `cargo test --release` in interop/. Bounded: apt/pip steps and the test run each have a
# timeout, and the whole script stops after INTEROP_TIMEOUT (default 50 min).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
budget="${INTEROP_TIMEOUT:-3000}"
started=$SECONDS

remaining() {
    local left=$((budget - (SECONDS - started)))
    if ((left <= 0)); then
        echo "interop/run: out of time (${budget}s)" >&2
        exit 124
    fi
    echo "$left"
}

step() {
    # step <max seconds> <command...>: runs the command under the smaller of its own limit and what is left.
    local limit=$1
    shift
    local left
    left=$(remaining)
    ((limit > left)) && limit=$left
    timeout --kill-after=30 "$limit" "$@"
}

root=()
if [[ $(id -u) -ne 0 ]]; then
    root=(sudo -n)
fi

# --- apt packages -----------------------------------------------------------------------------------
apt_updated=
apt_install() {
    if [[ -z $apt_updated ]]; then
        step 300 "${root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
        apt_updated=1
    fi
    step 600 "${root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

missing=()
# Aeron C's build, then the JDK and JUnit 5 for the Java matrix and Aeron's system tests.
for pkg in libclang-dev clang uuid-dev libbsd-dev cmake openjdk-17-jdk-headless junit5 libhamcrest-java \
    libmockito-java libbyte-buddy-java libobjenesis-java libopentest4j-java libapiguardian-java \
    libhdrhistogram-java; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "interop/run: installing ${missing[*]}"
    apt_install "${missing[@]}"
fi

# --- CMake >= 3.30 (Debian's is too old) in a venv --------------------------------------------------
venv="${XDG_CACHE_HOME:-$HOME/.cache}/oxeron-cmake-venv"
cmake_ok() {
    [[ -x "$venv/bin/cmake" ]] || return 1
    local version
    version=$("$venv/bin/cmake" --version | awk 'NR == 1 { print $3 }')
    [[ "$(printf '%s\n' 3.30 "$version" | sort -V | head -n 1)" == 3.30 ]]
}
if ! cmake_ok; then
    echo "interop/run: creating the CMake venv in $venv"
    if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        apt_install python3 python3-venv
    fi
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    step 120 python3 -m venv "$venv"
    step 600 "$venv/bin/pip" install --quiet --disable-pip-version-check "cmake>=3.30,<4"
    cmake_ok
fi
export CMAKE="$venv/bin/cmake"
export PATH="$venv/bin:$PATH"

# --- a target dir copied or moved from elsewhere: CMake refuses caches made in another directory -----
cd "$here"; nice -n 15 cargo build --release --all-targets -j 1
