# Shared by the scripts beside it: `source "$(dirname "$0")/lib.sh"` after setting `root`.

# python_venv DIR REQUIREMENT: a virtualenv at DIR with REQUIREMENT installed (pip does nothing
# when the pinned version is already there).
python_venv() {
  [ -x "$1/bin/python" ] || python3 -m venv "$1"
  "$1/bin/pip" install --quiet "$2"
}

# binary_under_test VARIABLE PACKAGE BINARY: prints the binary's path, from VARIABLE when the
# caller (cargo test) built it, else after building it.
binary_under_test() {
  local given="${!1:-}"
  if [ -n "$given" ]; then
    echo "$given"
  else
    cargo build --quiet -p "$2" --bin "$3" >&2
    echo "$root/target/debug/$3"
  fi
}

# apt_install PACKAGE WHY: installs a Debian package with apt when this user may (root, or sudo
# without a password); otherwise says how, naming WHY it is needed, and fails.
apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if sudo -n true 2>/dev/null; then sudo="sudo"; else
      echo "$2 needs $1: run 'sudo apt-get install $1' (Debian/Ubuntu)" >&2
      return 1
    fi
  fi
  echo "-- installing $1 from Debian" >&2
  # Tests run in parallel and may install two packages at once: wait for apt's lock, not fail.
  local wait_for_lock="-o DPkg::Lock::Timeout=600"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get $wait_for_lock update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get $wait_for_lock install -y -qq --no-install-recommends "$1" >&2
}

# chromium_installed: makes sure Debian's Chromium is there for the browser tests.
chromium_installed() {
  command -v chromium >/dev/null 2>&1 || apt_install chromium "the browser test"
}
