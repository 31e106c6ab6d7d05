#!/usr/bin/env bash
# Installs the PyPI packages the tests use (tests/requirements.txt, pinned) into a virtual
# environment outside the source tree, $NMT_TEST_VENV (default ~/.cache/nmt/tests-venv). Idempotent:
# pip leaves satisfied pins alone without the network.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${NMT_TEST_VENV:-$HOME/.cache/nmt/tests-venv}
[ -x "$venv/bin/pip" ] || /usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
echo "install-test-tools: tests' Python packages in $venv"
