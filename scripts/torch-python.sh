#!/bin/sh
# Prints the path of a Python interpreter that has PyTorch, for the scripts that record
# PyTorch reference fixtures (crates/*/fixtures/gen_*.sh). The tests never need it: they
# read the committed JSON and safetensors files.
#
# With PYTHON set, that interpreter is used as it is (it must already have torch).
# Otherwise a virtual environment is made once in .venv at the top of the repository and
# the pinned torch is installed into it (the CPU-only index first, which is much smaller;
# PyPI if that index is unreachable), with numpy and safetensors.
set -eu
TORCH_VERSION=2.15.0
if [ -n "${PYTHON:-}" ]; then
    echo "$PYTHON"
    exit 0
fi
top="$(cd "$(dirname "$0")/.." && pwd)"
venv="$top/.venv"
if ! "$venv/bin/python" -c "import torch, numpy, safetensors" >/dev/null 2>&1; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --timeout 30 --retries 1 "torch==$TORCH_VERSION" \
        --index-url https://download.pytorch.org/whl/cpu >&2 \
        || "$venv/bin/pip" install --quiet "torch==$TORCH_VERSION" >&2
    "$venv/bin/pip" install --quiet numpy safetensors >&2
fi
echo "$venv/bin/python"
