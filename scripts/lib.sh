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
