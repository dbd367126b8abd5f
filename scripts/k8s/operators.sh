# shellcheck shell=bash
# CloudNativePG and the Kubeflow spark-operator, installed for the image profile $PROFILE
# (DP_IMAGE_PROFILE, scripts/k8s/images.py). Sourced by up.sh after lib.sh (log, die, kc, need,
# wait_until, image_ref, ROOT, CONTEXT and the pins of versions.env). Both installs are idempotent.
#   upstream  the charts from their Helm repositories, with the operators' own images;
#   source    the images built here (images/cnpg, images/postgres, images/spark-operator; the caller
#             loads them into kind first: lib.sh load_images) and what the operators' Go modules
#             carry: CNPG's release manifest (server-side apply) and spark-operator's chart (local path).
# Chart values come from charts/values/{cloudnative-pg,spark-operator}.yaml in both profiles.

CNPG_MODULE="github.com/cloudnative-pg/cloudnative-pg"
SPARK_OPERATOR_MODULE="github.com/kubeflow/spark-operator/v2"

# built_ref NAME: the ref of image NAME of the profile (lib.sh image_ref), or a clear failure.
built_ref() {
  local ref
  ref="$(image_ref "$1")"
  [[ -n "$ref" ]] || die "no $PROFILE-profile image named $1 (python3 scripts/k8s/images.py --profile $PROFILE list)"
  printf '%s\n' "$ref"
}

# go_module_dir MODULE@VERSION: its source folder in the Go module cache (downloaded if needed).
go_module_dir() {
  local dir
  need go
  dir="$(cd / && go mod download -json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("Dir", ""))')"
  [[ -d "$dir" ]] || die "go mod download $1 failed (is the Go module proxy reachable?)"
  printf '%s\n' "$dir"
}

# --------------------------------------------------------------------------- CloudNativePG
install_cnpg() {
  case "$PROFILE" in
    upstream)
      echo "    cnpg (cnpg/cloudnative-pg $CNPG_CHART_VERSION) in cnpg-system"
      helm repo add --force-update cnpg https://cloudnative-pg.github.io/charts >/dev/null
      helm upgrade --install cnpg cnpg/cloudnative-pg --version "$CNPG_CHART_VERSION" --namespace cnpg-system \
        --create-namespace --kube-context "$CONTEXT" --values "$ROOT/charts/values/cloudnative-pg.yaml" \
        --wait --timeout 10m
      ;;
    source) install_cnpg_manifest ;;
    *) die "unknown image profile '$PROFILE'" ;;
  esac
  kc wait --for condition=established --timeout=120s crd/clusters.postgresql.cnpg.io >/dev/null
  wait_until "CloudNativePG operator" 300 cnpg-system "app.kubernetes.io/name=cloudnative-pg" cnpg_ready
}

# The release manifest of the CNPG module with its Deployment patched (kustomize): our operator
# image, which CNPG also runs as the init container that copies the instance manager into every
# PostgreSQL pod (OPERATOR_IMAGE_NAME); our operand image as the default of Clusters without an
# imageName (POSTGRES_IMAGE_NAME); IfNotPresent (the manifest says Always: nothing can be pulled);
# replicas and resources from charts/values/cloudnative-pg.yaml, read by `helm template` so that
# file stays the one place for them.
install_cnpg_manifest() {
  local dir operator postgres work
  dir="$(go_module_dir "$CNPG_MODULE@v$CNPG_OPERATOR_VERSION")"
  operator="$(built_ref cnpg)"
  postgres="$(built_ref postgres)"
  echo "    cnpg (release manifest of $CNPG_MODULE v$CNPG_OPERATOR_VERSION, image $operator) in cnpg-system"
  work="$ROOT/.local/k8s-build/cnpg-install"  # rewritten on each run; kept for inspection
  rm -rf "$work"
  mkdir -p "$work/patch/templates" "$work/kustomize"
  printf 'apiVersion: v2\nname: cnpg-patch\nversion: 0.0.0\n' >"$work/patch/Chart.yaml"
  cat >"$work/patch/templates/deployment.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cnpg-controller-manager
  namespace: cnpg-system
spec:
  replicas: {{ .Values.replicaCount }}
  template:
    spec:
      containers:
        - name: manager
          image: {{ .Values.operatorImage | quote }}
          imagePullPolicy: IfNotPresent
          env:
            - name: OPERATOR_IMAGE_NAME
              value: {{ .Values.operatorImage | quote }}
            - name: POSTGRES_IMAGE_NAME
              value: {{ .Values.postgresImage | quote }}
          {{- with .Values.resources }}
          resources: {{- toYaml . | nindent 12 }}
          {{- end }}
EOF
  helm template cnpg "$work/patch" --values "$ROOT/charts/values/cloudnative-pg.yaml" \
    --set-string "operatorImage=$operator" --set-string "postgresImage=$postgres" \
    --show-only templates/deployment.yaml >"$work/kustomize/deployment-patch.yaml"
  cp "$dir/releases/cnpg-$CNPG_OPERATOR_VERSION.yaml" "$work/kustomize/cnpg.yaml"
  printf 'resources: [cnpg.yaml]\npatches: [{path: deployment-patch.yaml}]\n' >"$work/kustomize/kustomization.yaml"
  kc kustomize "$work/kustomize" >"$work/cnpg.yaml"
  grep -q "$operator" "$work/cnpg.yaml" || die "the CNPG manifest was not patched with $operator"
  # Server-side: the CRDs exceed the client-side annotation limit (CNPG's installation docs).
  kc apply --server-side --force-conflicts --field-manager=datapipeline -f "$work/cnpg.yaml" >/dev/null
}

