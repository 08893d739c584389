#!/usr/bin/env bash
# Build, push and roll out honeydue on k3s: image -> shared objects -> migrate Job -> Deployments.
#
# Why this order: replicas never migrate at start, so the schema must be current before any new
# pod runs. If the migration fails, the script stops and the old pods keep serving.
#
# Usage: deploy-k3s/deploy.sh --image REGISTRY/REPO --overlay DIR [options]
#   --image REPO       image repository to push to (or $HONEYDUE_IMAGE)
#   --tag TAG          image tag (default: the git commit; refused when the tree has changes)
#   --overlay DIR      your installation's kustomize overlay (or $HONEYDUE_OVERLAY); required:
#                      overlays/example is a template, its host and bucket are not yours
#   --context NAME     kubectl context (default: the current one)
#   --skip-build       deploy an image that is already pushed (e.g. to roll back: --tag OLD)
#   --dry-run          build nothing, change nothing: print the manifests that would be applied
#   -h, --help         this text
#
# Needs: docker with buildx (builds linux/amd64 even on Apple Silicon), kubectl >= 1.27, git.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/.." && pwd)"

namespace="honeydue"
secret_name="honeydue-secrets"
phase_label="honeydue/deploy-phase"
image="${HONEYDUE_IMAGE:-}"
tag="${HONEYDUE_TAG:-}"
overlay="${HONEYDUE_OVERLAY:-}"
context="${KUBE_CONTEXT:-}"
build=1
dry_run=0
migrate_timeout="${MIGRATE_TIMEOUT:-900}"
rollout_timeout="${ROLLOUT_TIMEOUT:-600}"

usage() { sed -n '/^# Usage:/,/^# Needs:/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
die() { echo "deploy: $*" >&2; exit 1; }
step() { echo "==> $*" >&2; }

# The Secret must exist and hold a value for every key production refuses to start without, checked
# before anything is built: an empty key otherwise surfaces only after a build and push, as a failed
# migration (REDIS_URL and PUBLIC_GATEWAY_URL come from the ConfigMap, which this script applies).
require_secret_values() {
    local filled key missing=()
    # Names of the keys whose value is not empty, one a line.
    # shellcheck disable=SC2016  # a Go template, not a shell expansion
    if ! filled="$(k -n "$namespace" get secret "$secret_name" \
        -o 'go-template={{range $key, $value := .data}}{{if $value}}{{$key}}{{"\n"}}{{end}}{{end}}' 2>/dev/null)"; then
        die "Secret $namespace/$secret_name is missing. Create it first (deploy-k3s/README.md, 'First install'):
  kubectl create namespace $namespace
  kubectl -n $namespace create secret generic $secret_name --from-env-file=honeydue-secrets.env"
    fi
    for key in DATABASE_URL MEDIA_SIGNING_KEY B2_KEY_ID B2_APP_KEY; do
        grep -qx "$key" <<<"$filled" || missing+=("$key")
    done
    if ((${#missing[@]} > 0)); then
        die "Secret $namespace/$secret_name has no value for ${missing[*]}; nothing was built or changed.
  Fill them in (deploy-k3s/manifests/secret/secret.template.yaml lists every key) and recreate the Secret."
    fi
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --image) image="${2:?--image needs a value}"; shift 2 ;;
        --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
        --overlay) overlay="${2:?--overlay needs a value}"; shift 2 ;;
        --context) context="${2:?--context needs a value}"; shift 2 ;;
        --skip-build) build=0; shift ;;
        --dry-run) dry_run=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

[[ -n "$image" ]] || die "--image (or HONEYDUE_IMAGE) is required, e.g. --image registry.example.com/honeydue"
[[ -n "$overlay" ]] || die "--overlay (or HONEYDUE_OVERLAY) is required: your copy of deploy-k3s/overlays/example, e.g. --overlay deploy-k3s/overlays/prod"
[[ -f "$overlay/kustomization.yaml" ]] || die "no kustomization.yaml in overlay $overlay"
overlay="$(cd "$overlay" && pwd)"

