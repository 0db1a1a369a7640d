/**
 * Policy checks over rendered Kubernetes manifests: the checkov Kubernetes checks that matter for this
 * service, under checkov's own ids (so a `checkov.io/skipN: CKV_K8S_8=reason` annotation skips the check
 * here and in checkov alike), plus a few of this repository's own (BL_K8S_*).
 */

import type { K8sObject } from './k8s-schema';

export interface Failure {
  /** The overlay directory or manifest file the object came from. */
  source: string;
  kind: string;
  name: string;
  namespace: string | undefined;
  /** Dotted path inside the object (`spec.template.spec.containers[0].image`); '' for the whole object. */
  path: string;
  message: string;
  check: string;
}

export interface PolicyOptions {
  /** CKV_K8S_43: every image pinned by digest (a production release; the committed overlays carry tags). */
  requireDigest: boolean;
}

type Where = Omit<Failure, 'path' | 'message' | 'check'>;
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const asObject = (v: unknown): Json => (isObject(v) ? v : {});
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Kinds whose pods serve for as long as they run: they need liveness and readiness probes. */
const LONG_RUNNING = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod']);
/** Kinds that need a PodDisruptionBudget: replicated workloads. */
const REPLICATED = new Set(['Deployment', 'StatefulSet']);
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
  'IngressClass',
  'PriorityClass',
  'CustomResourceDefinition',
]);
/** Environment variables that carry secrets (src/config/config.ts): only ever from a Secret. */
const SECRET_VARIABLES = new Set([
  'DATABASE_URL',
  'DATABASE_DIRECT_URL',
  'JWT_SECRET',
  'ADMIN_PASSWORD',
  'AMQP_URL',
  'METRICS_TOKEN',
]);

interface PodTemplate {
  spec: Json;
  labels: Record<string, string>;
  specPath: string;
}

function podTemplate(object: K8sObject): PodTemplate | undefined {
  const spec = asObject(object.spec);
  switch (object.kind) {
    case 'Pod':
      return { spec, labels: stringMap(asObject(object.metadata).labels), specPath: 'spec' };
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job': {
      const template = asObject(spec.template);
      return {
        spec: asObject(template.spec),
        labels: stringMap(asObject(template.metadata).labels),
        specPath: 'spec.template.spec',
      };
    }
    case 'CronJob': {
      const template = asObject(asObject(asObject(spec.jobTemplate).spec).template);
      return {
        spec: asObject(template.spec),
        labels: stringMap(asObject(template.metadata).labels),
        specPath: 'spec.jobTemplate.spec.template.spec',
      };
    }
    default:
      return undefined;
  }
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(asObject(v))) if (typeof val === 'string') out[k] = val;
  return out;
}

/** A Kubernetes LabelSelector (matchLabels and matchExpressions) against a label set. */
export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  if (!isObject(selector)) return false;
  for (const [k, v] of Object.entries(asObject(selector.matchLabels))) if (labels[k] !== v) return false;
  for (const expression of asArray(selector.matchExpressions)) {
    const { key, operator, values } = asObject(expression);
    const value = typeof key === 'string' ? labels[key] : undefined;
    const list = asArray(values);
    if (operator === 'In' && !(value !== undefined && list.includes(value))) return false;
    if (operator === 'NotIn' && value !== undefined && list.includes(value)) return false;
    if (operator === 'Exists' && value === undefined) return false;
    if (operator === 'DoesNotExist' && value !== undefined) return false;
  }
  return true;
}

/** `checkov.io/skip1: CKV_K8S_40=reason`: the ids this object skips, with their reasons. */
export function skippedChecks(object: K8sObject): Map<string, string> {
  const skips = new Map<string, string>();
  for (const [key, value] of Object.entries(asObject(asObject(object.metadata).annotations))) {
    if (!/^checkov\.io\/skip\d+$/.test(key) || typeof value !== 'string') continue;
    const [id, ...reason] = value.split('=');
    skips.set(id.trim(), reason.join('=').trim());
  }
  return skips;
}

/** `registry/name:tag@sha256:...` into its tag and digest. */
export function parseImage(image: string): { tag: string | undefined; digest: string | undefined } {
  const [ref, digest] = image.split('@');
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return { tag: colon > lastSlash ? ref.slice(colon + 1) : undefined, digest };
}

