#!/bin/sh
# Regenerates every PyTorch reference fixture of the workspace, one generator after the
# other (each also runs alone). See scripts/torch-python.sh for the interpreter used.
set -eu
top="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="$("$top/scripts/torch-python.sh")"
export PYTHON
for gen in \
    crates/gradwell-activations/fixtures/gen_activation_fixtures.sh \
    crates/gradwell-init/fixtures/gen_init_fixtures.sh \
    crates/gradwell-optim/fixtures/gen_fixtures.sh \
    crates/gradwell-nn/fixtures/gen_loss_fixtures.sh \
    crates/gradwell-nn/fixtures/gen_jacobian_fixtures.sh \
    crates/gradwell-nn/fixtures/gen_torch_weights.sh \
    crates/gradwell-nn/fixtures/gen_rnn_fixtures.sh; do
    echo "== $gen" >&2
    "$top/$gen"
done