if [[ -z "$tag" ]]; then
    # A commit tag must mean that commit: refuse to build uncommitted changes under its name.
    if [[ -n "$(git -C "$repo_root" status --porcelain --untracked-files=no)" ]]; then
        die "the working tree has uncommitted changes; commit them or pass --tag"
    fi
    tag="$(git -C "$repo_root" rev-parse --short=12 HEAD)"
fi

# kubectl with the chosen context; the `+` expansion keeps `set -u` happy when it is empty.
kube_args=()
if [[ -n "$context" ]]; then
    kube_args=(--context "$context")
fi
k() { kubectl "${kube_args[@]+"${kube_args[@]}"}" "$@"; }

# Each phase is applied with --prune on its label: an object of that phase that the manifests no
# longer contain (a component removed, a renamed Service) is deleted instead of lingering. The kinds
# are listed rather than left to kubectl's default, which also covers Secrets and
# PersistentVolumeClaims: neither is in the manifests (the Secret is created by hand, Redis's claim
# by its StatefulSet), so they stay out of a prune's reach. Namespaces are never pruned either.
prune_kinds=(
    core/v1/ConfigMap core/v1/Service apps/v1/Deployment apps/v1/StatefulSet batch/v1/Job
    policy/v1/PodDisruptionBudget networking.k8s.io/v1/NetworkPolicy networking.k8s.io/v1/Ingress
    helm.cattle.io/v1/HelmChartConfig
)
apply_phase() {
    local args=(apply -f "$rendered" -l "$phase_label=$1" --prune) kind
    for kind in "${prune_kinds[@]}"; do
        args+=(--prune-allowlist="$kind")
    done
    k "${args[@]}"
}

work="$(mktemp -d "${TMPDIR:-/tmp}/honeydue-deploy.XXXXXX")"
# kustomize refuses absolute paths to bases (and a base that contains its user), so the release
# layer that pins the image sits beside the overlay for the duration of the run.
release="$(mktemp -d "$(dirname "$overlay")/.release.XXXXXX")"
cleanup() { rm -rf "$work" "$release"; }
trap cleanup EXIT

cat >"$release/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../$(basename "$overlay")
images:
  - name: honeydue
    newName: $image
    newTag: "$tag"
EOF
rendered="$work/manifests.yaml"
k kustomize "$release" >"$rendered"

if [[ $dry_run -eq 1 ]]; then
    cat "$rendered"
    exit 0
fi

require_secret_values

if [[ $build -eq 1 ]]; then
    step "building $image:$tag for linux/amd64 and pushing"
    docker buildx build --platform linux/amd64 --file "$repo_root/Dockerfile" \
        --tag "$image:$tag" --push "$repo_root"
fi

step "applying shared objects (namespace, config, redis, services, ingress, budgets, traefik)"
apply_phase base

step "running database migrations with $image:$tag"
# A Job's pod template cannot change: replace the previous run.
k -n "$namespace" delete job migrate --ignore-not-found --wait=true
apply_phase migrate
deadline=$((SECONDS + migrate_timeout))
while :; do
    conditions="$(k -n "$namespace" get job migrate \
        -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')"
    case " $conditions " in
        *" Complete "*) break ;;
        *" Failed "*)
            k -n "$namespace" logs job/migrate --tail=100 >&2 || true
            die "migration failed; nothing was rolled out (the old version keeps serving)" ;;
    esac
    if ((SECONDS >= deadline)); then
        k -n "$namespace" logs job/migrate --tail=100 >&2 || true
        die "migration did not finish within ${migrate_timeout}s; nothing was rolled out"
    fi
    sleep 5
done
k -n "$namespace" logs job/migrate --tail=20 >&2 || true

step "rolling out the Deployments"
apply_phase rollout
while read -r deployment; do
    k -n "$namespace" rollout status "$deployment" --timeout="${rollout_timeout}s"
done < <(k -n "$namespace" get deployments -l "$phase_label=rollout" -o name)

step "deployed $image:$tag"
