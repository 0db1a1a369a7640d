import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

/**
 * deploy/k8s: the three overlays render (kubectl kustomize) and pass the offline validator
 * (scripts/k8s-validate.ts: Kubernetes schemas, unknown kinds and fields, checkov-like policy checks), a
 * deliberately broken copy of an overlay makes it exit non-zero naming the object, the path and the check,
 * and the rendered objects say what the deployment relies on (migrations off in the replicas, the Job
 * migrating straight to PostgreSQL, TLS for branchloans.com, a default-deny NetworkPolicy...).
 * Needs kubectl (`.ci/k8s-validate.sh` installs it) and the build (`npm test` builds first).
 */
const root = path.resolve(__dirname, '../..');
const validator = path.join(root, 'dist/scripts/k8s-validate.js');
const OVERLAYS = ['dev', 'staging', 'production'] as const;
const overlayDir = (env: string, base = path.join(root, 'deploy/k8s')) => path.join(base, 'overlays', env);

interface Run {
  status: number | null;
  output: string;
}

function validate(args: string[], input?: string): Run {
  const result = spawnSync(process.execPath, [validator, ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
    timeout: 60_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

type Obj = Record<string, any>;

function render(dir: string): Obj[] {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}${result.error ?? ''}`);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
}

const copies: string[] = [];
afterAll(() => {
  for (const dir of copies) fs.rmSync(dir, { recursive: true, force: true });
});

/** deploy/k8s copied to a temporary directory, with JSON 6902 operations appended to one overlay's patches. */
function brokenCopy(env: string, target: string, operations: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-broken-'));
  copies.push(dir);
  fs.cpSync(path.join(root, 'deploy/k8s'), path.join(dir, 'k8s'), { recursive: true });
  const kustomization = path.join(overlayDir(env, path.join(dir, 'k8s')), 'kustomization.yaml');
  let text = fs.readFileSync(kustomization, 'utf8');
  if (!/^patches:/m.test(text)) text += '\npatches:\n';
  const indented = operations
    .trim()
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
  fs.writeFileSync(kustomization, `${text}  - target:\n${target}\n    patch: |-\n${indented}\n`);
  return overlayDir(env, path.join(dir, 'k8s'));
}

const apiDeployment = '      kind: Deployment\n      name: branchloans-api';

beforeAll(() => {
  if (!fs.existsSync(validator)) throw new Error(`${validator} is missing: run npm run build first`);
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (kubectl.status !== 0) throw new Error('kubectl is required (apt-get install kubectl; .ci/k8s-validate.sh does)');
});

describe('the overlays', () => {
  test('all three render and pass the schemas and the policy checks', () => {
    const run = validate(OVERLAYS.map((env) => overlayDir(env)));
    expect(run.output).not.toMatch(/^FAIL/m);
    for (const env of OVERLAYS) {
      expect(run.output).toMatch(new RegExp(`^ok deploy/k8s/overlays/${env}: \\d+ objects .*, 0 failures`, 'm'));
    }
    expect(run.status).toBe(0);
  });

  test('.ci/k8s-validate.sh (the .ci/run step) passes them', () => {
    const result = spawnSync('bash', [path.join(root, '.ci/k8s-validate.sh')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, K8S_VALIDATE_SKIP_BUILD: '1' },
      timeout: 180_000,
    });
    expect(`${result.stdout}${result.stderr}`).toMatch(/^ok deploy\/k8s\/overlays\/production: /m);
    expect(result.status).toBe(0);
  });
});

describe('a broken manifest fails', () => {
  test('replicas as a string: a schema error at spec.replicas', () => {
    const dir = brokenCopy('dev', apiDeployment, '- op: add\n  path: /spec/replicas\n  value: two');
    const run = validate([dir]);
    expect(run.output).toMatch(
      /^FAIL \S+ Deployment\/branchloans-api \(namespace branchloans-dev\) spec\.replicas: must be integer \[K8S_SCHEMA\]$/m,
    );
    expect(run.status).toBe(1);
  });

  test('a container without an image', () => {
    const dir = brokenCopy('staging', apiDeployment, '- op: remove\n  path: /spec/template/spec/containers/0/image');
    const run = validate([dir]);
    expect(run.output).toMatch(
      /Deployment\/branchloans-api .*spec\.template\.spec\.containers\[0\]\.image: the container has no image \[BL_K8S_IMAGE\]/,
    );
    expect(run.status).toBe(1);
  });

  test('a privileged container without resources', () => {
    const dir = brokenCopy(
      'production',
      apiDeployment,
      [
        '- op: add',
        '  path: /spec/template/spec/containers/0/securityContext/privileged',
        '  value: true',
        '- op: remove',
        '  path: /spec/template/spec/containers/0/resources',
      ].join('\n'),
    );
    const run = validate([dir]);
    expect(run.output).toMatch(/containers\[0\]\.securityContext\.privileged: must not be true \[CKV_K8S_16\]/);
    for (const check of ['CKV_K8S_10', 'CKV_K8S_11', 'CKV_K8S_12', 'CKV_K8S_13']) {
      expect(run.output).toContain(`[${check}]`);
    }
    expect(run.status).toBe(1);
  });

  test('a misspelt field (readinessProbes): unknown to the schema', () => {
    const dir = brokenCopy(
      'dev',
      apiDeployment,
      '- op: add\n  path: /spec/template/spec/containers/0/readinessProbes\n  value: {}',
    );
    const run = validate([dir]);
    expect(run.output).toMatch(
      /containers\[0\]\.readinessProbes: unknown field \(not in the schema\) \[K8S_UNKNOWN_FIELD\]/,
    );
    expect(run.status).toBe(1);
  });

  test('no probes, root, a hostPath and a latest image', () => {
    const dir = brokenCopy(
      'dev',
      apiDeployment,
      [
        '- op: remove',
        '  path: /spec/template/spec/containers/0/livenessProbe',
        '- op: replace',
        '  path: /spec/template/spec/securityContext/runAsUser',
        '  value: 0',
        '- op: add',
        '  path: /spec/template/spec/volumes/-',
        '  value: {name: host, hostPath: {path: /var/run}}',
        '- op: replace',
        '  path: /spec/template/spec/containers/0/image',
        // Another image: the overlay's `images:` entry re-tags the gateway's image whatever tag a patch sets.
        '  value: busybox:latest',
      ].join('\n'),
    );
    const run = validate([dir]);
    for (const check of ['CKV_K8S_8', 'CKV_K8S_23', 'BL_K8S_HOSTPATH', 'CKV_K8S_14']) {
      expect(run.output).toMatch(new RegExp(`Deployment/branchloans-api .*\\[${check}\\]`));
    }
    expect(run.status).toBe(1);
  });

  test('an unknown kind, and a Secret with values', () => {
    const rendered = spawnSync('kubectl', ['kustomize', overlayDir('production')], { encoding: 'utf8' }).stdout;
    const extra = [
      'apiVersion: postgresql.cnpg.io/v1',
      'kind: Pooler',
      'metadata: {name: branchloans-pg-pooler-rw, namespace: branchloans}',
      'spec: {cluster: {name: branchloans-pg}}',
      '---',
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: branchloans-gateway-secrets, namespace: branchloans}',
      'stringData: {JWT_SECRET: not-a-real-one}',
    ].join('\n');
    const run = validate(['-'], `${rendered}---\n${extra}\n`);
    expect(run.output).toMatch(
      /Pooler\/branchloans-pg-pooler-rw .*unknown kind postgresql\.cnpg\.io\/v1\/Pooler.*\[K8S_UNKNOWN_KIND\]/,
    );
    expect(run.output).toMatch(/Secret\/branchloans-gateway-secrets .*\[BL_K8S_SECRET_VALUE\]/);
    expect(run.status).toBe(1);
  });

  test('without the default-deny NetworkPolicy or the PodDisruptionBudget', () => {
    const dir = brokenCopy(
      'staging',
      '      kind: NetworkPolicy\n      name: default-deny-all',
      '- op: add\n  path: /spec/podSelector/matchLabels\n  value: {app.kubernetes.io/component: shared}',
    );
    const base = path.join(dir, '../../base/kustomization.yaml');
    const withPdb = fs.readFileSync(base, 'utf8');
    expect(withPdb).toContain('  - api-pdb.yaml\n');
    fs.writeFileSync(base, withPdb.replace('  - api-pdb.yaml\n', ''));
    const run = validate([dir]);
    expect(run.output).toMatch(/Namespace\/branchloans-staging .*\[BL_K8S_DEFAULT_DENY\]/);
    expect(run.output).toMatch(
      /Deployment\/branchloans-api .*no PodDisruptionBudget selects these pods \[BL_K8S_PDB\]/,
    );
    expect(run.status).toBe(1);
  });

  test('an overlay that does not render', () => {
    const dir = brokenCopy('dev', apiDeployment, '- op: remove\n  path: /spec/no/such/path');
    const run = validate([dir]);
    expect(run.output).toMatch(/\(render\)\/- \(object\): kubectl kustomize failed .*\[K8S_RENDER\]/);
    expect(run.status).toBe(1);
  });

  test('.ci/k8s-validate.sh exits non-zero on a broken overlay', () => {
    const dir = brokenCopy('dev', apiDeployment, '- op: add\n  path: /spec/template/spec/hostNetwork\n  value: true');
    const result = spawnSync('bash', [path.join(root, '.ci/k8s-validate.sh'), dir], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, K8S_VALIDATE_SKIP_BUILD: '1' },
      timeout: 180_000,
    });
    expect(result.stdout).toMatch(/spec\.template\.spec\.hostNetwork: must not be true \[CKV_K8S_19\]/);
    expect(result.status).not.toBe(0);
  });

  test('--require-digest: a release image must be pinned by digest', () => {
    const tagged = validate(['--require-digest', overlayDir('production')]);
    expect(tagged.output).toMatch(/Deployment\/branchloans-api .*must be pinned by digest.*\[CKV_K8S_43\]/);
    expect(tagged.status).toBe(1);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-digest-'));
    copies.push(dir);
    fs.cpSync(path.join(root, 'deploy/k8s'), path.join(dir, 'k8s'), { recursive: true });
    const kustomization = path.join(overlayDir('production', path.join(dir, 'k8s')), 'kustomization.yaml');
    const digest = `sha256:${'ab'.repeat(32)}`;
    const text = fs.readFileSync(kustomization, 'utf8');
    expect(text).toMatch(/^ {4}newTag: .+$/m);
    fs.writeFileSync(kustomization, text.replace(/^( {4}newTag: .+)$/m, `$1\n    digest: ${digest}`));
    const pinned = validate(['--require-digest', overlayDir('production', path.join(dir, 'k8s'))]);
    expect(pinned.output).toMatch(/^ok .*0 failures/m);
    expect(pinned.status).toBe(0);
  });
});

describe('what the rendered objects say', () => {
  const rendered = Object.fromEntries(OVERLAYS.map((env) => [env, render(overlayDir(env))])) as Record<
    (typeof OVERLAYS)[number],
    Obj[]
  >;
  const find = (objects: Obj[], kind: string, name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`no ${kind}/${name}`);
    return found;
  };
  const configOf = (objects: Obj[], container: Obj): Record<string, string> => {
    const ref = container.envFrom?.[0]?.configMapRef?.name as string;
    return find(objects, 'ConfigMap', ref).data as Record<string, string>;
  };
  const container = (workload: Obj) => workload.spec.template.spec.containers[0] as Obj;

  test.each(OVERLAYS)("%s: the api's memory limit leaves room beside the image's heap ceiling", (env) => {
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const cmd =
      dockerfile
        .split('\n')
        .filter((line) => line.startsWith('CMD '))
        .pop() ?? '';
    const heapMb = Number(/--max-old-space-size=(\d+)/.exec(cmd)?.[1]);
    expect(heapMb).toBeGreaterThan(0);
    const limit = String(container(find(rendered[env], 'Deployment', 'branchloans-api')).resources?.limits?.memory);
    const units: Record<string, number> = { Mi: 1, Gi: 1024, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20 };
    const match = /^(\d+(?:\.\d+)?)(Mi|Gi|M|G)$/.exec(limit);
    expect(match).not.toBeNull();
    // Room beside the old generation: the young generation, code, buffers and sockets outside the V8 heap.
    expect(heapMb * 1.5).toBeLessThanOrEqual(Number(match![1]) * units[match![2]]);
  });

  test.each(OVERLAYS)('%s: the replicas never migrate; the Job migrates straight to PostgreSQL', (env) => {
    const objects = rendered[env];
    for (const name of ['branchloans-api', 'branchloans-worker']) {
      const c = container(find(objects, 'Deployment', name));
      expect(configOf(objects, c).MIGRATE_ON_START).toBe('false');
      expect((c.env as Obj[]).find((e) => e.name === 'MIGRATE_ON_START')).toBeUndefined();
    }
    const jobs = objects.filter((o) => o.kind === 'Job');
    expect(jobs).toHaveLength(1);
    const job = container(jobs[0]);
    expect(job.args).toEqual(expect.arrayContaining(['node', 'dist/src/cli/migrate.js']));
    const databaseUrl = (job.env as Obj[]).find((e) => e.name === 'DATABASE_URL');
    expect(databaseUrl!.valueFrom.secretKeyRef).toEqual({
      name: 'branchloans-gateway-secrets',
      key: 'DATABASE_DIRECT_URL',
    });
    expect(jobs[0].spec.template.spec.restartPolicy).toBe('Never');
    // The same image as the replicas, so the Job runs this release's migrations.
    expect(job.image).toBe(container(find(objects, 'Deployment', 'branchloans-api')).image);
  });

  test.each(OVERLAYS)('%s: ports, probes, grace period and the Dockerfile user', (env) => {
    const objects = rendered[env];
    const api = find(objects, 'Deployment', 'branchloans-api');
    const c = container(api);
    const config = configOf(objects, c);
    expect(c.ports).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'http', containerPort: Number(config.PORT) }),
        expect.objectContaining({ name: 'metrics', containerPort: Number(config.METRICS_PORT) }),
      ]),
    );
    expect(config.PORT).toBe('8000');
    expect(config.METRICS_PORT).toBe('9464');
    expect(c.livenessProbe.httpGet.path).toBe('/health/live');
    expect(c.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(c.startupProbe.httpGet.path).toBe('/health/live');
    const drainMs = Number(config.SHUTDOWN_READINESS_DELAY_MS) + Number(config.SHUTDOWN_TIMEOUT_MS);
    expect(drainMs).toBeGreaterThan(0);
    expect(api.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drainMs);
    expect(api.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    // runAsNonRoot needs a number; the Dockerfile's runtime user is `node`, uid 1000 in the Node images.
    expect(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toMatch(/^USER node$/m);
    expect(api.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(config.APP_ENV).toBe(env === 'dev' ? 'development' : env);
  });

  test('production: branchloans.com with TLS from cert-manager, HTTP redirected, the nginx limits', () => {
    const ingresses = rendered.production.filter((o) => o.kind === 'Ingress');
    expect(ingresses.length).toBeGreaterThan(0);
    for (const ingress of ingresses) {
      expect(ingress.spec.rules.map((r: Obj) => r.host as string)).toEqual(['branchloans.com']);
      expect(ingress.spec.tls).toEqual([{ hosts: ['branchloans.com'], secretName: 'branchloans-com-tls' }]);
      expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/force-ssl-redirect']).toBe('true');
    }
    const withIssuer = ingresses.filter((i) => i.metadata.annotations['cert-manager.io/cluster-issuer']);
    expect(withIssuer).toHaveLength(1);
    const limits = (name: string) => {
      const a = find(rendered.production, 'Ingress', name).metadata.annotations;
      return [
        a['nginx.ingress.kubernetes.io/limit-rps'],
        a['nginx.ingress.kubernetes.io/limit-burst-multiplier'],
      ] as string[];
    };
    // .env.prod.example: API 20 r/s burst 40, GraphQL 10 r/s burst 20.
    expect(limits('branchloans-api')).toEqual(['20', '2']);
    expect(limits('branchloans-graphql')).toEqual(['10', '2']);
    expect(
      find(rendered.production, 'Ingress', 'branchloans-api').metadata.annotations[
        'nginx.ingress.kubernetes.io/proxy-body-size'
      ],
    ).toBe('128k');
  });

  test.each(OVERLAYS)('%s: default deny; only the ingress controller reaches the API port', (env) => {
    const policies = rendered[env].filter((o) => o.kind === 'NetworkPolicy');
    const deny = find(policies, 'NetworkPolicy', 'default-deny-all');
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const api = find(policies, 'NetworkPolicy', 'branchloans-api');
    const httpSources = (api.spec.ingress as Obj[]).filter((rule) => rule.ports.some((p: Obj) => p.port === 'http'));
    expect(httpSources).toHaveLength(1);
    expect(httpSources[0].from).toEqual([
      expect.objectContaining({
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
      }),
    ]);
    const egressPorts = (api.spec.egress as Obj[])
      .flatMap((rule) => (rule.ports as Obj[]).map((p) => p.port as number))
      .sort((x, y) => x - y);
    expect(egressPorts).toEqual([53, 53, 5432, 5671, 5672]);
  });

  test.each(OVERLAYS)('%s: no secret values; every Secret key referenced is documented', (env) => {
    const objects = rendered[env];
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const keys = new Set<string>();
    for (const o of objects) {
      const spec = o.spec?.template?.spec;
      for (const c of spec?.containers ?? []) {
        for (const e of c.env ?? []) {
          if (e.valueFrom?.secretKeyRef) {
            expect(e.valueFrom.secretKeyRef.name).toBe('branchloans-gateway-secrets');
            keys.add(e.valueFrom.secretKeyRef.key);
          }
        }
      }
    }
    const docs = fs.readFileSync(path.join(root, 'docs/deployment.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## Kubernetes'));
    expect(section.length).toBeGreaterThan(20);
    for (const key of keys) expect(section).toContain(`\`${key}\``);
    expect([...keys].sort()).toEqual([
      'ADMIN_EMAIL',
      'ADMIN_PASSWORD',
      'AMQP_URL',
      'DATABASE_DIRECT_URL',
      'DATABASE_URL',
      'JWT_SECRET',
    ]);
  });
});
