/**
 * Schema validation of Kubernetes objects, offline, against the OpenAPI schemas compiled into the
 * `kubernetes-models` package (the same definitions the API server validates with).
 *
 * Two gaps of those schemas are closed here:
 * - They accept unknown properties (the API server's strict field validation rejects them, and a misspelt
 *   field such as `readinessProbes` would otherwise be silently dropped). The document is handed to the
 *   compiled validator behind a Proxy that records every property the validator reads: a property it never
 *   reads is not in the schema. Maps (labels, annotations, ConfigMap data, resource quantities) are read key
 *   by key, so their keys count as known.
 * - An unknown apiVersion/kind is an error, not a pass.
 */

import type { Failure } from './k8s-policy';

export interface K8sObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown; annotations?: Record<string, unknown> } & Record<string, unknown>;
  [key: string]: unknown;
}

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

interface CompiledValidator {
  (data: unknown): boolean;
  errors?: AjvError[] | null;
}

/**
 * kubernetes-models is an ES module with only an `import` export condition, and this project compiles to
 * CommonJS, where TypeScript rewrites `import()` into `require()`. A Function keeps a real dynamic import.
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

const validators = new Map<string, Promise<CompiledValidator | undefined>>();

/** Core (`v1`), bare groups (`apps`, `batch`, `policy`, `autoscaling`) and `*.k8s.io` groups: the built-in API. */
export function schemaModuleName(apiVersion: string, kind: string): string | undefined {
  const parts = apiVersion.split('/');
  if (parts.length > 2 || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  const [group, version] = parts.length === 1 ? ['core', parts[0]] : parts;
  if (!/^v\d+((alpha|beta)\d+)?$/.test(version)) return undefined;
  if (group.includes('.') && !group.endsWith('.k8s.io')) return undefined;
  const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  return `IoK8sApi${capitalize(group.split('.')[0])}${capitalize(version)}${kind}`;
}

function loadValidator(apiVersion: string, kind: string): Promise<CompiledValidator | undefined> {
  const name = schemaModuleName(apiVersion, kind);
  if (!name) return Promise.resolve(undefined);
  let pending = validators.get(name);
  if (!pending) {
    pending = importModule(`kubernetes-models/_schemas/${name}`).then(
      (mod) => {
        const validate = (mod as { validate?: unknown }).validate;
        return typeof validate === 'function' ? (validate as CompiledValidator) : undefined;
      },
      (error: unknown) => {
        const code = (error as { code?: string }).code;
        if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return undefined;
        throw error;
      },
    );
    validators.set(name, pending);
  }
  return pending;
}

function describe(error: AjvError): string {
  const p = error.params;
  switch (error.keyword) {
    case 'type':
      return `must be ${String(p.type)}`;
    case 'required':
      return `required property "${String(p.missingProperty)}" is missing`;
    case 'enum':
      return `must be one of ${JSON.stringify(p.allowedValues)}`;
    case 'format':
      return `must match format ${String(p.format)}`;
    default:
      return error.message ?? `${error.keyword} ${JSON.stringify(p)}`;
  }
}

/** JSON pointer (`/spec/template`) to the dotted path the policy checks print (`spec.template`, `containers[0]`). */
export function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(
      (path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : path ? `${path}.${segment}` : segment),
      '',
    );
}

type Tracked = WeakMap<object, Set<string>>;

function tracking(value: unknown, seen: Tracked): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (!seen.has(value)) seen.set(value, new Set());
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === 'string') seen.get(target)!.add(key);
      return tracking(Reflect.get(target, key, receiver), seen);
    },
  });
}

function unknownFields(value: unknown, seen: Tracked, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  const read = seen.get(value);
  if (Array.isArray(value)) {
    value.forEach((item, i) => unknownFields(item, seen, `${path}[${i}]`, out));
    return;
  }
  // Never looked into by the validator: a free-form value (no properties in its schema), not a typo.
  if (!read || read.size === 0) return;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const childPath = path ? `${path}.${key}` : key;
    if (!read.has(key)) out.push(childPath);
    else unknownFields(child, seen, childPath, out);
  }
}

/** Schema failures of one object (check ids K8S_SCHEMA, K8S_UNKNOWN_FIELD, K8S_UNKNOWN_KIND). */
export async function schemaFailures(
  object: K8sObject,
  where: Omit<Failure, 'path' | 'message' | 'check'>,
): Promise<Failure[]> {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return [{ ...where, path: '', message: 'apiVersion and kind must be strings', check: 'K8S_SCHEMA' }];
  }
  const validate = await loadValidator(apiVersion, kind);
  if (!validate) {
    return [
      {
        ...where,
        path: 'kind',
        message: `unknown kind ${apiVersion}/${kind}: not a built-in Kubernetes API type this validator knows`,
        check: 'K8S_UNKNOWN_KIND',
      },
    ];
  }
  const seen: Tracked = new WeakMap();
  const failures: Failure[] = [];
  if (!validate(tracking(object, seen))) {
    for (const error of validate.errors ?? []) {
      failures.push({
        ...where,
        path: pointerToPath(error.instancePath),
        message: describe(error),
        check: 'K8S_SCHEMA',
      });
    }
  }
  const unknown: string[] = [];
  unknownFields(object, seen, '', unknown);
  for (const path of unknown) {
    failures.push({ ...where, path, message: 'unknown field (not in the schema)', check: 'K8S_UNKNOWN_FIELD' });
  }
  return failures;
}
