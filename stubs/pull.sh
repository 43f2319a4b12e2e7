#!/bin/sh
# placeholder: generates an empty stub table (the stub module replaces this)
set -e
B=${1:-build}
mkdir -p "$B/gen"
cat > "$B/gen/stub_data.c" <<'X'
#include <stddef.h>
const int stub_data_placeholder = 0;
X