function containerChecks(
  container: Json,
  pod: Json,
  path: string,
  kind: string,
  isInit: boolean,
  options: PolicyOptions,
  fail: (path: string, message: string, check: string) => void,
): void {
  const image = container.image;
  if (typeof image !== 'string' || image.trim() === '') {
    fail(`${path}.image`, 'the container has no image', 'BL_K8S_IMAGE');
  } else {
    const { tag, digest } = parseImage(image);
    if (!digest && (tag === undefined || tag === 'latest')) {
      fail(`${path}.image`, `"${image}" must name a fixed tag or a digest, not latest or nothing`, 'CKV_K8S_14');
    }
    if (options.requireDigest && !/^sha256:[0-9a-f]{64}$/.test(digest ?? '')) {
      fail(`${path}.image`, `"${image}" must be pinned by digest (@sha256:...)`, 'CKV_K8S_43');
    }
  }
  if (container.imagePullPolicy !== 'Always') {
    fail(`${path}.imagePullPolicy`, 'must be Always (a tag is re-resolved at every pod start)', 'CKV_K8S_15');
  }

  const sc = asObject(container.securityContext);
  const podSc = asObject(pod.securityContext);
  const scPath = `${path}.securityContext`;
  if (sc.privileged === true) fail(`${scPath}.privileged`, 'must not be true', 'CKV_K8S_16');
  if (sc.allowPrivilegeEscalation !== false) {
    fail(`${scPath}.allowPrivilegeEscalation`, 'must be false', 'CKV_K8S_20');
  }
  if (sc.readOnlyRootFilesystem !== true) fail(`${scPath}.readOnlyRootFilesystem`, 'must be true', 'CKV_K8S_22');
  const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
  const runAsUser = sc.runAsUser ?? podSc.runAsUser;
  if (runAsNonRoot !== true) fail(`${scPath}.runAsNonRoot`, 'must be true (here or in the pod)', 'CKV_K8S_23');
  if (runAsUser === 0) fail(`${scPath}.runAsUser`, 'must not be 0 (root)', 'CKV_K8S_23');
  const capabilities = asObject(sc.capabilities);
  if (asArray(capabilities.add).length > 0) fail(`${scPath}.capabilities.add`, 'must add no capability', 'CKV_K8S_25');
  if (!asArray(capabilities.drop).includes('ALL')) {
    fail(`${scPath}.capabilities.drop`, 'must drop ALL capabilities', 'CKV_K8S_37');
  }
  const seccomp = asObject(sc.seccompProfile).type ?? asObject(podSc.seccompProfile).type;
  if (seccomp !== 'RuntimeDefault') {
    fail(`${scPath}.seccompProfile.type`, 'must be RuntimeDefault (here or in the pod)', 'CKV_K8S_31');
  }

  const resources = asObject(container.resources);
  const requests = asObject(resources.requests);
  const limits = asObject(resources.limits);
  if (requests.cpu === undefined) fail(`${path}.resources.requests.cpu`, 'must be set', 'CKV_K8S_10');
  if (limits.cpu === undefined) fail(`${path}.resources.limits.cpu`, 'must be set', 'CKV_K8S_11');
  if (requests.memory === undefined) fail(`${path}.resources.requests.memory`, 'must be set', 'CKV_K8S_12');
  if (limits.memory === undefined) fail(`${path}.resources.limits.memory`, 'must be set', 'CKV_K8S_13');

  if (!isInit && LONG_RUNNING.has(kind)) {
    if (!isObject(container.livenessProbe)) fail(`${path}.livenessProbe`, 'must be configured', 'CKV_K8S_8');
    if (!isObject(container.readinessProbe)) fail(`${path}.readinessProbe`, 'must be configured', 'CKV_K8S_9');
  }
  asArray(container.ports).forEach((port, i) => {
    if (asObject(port).hostPort !== undefined) fail(`${path}.ports[${i}].hostPort`, 'must not be set', 'CKV_K8S_26');
  });
  asArray(container.env).forEach((entry, i) => {
    const { name, value } = asObject(entry);
    if (typeof name === 'string' && SECRET_VARIABLES.has(name) && value !== undefined) {
      fail(
        `${path}.env[${i}].value`,
        `${name} is a secret: take it from a Secret (valueFrom.secretKeyRef)`,
        'BL_K8S_SECRET_LITERAL',
      );
    }
  });
}

