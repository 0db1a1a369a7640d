/**
 * Validates Kubernetes manifests offline: each kustomization directory is rendered (`kubectl kustomize`), or
 * a file of rendered YAML is read, and every object is checked against the Kubernetes OpenAPI schemas
 * (unknown kinds and unknown fields included, scripts/k8s-schema.ts) and against the policy checks of
 * scripts/k8s-policy.ts (checkov's Kubernetes checks that matter here, under checkov's ids).
 *
 *   node dist/scripts/k8s-validate.js deploy/k8s/overlays/dev deploy/k8s/overlays/staging deploy/k8s/overlays/production
 *   kubectl kustomize deploy/k8s/overlays/production | node dist/scripts/k8s-validate.js --require-digest -
 *
 * Every failure is one line: `FAIL <source> <Kind>/<name> <path>: <message> [<check id>]`. Exit code 0 when
 * everything passes, 1 on any failure (or a render that fails), 2 on a usage error. `KUBECTL` names another
 * kubectl binary. `--require-digest` adds CKV_K8S_43 (images pinned by digest: a production release).
 */

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { policyFailures, type Failure } from './k8s-policy';
import { schemaFailures, type K8sObject } from './k8s-schema';

interface Loaded {
  source: string;
  objects: K8sObject[];
  errors: string[];
}

function render(target: string): { text: string; error?: string } {
  if (target === '-') return { text: fs.readFileSync(0, 'utf8') };
  if (fs.statSync(target, { throwIfNoEntry: false })?.isDirectory()) {
    const kubectl = process.env.KUBECTL || 'kubectl';
    const result = spawnSync(kubectl, ['kustomize', target], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (result.error) return { text: '', error: `cannot run ${kubectl}: ${result.error.message}` };
    if (result.status !== 0) {
      return { text: '', error: `${kubectl} kustomize failed (exit ${result.status}): ${result.stderr.trim()}` };
    }
    return { text: result.stdout };
  }
  if (!fs.existsSync(target)) return { text: '', error: 'no such file or directory' };
  return { text: fs.readFileSync(target, 'utf8') };
}

function load(target: string): Loaded {
  const relative = path.relative(process.cwd(), path.resolve(target));
  const source = target === '-' ? '(stdin)' : relative.startsWith('..') ? path.resolve(target) : relative || '.';
  const { text, error } = render(target);
  if (error) return { source, objects: [], errors: [error] };
  const objects: K8sObject[] = [];
  const errors: string[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    if (doc.errors.length > 0) {
      errors.push(`document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      errors.push(`document ${i + 1}: not a Kubernetes object (a YAML mapping)`);
      return;
    }
    objects.push(value as K8sObject);
  });
  if (objects.length === 0 && errors.length === 0) errors.push('no Kubernetes objects');
  return { source, objects, errors };
}

function whereOf(source: string, object: K8sObject) {
  const metadata = object.metadata ?? {};
  return {
    source,
    kind: typeof object.kind === 'string' ? object.kind : '(no kind)',
    name: typeof metadata.name === 'string' ? metadata.name : '(no name)',
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : undefined,
  };
}

export function formatFailure(f: Failure): string {
  const ns = f.namespace ? ` (namespace ${f.namespace})` : '';
  return `FAIL ${f.source} ${f.kind}/${f.name}${ns} ${f.path || '(object)'}: ${f.message} [${f.check}]`;
}

export async function validateTarget(
  target: string,
  options: { requireDigest: boolean },
): Promise<{ source: string; count: number; failures: Failure[]; skipped: number; kinds: Map<string, number> }> {
  const { source, objects, errors } = load(target);
  const failures: Failure[] = errors.map((message) => ({
    source,
    kind: '(render)',
    name: '-',
    namespace: undefined,
    path: '',
    message,
    check: 'K8S_RENDER',
  }));
  const located = objects.map((object) => ({ object, where: whereOf(source, object) }));
  const kinds = new Map<string, number>();
  const identities = new Set<string>();
  for (const { object, where } of located) {
    kinds.set(where.kind, (kinds.get(where.kind) ?? 0) + 1);
    const identity = `${String(object.apiVersion)}/${where.kind}/${where.namespace ?? ''}/${where.name}`;
    if (identities.has(identity)) {
      failures.push({
        ...where,
        path: 'metadata.name',
        message: 'the same object appears twice',
        check: 'K8S_DUPLICATE',
      });
    }
    identities.add(identity);
    failures.push(...(await schemaFailures(object, where)));
  }
  const policy = policyFailures(located, options);
  failures.push(...policy.failures);
  return { source, count: objects.length, failures, skipped: policy.skipped.length, kinds };
}

async function main(argv: string[]): Promise<number> {
  const targets = argv.filter((a) => a === '-' || !a.startsWith('--'));
  const flags = argv.filter((a) => a !== '-' && a.startsWith('--'));
  const unknownFlags = flags.filter((f) => f !== '--require-digest');
  if (targets.length === 0 || unknownFlags.length > 0) {
    process.stderr.write(
      `${unknownFlags.length ? `unknown option ${unknownFlags.join(' ')}\n` : ''}` +
        'usage: k8s-validate [--require-digest] <kustomization dir | rendered.yaml | ->...\n',
    );
    return 2;
  }
  const options = { requireDigest: flags.includes('--require-digest') };
  let total = 0;
  for (const target of targets) {
    const result = await validateTarget(target, options);
    for (const failure of result.failures) process.stdout.write(`${formatFailure(failure)}\n`);
    const kinds = [...result.kinds].map(([k, n]) => `${k} ${n}`).join(', ');
    process.stdout.write(
      `${result.failures.length ? 'FAILED' : 'ok'} ${result.source}: ${result.count} objects (${kinds}), ` +
        `${result.failures.length} failures, ${result.skipped} checks skipped by checkov.io/skip annotations\n`,
    );
    total += result.failures.length;
  }
  return total > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `k8s-validate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
