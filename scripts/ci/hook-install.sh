#!/usr/bin/env bash
# Installs stalecheck's pre-commit hooks as a team would, from a local clone of this repository
# at HEAD, and runs them on a small repository with one finding:
#  1. with the real `pre-commit` on the PATH (Debian 12's 3.0.4: `npm install` in its clone,
#     then `npm pack`, whose standard output must be the tarball's name alone);
#  2. with pre-commit 4's install command (`npm install --allow-git=root --install-links -g
#     git+file://…`, as in pre-commit 4.6), which prepares the git source in a child npm that
#     does not install the devDependencies next to it (the README's `npm install -g git+…` too);
#  3. from a tarball made with `npm pack`, as the README's install instructions say.
# Tests what is committed: run it on a clean clone (as .ci/run does).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
rev=$(git -C "$repo" rev-parse HEAD)
work=$(mktemp -d "${TMPDIR:-/tmp}/stalecheck-hooks.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "hook-install: $*" >&2; exit 1; }
git_() { git -c user.name=ci -c user.email=ci@example.com -c init.defaultBranch=main "$@"; }

# The hooks' repository, as a team's mirror of it.
git clone -q --no-local "$repo" "$work/stalecheck"
git -C "$work/stalecheck" checkout -q "$rev"

team="$work/team"
mkdir -p "$team/app"
cat > "$team/app/models.py" <<'PY'
from django.conf import settings
from django.db import models


class Voucher(models.Model):
    code = models.CharField(max_length=32)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    used = models.BooleanField(default=False)
    redeemed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
PY
cat > "$team/app/views.py" <<'PY'
from django.http import JsonResponse
from .models import Voucher


def redeem(request, code):
    voucher = Voucher.objects.get(code=code)
    if voucher.used:
        return JsonResponse({"error": "already used"}, status=409)
    voucher.used = True
    voucher.redeemed_by = request.user
    voucher.save()
    return JsonResponse({"ok": True})
PY
printf 'x = 1\n' > "$team/app/safe.py"
cat > "$team/.pre-commit-config.yaml" <<YAML
repos:
  - repo: $work/stalecheck
    rev: $rev
    hooks:
      - id: stalecheck
      - id: stalecheck-changed
        args: [--fail-on, high]
YAML
git_ -C "$team" init -q
git_ -C "$team" add .pre-commit-config.yaml app/models.py app/safe.py
git_ -C "$team" commit -q -m initial

# 1. Debian's pre-commit.
command -v pre-commit >/dev/null || fail "pre-commit is not installed (apt-get install pre-commit)"
echo "hook-install: $(pre-commit --version): installing the hooks from a clone at ${rev:0:12}"
export PRE_COMMIT_HOME="$work/pre-commit-home"
(cd "$team" && pre-commit install-hooks) || { cat "$PRE_COMMIT_HOME/pre-commit.log" >&2 || true; fail "pre-commit could not install the hooks"; }

git_ -C "$team" add app/views.py
set +e
out=$(cd "$team" && pre-commit run 2>&1)
status=$?
set -e
echo "$out"
[ "$status" -eq 1 ] || fail "pre-commit run exited $status, not 1 (findings)"
grep -q "app/views.py:11:5 STC102" <<<"$out" || fail "the stalecheck hook did not report app/views.py:11:5 STC102"
[ "$(grep -c "app/views.py:11:5 STC102" <<<"$out")" -eq 2 ] || fail "the stalecheck-changed hook did not report the staged file"

# The commit goes through the installed git hook once the finding is fixed.
git_ -C "$team" commit -q -m "views" --no-verify
(cd "$team" && pre-commit install >/dev/null)
printf 'x = 2\n' > "$team/app/safe.py"
git_ -C "$team" add app/safe.py
git_ -C "$team" commit -q -m "clean change" || fail "a commit of a clean file was refused by the hooks"

# 2. pre-commit 4's install path: a global npm install of the git source.
echo "hook-install: npm install -g git+file:// (pre-commit 4's install command)"
prefix="$work/node-env"
NPM_CONFIG_PREFIX="$prefix" npm_config_prefix="$prefix" \
  npm install --allow-git=root --install-links -g "git+file://$work/stalecheck#$rev" --no-audit --no-fund >&2 \
  || fail "npm install -g git+file://… failed"
set +e
out=$(cd "$team" && "$prefix/bin/stalecheck" check --no-progress app/views.py app/models.py 2>&1)
status=$?
set -e
echo "$out"
[ "$status" -eq 1 ] || fail "the globally installed stalecheck exited $status, not 1"
grep -q "app/views.py:11:5 STC102" <<<"$out" || fail "the globally installed stalecheck did not report app/views.py:11:5 STC102"
# 3. The README's tarball install: npm pack in a clone, then a global install of the tarball.
echo "hook-install: npm pack, then npm install -g of the tarball"
tarball=$(cd "$work/stalecheck" && npm pack 2>/dev/null)
[ -f "$work/stalecheck/$tarball" ] || fail "npm pack printed \"$tarball\", not the tarball's name"
prefix2="$work/node-env-tarball"
NPM_CONFIG_PREFIX="$prefix2" npm_config_prefix="$prefix2" npm install -g "$work/stalecheck/$tarball" --no-audit --no-fund >&2 \
  || fail "npm install -g of the packed tarball failed"
set +e
out=$(cd "$team" && "$prefix2/bin/stalecheck" check --no-progress app 2>&1)
status=$?
set -e
[ "$status" -eq 1 ] && grep -q "app/views.py:11:5 STC102" <<<"$out" || { echo "$out"; fail "the stalecheck installed from the tarball did not report app/views.py:11:5 STC102"; }
echo "hook-install: every install path works"