function podChecks(
  template: PodTemplate,
  kind: string,
  options: PolicyOptions,
  fail: (path: string, message: string, check: string) => void,
): void {
  const { spec, specPath } = template;
  if (spec.hostPID === true) fail(`${specPath}.hostPID`, 'must not be true', 'CKV_K8S_17');
  if (spec.hostIPC === true) fail(`${specPath}.hostIPC`, 'must not be true', 'CKV_K8S_18');
  if (spec.hostNetwork === true) fail(`${specPath}.hostNetwork`, 'must not be true', 'CKV_K8S_19');
  if (spec.automountServiceAccountToken !== false) {
    fail(`${specPath}.automountServiceAccountToken`, 'must be false', 'CKV_K8S_38');
  }
  asArray(spec.volumes).forEach((volume, i) => {
    if (asObject(volume).hostPath !== undefined) {
      fail(`${specPath}.volumes[${i}].hostPath`, 'must not mount a host path', 'BL_K8S_HOSTPATH');
    }
  });
  const containers = asArray(spec.containers);
  if (containers.length === 0) fail(`${specPath}.containers`, 'must have at least one container', 'BL_K8S_IMAGE');
  containers.forEach((c, i) =>
    containerChecks(asObject(c), spec, `${specPath}.containers[${i}]`, kind, false, options, fail),
  );
  asArray(spec.initContainers).forEach((c, i) =>
    containerChecks(asObject(c), spec, `${specPath}.initContainers[${i}]`, kind, true, options, fail),
  );
}

function isDefaultDeny(policy: K8sObject): boolean {
  const spec = asObject(policy.spec);
  const selector = asObject(spec.podSelector);
  const types = asArray(spec.policyTypes);
  return (
    Object.keys(asObject(selector.matchLabels)).length === 0 &&
    asArray(selector.matchExpressions).length === 0 &&
    types.includes('Ingress') &&
    types.includes('Egress') &&
    asArray(spec.ingress).length === 0 &&
    asArray(spec.egress).length === 0
  );
}

/** Every policy failure of a set of rendered objects (one overlay). Skipped checks are left out. */
export function policyFailures(
  objects: { object: K8sObject; where: Where }[],
  options: PolicyOptions,
): { failures: Failure[]; skipped: (Failure & { reason: string })[] } {
  const failures: Failure[] = [];
  const skipped: (Failure & { reason: string })[] = [];
  const inNamespace = (kind: string, namespace: string | undefined) =>
    objects.filter((o) => o.object.kind === kind && o.where.namespace === namespace).map((o) => o.object);
  const namespacesWithPods = new Set<string | undefined>();

  for (const { object, where } of objects) {
    const skips = skippedChecks(object);
    const fail = (path: string, message: string, check: string) => {
      const failure = { ...where, path, message, check };
      if (skips.has(check)) skipped.push({ ...failure, reason: skips.get(check) ?? '' });
      else failures.push(failure);
    };
    const kind = where.kind;
    if (!CLUSTER_SCOPED.has(kind) && (where.namespace === undefined || where.namespace === 'default')) {
      fail('metadata.namespace', 'must name a namespace other than default', 'CKV_K8S_21');
    }
    if (kind === 'Secret' && (object.data !== undefined || object.stringData !== undefined)) {
      fail('data', 'no Secret values in the manifests: the Secret is created out of band', 'BL_K8S_SECRET_VALUE');
    }
    if (kind === 'ConfigMap') {
      for (const key of Object.keys(asObject(object.data))) {
        if (SECRET_VARIABLES.has(key))
          fail(`data.${key}`, `${key} is a secret: keep it in a Secret`, 'BL_K8S_SECRET_LITERAL');
      }
    }

    const template = podTemplate(object);
    if (!template) continue;
    namespacesWithPods.add(where.namespace);
    podChecks(template, kind, options, fail);

    const policies = inNamespace('NetworkPolicy', where.namespace);
    if (!policies.some((p) => selectorMatches(asObject(p.spec).podSelector, template.labels))) {
      fail('spec.template.metadata.labels', 'no NetworkPolicy selects these pods', 'CKV2_K8S_6');
    }
    if (REPLICATED.has(kind)) {
      const budgets = inNamespace('PodDisruptionBudget', where.namespace);
      if (!budgets.some((b) => selectorMatches(asObject(b.spec).selector, template.labels))) {
        fail('spec.template.metadata.labels', 'no PodDisruptionBudget selects these pods', 'BL_K8S_PDB');
      }
    }
  }

  for (const namespace of namespacesWithPods) {
    if (!inNamespace('NetworkPolicy', namespace).some(isDefaultDeny)) {
      failures.push({
        source: objects[0]?.where.source ?? '',
        kind: 'Namespace',
        name: namespace ?? '(none)',
        namespace,
        path: '',
        message: 'no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)',
        check: 'BL_K8S_DEFAULT_DENY',
      });
    }
  }
  return { failures, skipped };
}