# Operator Available and its admission webhooks answering: a server-side dry run of a minimal
# Cluster passes CNPG's mutating and validating webhooks (which also check the default image tag).
cnpg_ready() {
  kc -n cnpg-system wait --for condition=Available --timeout=5s deploy -l app.kubernetes.io/name=cloudnative-pg \
    && kc create --dry-run=server -f - <<'EOF'
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: webhook-probe
  namespace: cnpg-system
spec:
  instances: 1
  storage:
    size: 1Gi
EOF
}

# --------------------------------------------------------------------------- spark-operator
install_spark_operator() {
  local chart ref
  local args=(--namespace spark-operator --create-namespace --kube-context "$CONTEXT"
              --values "$ROOT/charts/values/spark-operator.yaml" --wait --timeout 10m)
  case "$PROFILE" in
    upstream)
      echo "    spark-operator (spark-operator/spark-operator $SPARK_OPERATOR_VERSION) in spark-operator"
      helm repo add --force-update spark-operator https://kubeflow.github.io/spark-operator >/dev/null
      helm upgrade --install spark-operator spark-operator/spark-operator --version "$SPARK_OPERATOR_VERSION" "${args[@]}"
      ;;
    source)
      chart="$(go_module_dir "$SPARK_OPERATOR_MODULE@v$SPARK_OPERATOR_VERSION")/charts/spark-operator-chart"
      ref="$(built_ref spark-operator)"
      echo "    spark-operator (chart of $SPARK_OPERATOR_MODULE v$SPARK_OPERATOR_VERSION, image $ref) in spark-operator"
      # The chart writes the image as registry/repository:tag; docker.io/ is where kind load puts ours.
      helm upgrade --install spark-operator "$chart" "${args[@]}" --set image.registry=docker.io \
        --set-string "image.repository=${ref%:*}" --set-string "image.tag=${ref##*:}"
      ;;
    *) die "unknown image profile '$PROFILE'" ;;
  esac
  kc wait --for condition=established --timeout=120s crd/sparkapplications.sparkoperator.k8s.io >/dev/null
  wait_until "spark-operator controller and webhook" 300 spark-operator "app.kubernetes.io/name=spark-operator" \
    spark_operator_ready
}

# Controller and webhook Available, the webhook's CA bundle injected and its service endpoints
# ready: without the webhook, driver/executor settings are silently dropped (STACK-FACTS #4).
spark_operator_ready() {
  local ca
  kc -n spark-operator wait --for condition=Available --timeout=5s deploy -l app.kubernetes.io/name=spark-operator \
    || return 1
  ca="$(kc get mutatingwebhookconfiguration spark-operator-webhook -o jsonpath='{.webhooks[0].clientConfig.caBundle}')"
  [[ -n "$ca" ]] || return 1
  [[ -n "$(kc -n spark-operator get endpointslices -l kubernetes.io/service-name=spark-operator-webhook-svc \
      -o jsonpath='{.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}')" ]]
}
