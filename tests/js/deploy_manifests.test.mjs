// The container image and the Kubernetes manifests (docs/kubernetes.md), checked without a
// cluster or a container runtime:
// - every YAML under deploy/ parses;
// - each kustomization (base and overlays) renders with the subset of Kustomize it uses
//   (resources, JSON 6902 patches, images; anything else fails), compared with
//   `kubectl kustomize` when kubectl is installed;
// - each object validates against its schema: core objects with kubernetes-models, the
//   HTTPRoute with @kubernetes-models/gateway-api, the InferencePool with the OpenAPI schema
//   of the vendored CRD (deploy/kubernetes/crds) plus its two CEL rules written out here;
// - the objects agree with each other and with moxing: selectors, ports, probe paths, the
//   grace period against serve.toml's drain-timeout, CPU against threads, serve.toml's keys
//   and the container's flags against `moxing serve --help`, the pool and the picker;
// - `moxing serve --config` takes the base's serve.toml, and the probes' paths answer;
// - the Containerfile is linted; its configure step runs on a copy of what it copies into the
//   builder, and its staging step on the build tree's binary (scripts/container_build_steps.sh);
// - mutated copies fail each check, so the checks can fail.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import Ajv from 'ajv';
import { startServer } from './moxing_server.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = path.join(REPO, 'deploy');
const K8S = path.join(DEPLOY, 'kubernetes');
const BIN = process.env.MOXING_BIN || path.join(REPO, 'build/release/moxing');
const OVERLAYS = ['base', 'overlays/model-volume', 'overlays/inference-gateway'];
const STEPS = readFileSync(path.join(REPO, 'scripts/container_build_steps.sh'), 'utf8');

// --- YAML and Kustomize ------------------------------------------------------------------

// The documents of a YAML stream; any error or warning (a duplicate key too) throws.
function parseText(text, name) {
  const docs = YAML.parseAllDocuments(text);
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${name}: ${d.errors.map((e) => e.message).join('; ')}`);
    if (d.warnings.length) throw new Error(`${name}: ${d.warnings.map((e) => e.message).join('; ')}`);
  }
  return docs.map((d) => d.toJS()).filter((o) => o !== null);
}
const parseDocs = (file) => parseText(readFileSync(file, 'utf8'), file);

function yamlFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(name) ? [p] : [];
  });
}

const unescapePointer = (s) => s.replace(/~1/g, '/').replace(/~0/g, '~');

// RFC 6902 add / remove / replace, the operations the overlays use.
function applyJsonPatch(doc, ops) {
  for (const op of ops) {
    const parts = op.path.split('/').slice(1).map(unescapePointer);
    const last = parts.pop();
    let parent = doc;
    for (const p of parts) {
      if (parent?.[p] === undefined) throw new Error(`patch ${op.op} ${op.path}: no ${p}`);
      parent = parent[p];
    }
    const isArray = Array.isArray(parent);
    const has = isArray ? last === '-' || Number(last) < parent.length : Object.hasOwn(parent, last);
    if (op.op === 'add') {
      if (isArray) parent.splice(last === '-' ? parent.length : Number(last), 0, structuredClone(op.value));
      else parent[last] = structuredClone(op.value);
    } else if (op.op === 'remove' || op.op === 'replace') {
      if (!has || last === '-') throw new Error(`patch ${op.op} ${op.path}: nothing there`);
      if (op.op === 'remove') isArray ? parent.splice(Number(last), 1) : delete parent[last];
      else parent[isArray ? Number(last) : last] = structuredClone(op.value);
    } else {
      throw new Error(`patch op ${op.op} is not supported here`);
    }
  }
  return doc;
}

function setImages(objects, images) {
  for (const o of objects) {
    const spec = o.spec?.template?.spec;
    for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      const [name, tag] = c.image.split(':');
      const rule = images.find((i) => i.name === name);
      if (rule) c.image = `${rule.newName ?? name}:${rule.newTag ?? tag ?? 'latest'}`;
    }
  }
}

// The objects `kubectl kustomize DIR` would print, for the Kustomize fields used here.
function render(dir) {
  const k = parseDocs(path.join(dir, 'kustomization.yaml'))[0];
  const known = new Set(['apiVersion', 'kind', 'resources', 'patches', 'images']);
  for (const key of Object.keys(k)) assert.ok(known.has(key), `${dir}: kustomization field ${key} is not rendered by this test`);
  assert.equal(k.kind, 'Kustomization');
  const objects = [];
  for (const r of k.resources ?? []) {
    const p = path.join(dir, r);
    objects.push(...(statSync(p).isDirectory() ? render(p) : parseDocs(p)));
  }
  for (const patch of k.patches ?? []) {
    assert.ok(patch.target && patch.patch, `${dir}: only inline patches with a target are rendered here`);
    const targets = objects.filter((o) => o.kind === patch.target.kind && o.metadata.name === patch.target.name);
    assert.equal(targets.length, 1, `${dir}: patch target ${patch.target.kind}/${patch.target.name}`);
    applyJsonPatch(targets[0], YAML.parse(patch.patch));
  }
  setImages(objects, k.images ?? []);
  return objects;
}

const key = (o) => `${o.kind}/${o.metadata.name}`;
const byKey = (objects) => Object.fromEntries(objects.map((o) => [key(o), o]));

// --- Schemas -----------------------------------------------------------------------------

const crdFile = path.join(K8S, 'crds/inference.networking.k8s.io_inferencepools.yaml');
const poolSchema = parseDocs(crdFile)[0].spec.versions.find((v) => v.name === 'v1').schema.openAPIV3Schema;
// Kubernetes' schema extensions (x-kubernetes-*) are not JSON Schema keywords: not strict.
const validatePoolSchema = new Ajv({ strict: false, allErrors: true }).compile(poolSchema);

// The InferencePool CRD's CEL rules (x-kubernetes-validations), which a JSON Schema
// validator does not run.
function poolCelErrors(pool) {
  const errors = [];
  const ports = pool.spec?.targetPorts ?? [];
  if (!ports.every((p1) => ports.filter((p2) => p1.number === p2.number).length === 1)) errors.push('port number must be unique');
  const ref = pool.spec?.endpointPickerRef;
  if (ref && (ref.kind ?? 'Service') === 'Service' && !ref.port) errors.push("port is required when kind is 'Service'");
  return errors;
}

// The import path of the kubernetes-models module of an apiVersion.
function modelModule(apiVersion) {
  if (apiVersion.startsWith('gateway.networking.k8s.io/')) return `@kubernetes-models/gateway-api/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;  // "v1" (core), "apps/v1", "autoscaling/v2", ...
}

// Schema errors of one object ([] if valid).
async function schemaErrors(o) {
  if (o.apiVersion === 'inference.networking.k8s.io/v1' && o.kind === 'InferencePool') {
    const ok = validatePoolSchema(o);
    return [...(ok ? [] : validatePoolSchema.errors.map((e) => `${e.instancePath} ${e.message}`)), ...poolCelErrors(o)];
  }
  let mod;
  try {
    mod = await import(modelModule(o.apiVersion));
  } catch {
    return [`no schema for apiVersion ${o.apiVersion}`];
  }
  if (typeof mod[o.kind] !== 'function') return [`no schema for ${o.apiVersion} ${o.kind}`];
  try {
    new mod[o.kind](o).validate();
    return [];
  } catch (e) {
    return [e.message];
  }
}

// --- What the objects must agree on ------------------------------------------------------

// serve.toml: `key = value` lines (integers, booleans, strings), comments, blank lines.
function parseServeToml(text) {
  const out = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+|\s+$/g, '');
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-z][a-z0-9-]*)\s*=\s*(-?\d+|true|false|"[^"\\]*")\s*(#.*)?$/.exec(line);
    if (!m) throw new Error(`serve.toml: cannot read "${line}"`);
    out[m[1]] = m[2].startsWith('"') ? m[2].slice(1, -1) : m[2] === 'true' ? true : m[2] === 'false' ? false : Number(m[2]);
  }
  return out;
}

const matches = (selector, labels) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const cpuCount = (q) => (String(q).endsWith('m') ? Number(String(q).slice(0, -1)) / 1000 : Number(q));

// The disagreements between the rendered objects of one kustomization ([] if none).
function consistencyErrors(objects) {
  const errors = [];
  const all = byKey(objects);
  const check = (cond, message) => cond || errors.push(message);
  const deployment = all['Deployment/moxing'];
  if (!deployment) return ['no Deployment/moxing'];
  const pod = deployment.spec.template;
  const server = pod.spec.containers.find((c) => c.name === 'moxing');
  if (!server) return ['no container moxing'];
  const configMaps = objects.filter((o) => o.kind === 'ConfigMap');
  const config = all['ConfigMap/moxing-config'];
  const toml = parseServeToml(config?.data?.['serve.toml'] ?? '');

  check(matches(deployment.spec.selector.matchLabels, pod.metadata.labels), 'Deployment selector does not match its pods');
  const http = server.ports?.find((p) => p.name === 'http');
  check(http && http.containerPort === toml.port, `container port http (${http?.containerPort}) is not serve.toml's port (${toml.port})`);
  check(toml.host === '0.0.0.0', 'serve.toml host must be 0.0.0.0 (probes and peers reach the pod IP)');

  check(server.readinessProbe?.httpGet?.path === '/health/ready', 'readiness probe is not GET /health/ready');
  check(server.livenessProbe?.httpGet?.path === '/health/live', 'liveness probe is not GET /health/live');
  const startup = server.startupProbe;
  check(startup && startup.periodSeconds * startup.failureThreshold >= 300, 'startup probe gives loading less than 5 minutes');
  const preStop = server.lifecycle?.preStop?.exec?.command ?? [];
  const preStopSeconds = preStop[0] === 'sleep' ? Number(preStop[1]) : NaN;
  check(preStopSeconds > 0, 'no preStop sleep for the endpoints to drop the pod');
  check(typeof toml['drain-timeout'] === 'number', 'serve.toml sets no drain-timeout');
  check(pod.spec.terminationGracePeriodSeconds > toml['drain-timeout'] + preStopSeconds,
    `terminationGracePeriodSeconds ${pod.spec.terminationGracePeriodSeconds} <= drain-timeout ${toml['drain-timeout']} + preStop ${preStopSeconds}`);

  const res = server.resources ?? {};
  check(cpuCount(res.requests?.cpu) === toml.threads, `CPU request ${res.requests?.cpu} is not serve.toml's threads ${toml.threads}`);
  check(res.limits?.memory !== undefined && res.requests?.memory === res.limits.memory, 'memory request and limit differ or are missing');

  check(pod.spec.securityContext?.runAsNonRoot === true, 'pod may run as root');
  for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
    check(c.securityContext?.readOnlyRootFilesystem === true, `${c.name}: root filesystem writable`);
    check(c.securityContext?.allowPrivilegeEscalation === false, `${c.name}: privilege escalation allowed`);
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.configMapKeyRef;
      if (ref) check(configMaps.some((m) => m.metadata.name === ref.name && ref.key in (m.data ?? {})), `${c.name}: env ${e.name} names a missing ConfigMap key ${ref.name}/${ref.key}`);
    }
    for (const m of c.volumeMounts ?? []) check(pod.spec.volumes.some((v) => v.name === m.name), `${c.name}: mounts an undeclared volume ${m.name}`);
  }
  for (const v of pod.spec.volumes) {
    if (v.configMap) check(configMaps.some((m) => m.metadata.name === v.configMap.name), `volume ${v.name}: no ConfigMap ${v.configMap.name}`);
    if (v.persistentVolumeClaim) check(all[`PersistentVolumeClaim/${v.persistentVolumeClaim.claimName}`], `volume ${v.name}: no PVC ${v.persistentVolumeClaim.claimName}`);
  }

  const service = all['Service/moxing'];
  check(service && matches(service.spec.selector, pod.metadata.labels), 'Service moxing does not select the pods');
  for (const p of service?.spec.ports ?? []) check(server.ports.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort), `Service port ${p.name}: no container port ${p.targetPort}`);
  const pdb = all['PodDisruptionBudget/moxing'];
  check(pdb && matches(pdb.spec.selector.matchLabels, pod.metadata.labels), 'PodDisruptionBudget does not select the pods');
  const hpa = all['HorizontalPodAutoscaler/moxing'];
  check(hpa && hpa.spec.scaleTargetRef.kind === 'Deployment' && hpa.spec.scaleTargetRef.name === 'moxing', 'HPA does not scale Deployment/moxing');

  const pool = objects.find((o) => o.kind === 'InferencePool');
  if (pool) {
    check(matches(pool.spec.selector.matchLabels, pod.metadata.labels), 'InferencePool does not select the moxing pods');
    check(pool.spec.targetPorts.some((p) => p.number === http?.containerPort), 'InferencePool targetPorts miss the server port');
    const ref = pool.spec.endpointPickerRef;
    const eppService = all[`Service/${ref.name}`];
    check(eppService?.spec.ports.some((p) => p.port === ref.port.number), `endpointPickerRef: no Service ${ref.name} port ${ref.port.number}`);
    const epp = objects.find((o) => o.kind === 'Deployment' && eppService && matches(eppService.spec.selector, o.spec.template.metadata.labels));
    check(epp, 'no Deployment behind the endpoint picker Service');
    const args = epp?.spec.template.spec.containers[0].args ?? [];
    check(args.includes(`--pool-name=${pool.metadata.name}`), 'the endpoint picker watches another pool');
    const configFile = args.find((a) => a.startsWith('--config-file='))?.split('=')[1] ?? '';
    const mount = epp?.spec.template.spec.containers[0].volumeMounts?.find((m) => configFile.startsWith(`${m.mountPath}/`));
    const volume = epp?.spec.template.spec.volumes.find((v) => v.name === mount?.name);
    const eppConfig = all[`ConfigMap/${volume?.configMap?.name}`]?.data?.[path.basename(configFile)];
    check(eppConfig, `the endpoint picker's --config-file ${configFile} is in no mounted ConfigMap`);
    const route = objects.find((o) => o.kind === 'HTTPRoute');
    check(route?.spec.rules.some((r) => r.backendRefs?.some((b) => b.kind === 'InferencePool' && b.group === 'inference.networking.k8s.io' && b.name === pool.metadata.name)),
      'no HTTPRoute sends requests to the InferencePool');
  }
  return errors;
}

// --- The Containerfile -------------------------------------------------------------------

// Instructions (continuation lines joined) as {op, args}.
function instructions(text) {
  const out = [];
  let buf = '';
  for (const line of text.split('\n')) {
    if (!buf && (/^\s*#/.test(line) || !line.trim())) continue;
    buf += line.replace(/\\\s*$/, ' ');
    if (/\\\s*$/.test(line)) continue;
    const m = /^\s*(\w+)\s+(.*)$/.exec(buf);
    if (m) out.push({ op: m[1].toUpperCase(), args: m[2].trim() });
    buf = '';
  }
  return out;
}

function containerfileErrors(text) {
  const errors = [];
  const ins = instructions(text);
  const froms = ins.filter((i) => i.op === 'FROM');
  if (!froms.length) return ['no FROM'];
  for (const f of froms) {
    const image = f.args.split(/\s+/)[0];
    const tag = /@sha256:|:[^/]+$/.exec(image);
    if (!tag || /:latest$/.test(image)) errors.push(`FROM ${image}: not pinned to a tag or digest`);
  }
  for (const a of ins.filter((i) => i.op === 'ADD')) if (/https?:\/\//.test(a.args)) errors.push(`ADD of a remote URL: ${a.args}`);
  const lastFrom = ins.lastIndexOf(froms.at(-1));
  const final = ins.slice(lastFrom);
  const user = final.filter((i) => i.op === 'USER').at(-1);
  if (!user) errors.push('final stage has no USER (runs as root)');
  else if (/^(root|0)(:|$)/.test(user.args)) errors.push(`final stage runs as ${user.args}`);
  const health = final.find((i) => i.op === 'HEALTHCHECK');
  if (!health || !/\bCMD\b/.test(health.args)) errors.push('final stage has no HEALTHCHECK');
  // Its tool must be in the image: curl comes with the runtime step (slim has no curl).
  const tool = /CMD\s+(\S+)/.exec(health?.args ?? '')?.[1];
  const runtimeStep = final.some((i) => i.op === 'RUN' && /container_build_steps\.sh runtime/.test(i.args));
  if (tool && !(tool === 'curl' && runtimeStep && /apt-get install[^\n]* curl/.test(STEPS))) errors.push(`HEALTHCHECK runs ${tool}, which the final stage may not have`);
  if (!final.some((i) => i.op === 'EXPOSE' && /\b8080\b/.test(i.args))) errors.push('no EXPOSE 8080');
  if (!final.some((i) => i.op === 'ENTRYPOINT' && /"moxing"/.test(i.args))) errors.push('ENTRYPOINT is not moxing');
  for (const r of ins.filter((i) => i.op === 'RUN'))
    if (!/container_build_steps\.sh/.test(r.args)) errors.push(`RUN outside scripts/container_build_steps.sh (untested here): ${r.args}`);
  return errors;
}

// --- Tests -------------------------------------------------------------------------------

test('every YAML file under deploy/ parses', () => {
  const files = yamlFiles(DEPLOY);
  assert.ok(files.length >= 10, `found ${files.length}`);
  for (const f of files) assert.doesNotThrow(() => parseDocs(f), f);
  assert.throws(() => parseText('a: [1,\n', 'unclosed'), /unclosed/);
  assert.throws(() => parseText('a: 1\na: 2\n', 'twice'), /unique/);
});

test('the JSON patches of the overlays apply as RFC 6902 says', () => {
  const doc = { a: { list: [1, 2], x: 1 } };
  applyJsonPatch(doc, [{ op: 'add', path: '/a/list/-', value: 3 }, { op: 'remove', path: '/a/x' }, { op: 'replace', path: '/a/list/0', value: 0 },
    { op: 'add', path: '/a/b~1c', value: true }]);
  assert.deepEqual(doc, { a: { list: [0, 2, 3], 'b/c': true } });
  assert.throws(() => applyJsonPatch(doc, [{ op: 'remove', path: '/a/nothing' }]), /nothing there/);
  assert.throws(() => applyJsonPatch(doc, [{ op: 'move', from: '/a', path: '/b' }]), /not supported/);
});

for (const dir of OVERLAYS) {
  test(`${dir}: renders, validates and agrees with itself`, async () => {
    const objects = render(path.join(K8S, dir));
    assert.ok(objects.length >= 5);
    for (const o of objects) assert.deepEqual(await schemaErrors(o), [], key(o));
    assert.deepEqual(consistencyErrors(objects), []);
    const image = objects.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0].image;
    assert.match(image, /^registry\.example\.com\/moxing:\d/, 'the images field of the base applies');
  });
}

test('the renderer agrees with kubectl kustomize (when kubectl is installed)', (t) => {
  let kubectl = true;
  try { execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' }); } catch { kubectl = false; }
  if (!kubectl) return t.skip('no kubectl');
  for (const dir of OVERLAYS) {
    const theirs = YAML.parseAllDocuments(execFileSync('kubectl', ['kustomize', path.join(K8S, dir)], { encoding: 'utf8' })).map((d) => d.toJS());
    const ours = render(path.join(K8S, dir));
    assert.deepEqual(byKey(ours), byKey(theirs), dir);
  }
});

test("the HPA's metric is the one the prometheus-adapter rule serves", () => {
  const [values] = parseDocs(path.join(K8S, 'prometheus-adapter/values.yaml'));
  const served = values.rules.custom.map((r) => r.name.as);
  const hpa = render(path.join(K8S, 'base')).find((o) => o.kind === 'HorizontalPodAutoscaler');
  for (const m of hpa.spec.metrics) assert.ok(served.includes(m.pods.metric.name), m.pods.metric.name);
  for (const r of values.rules.custom) assert.match(r.seriesQuery, new RegExp(`^${r.name.as}\\{`), 'the rule reads the series it serves');
});

test('mutated objects fail their schema', async () => {
  const objects = byKey(render(path.join(K8S, 'overlays/inference-gateway')));
  const deployment = structuredClone(objects['Deployment/moxing']);
  deployment.spec.template.spec.containers[0].ports[0].containerPort = 'eighty';
  delete deployment.spec.selector;
  const errors = (await schemaErrors(deployment)).join('\n');
  assert.match(errors, /containerPort must be integer/);
  assert.match(errors, /selector/);

  const hpa = structuredClone(objects['HorizontalPodAutoscaler/moxing']);
  hpa.spec.maxReplicas = 'eight';
  assert.match((await schemaErrors(hpa)).join(), /maxReplicas must be integer/);

  const pool = structuredClone(objects['InferencePool/moxing']);
  delete pool.spec.targetPorts;
  pool.spec.endpointPickerRef.failureMode = 'Maybe';
  const poolErrors = (await schemaErrors(pool)).join('\n');
  assert.match(poolErrors, /targetPorts/);
  assert.match(poolErrors, /allowed values/);
  const twice = structuredClone(objects['InferencePool/moxing']);
  twice.spec.targetPorts = [{ number: 8080 }, { number: 8080 }];
  delete twice.spec.endpointPickerRef.port;
  assert.deepEqual(await schemaErrors(twice), ['port number must be unique', "port is required when kind is 'Service'"]);

  const route = structuredClone(objects['HTTPRoute/moxing']);
  route.spec.rules[0].matches[0].path.type = 'Glob';
  assert.notDeepEqual(await schemaErrors(route), []);
  assert.deepEqual(await schemaErrors({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'x' } }), ['no schema for apiVersion example.com/v1']);
});

test('mutated objects disagree with each other', () => {
  const objects = render(path.join(K8S, 'overlays/inference-gateway'));
  const broken = structuredClone(objects);
  const all = byKey(broken);
  const pod = all['Deployment/moxing'].spec.template.spec;
  pod.terminationGracePeriodSeconds = 30;
  pod.containers[0].readinessProbe.httpGet.path = '/health';
  pod.containers[0].resources.requests.cpu = '2';
  all['InferencePool/moxing'].spec.targetPorts = [{ number: 8000 }];
  all['Service/moxing-epp'].spec.ports[0].port = 9000;
  all['ConfigMap/moxing-config'].data['serve.toml'] += 'port = 8081\n';
  const errors = consistencyErrors(broken).join('\n');
  for (const want of [/terminationGracePeriodSeconds 30 <= drain-timeout 30 \+ preStop 5/, /readiness probe/, /CPU request 2/,
    /targetPorts miss/, /endpointPickerRef/, /container port http \(8080\) is not serve.toml's port \(8081\)/])
    assert.match(errors, want);
});

test("serve.toml's keys and the container's arguments are options of moxing serve", (t) => {
  if (!existsSync(BIN)) return t.skip(`no ${BIN}`);
  // A command's options as its --help lists them: "-m" and "--model" of "-m,--model".
  const optionsOf = (command) => new Set([...execFileSync(BIN, [command, '--help'], { encoding: 'utf8' })
    .matchAll(/(?<![\w-])(--?[a-z][a-z0-9-]*)/g)].map((m) => m[1]));
  const serveOptions = optionsOf('serve');
  const checkArgs = (args, options, where) => {
    for (const a of args.filter((x) => x.startsWith('-'))) assert.ok(options.has(a.split('=')[0]), `${where}: ${a}`);
  };
  for (const dir of OVERLAYS) {
    const all = byKey(render(path.join(K8S, dir)));
    for (const k of Object.keys(parseServeToml(all['ConfigMap/moxing-config'].data['serve.toml'])))
      assert.ok(serveOptions.has(`--${k}`), `${dir}: serve.toml key ${k} is not a serve option`);
    const pod = all['Deployment/moxing'].spec.template.spec;
    const [command, ...args] = pod.containers[0].args;
    assert.equal(command, 'serve');
    checkArgs(args, serveOptions, `${dir}: serve`);
    for (const c of pod.initContainers ?? []) {
      const [initCommand, ...initArgs] = c.args;
      assert.equal(initCommand, 'pull', 'the init container pulls');
      checkArgs(initArgs, optionsOf('pull'), `${dir}: pull`);
    }
  }
  assert.throws(() => checkArgs(['--model-from-nowhere'], serveOptions, 'serve'), /model-from-nowhere/);
  assert.throws(() => parseServeToml('threads = [1, 2]\n'), /cannot read/);
});

test("moxing serve starts with the base's serve.toml, and the probes' paths answer 200 without a key", async (t) => {
  if (!existsSync(BIN)) return t.skip(`no ${BIN}`);
  const all = byKey(render(path.join(K8S, 'base')));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'moxing-config-'));
  const config = path.join(dir, 'serve.toml');
  writeFileSync(config, all['ConfigMap/moxing-config'].data['serve.toml']);
  // The command line wins over the file: a free loopback port, one thread, the tiny model.
  const server = await startServer({ args: ['--config', config, '--host', '127.0.0.1'] });
  try {
    assert.equal(server.name, parseServeToml(readFileSync(config, 'utf8')).alias, 'the alias from serve.toml names the model');
    const container = all['Deployment/moxing'].spec.template.spec.containers[0];
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      const res = await fetch(`${server.base}${container[probe].httpGet.path}`);
      assert.equal(res.status, 200, `${probe} ${container[probe].httpGet.path}`);
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Containerfile passes the lint, and broken copies do not', () => {
  const text = readFileSync(path.join(REPO, 'Containerfile'), 'utf8');
  assert.deepEqual(containerfileErrors(text), []);
  const user = /^USER\s+(\d+)/m.exec(text)[1];
  const pod = render(path.join(K8S, 'base')).find((o) => o.kind === 'Deployment').spec.template.spec;
  assert.equal(String(pod.securityContext.runAsUser), user, "the pod's runAsUser is the image's USER");

  const broken = {
    'FROM docker.io/library/debian:12-slim': 'FROM debian',
    'FROM docker.io/library/debian:12 AS builder': 'FROM docker.io/library/debian:latest AS builder',
    'USER 10001:10001': 'USER root',
    'HEALTHCHECK --interval': '# HEALTHCHECK --interval',
    'EXPOSE 8080': 'EXPOSE 80',
  };
  for (const [from, to] of Object.entries(broken)) {
    assert.ok(text.includes(from), from);
    assert.notDeepEqual(containerfileErrors(text.replace(from, to)), [], `${from} -> ${to}`);
  }
  assert.match(containerfileErrors(`${text}\nADD https://example.com/x.tar /x\n`).join(), /remote URL/);
  assert.match(containerfileErrors(`${text}\nRUN apt-get install -y vim\n`).join(), /RUN outside/);
});

test('what the Containerfile copies into the builder is enough for its configure step', () => {
  const text = readFileSync(path.join(REPO, 'Containerfile'), 'utf8');
  const builder = text.split(/^FROM /m)[1];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'moxing-context-'));
  try {
    for (const copy of instructions(builder).filter((i) => i.op === 'COPY')) {
      const [, ...rest] = copy.args.split(/\s+/).reverse();
      const dest = copy.args.split(/\s+/).at(-1);
      for (const src of rest.reverse()) {
        // The same layout as the image's /src (WORKDIR): each source under its own path.
        assert.ok(dest === './' || path.dirname(src) === dest.replace(/\/$/, '') || src === dest, `COPY ${copy.args}: not emulated here`);
        cpSync(path.join(REPO, src), path.join(dir, src), { recursive: true });
      }
    }
    execFileSync('bash', [path.join(dir, 'scripts/container_build_steps.sh'), 'configure', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    assert.ok(existsSync(path.join(dir, 'build/release/build.ninja')));
    // What CMake reads from the source tree, less what only tests, benchmarks, fuzzers and
    // the Debian package read, must be in the image (web/ for one: without it the binary
    // builds, with no chat page).
    const notForTheBinary = new Set(['..', 'tests', 'bench', 'fuzz', 'packaging']);
    const cmakeText = ['CMakeLists.txt', ...readdirSync(path.join(REPO, 'cmake')).map((f) => `cmake/${f}`)]
      .map((f) => readFileSync(path.join(REPO, f), 'utf8')).join('\n');
    for (const [, top] of cmakeText.matchAll(/\$\{CMAKE_SOURCE_DIR\}\/([A-Za-z0-9_.-]+)/g))
      if (!notForTheBinary.has(top)) assert.ok(existsSync(path.join(dir, top)), `CMake reads ${top}/, which the Containerfile does not copy`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the image's staging step collects the runtime packages of the built binary", (t) => {
  if (!existsSync(BIN)) return t.skip(`no ${BIN}`);
  const dest = mkdtempSync(path.join(os.tmpdir(), 'moxing-stage-'));
  try {
    execFileSync('bash', [path.join(REPO, 'scripts/container_build_steps.sh'), 'stage', BIN, dest], { stdio: ['ignore', 'inherit', 'inherit'] });
    const packages = readFileSync(path.join(dest, 'runtime-packages.txt'), 'utf8').trim().split('\n');
    for (const p of ['libc6', 'libstdc++6', 'libcurl4', 'libssl3', 'libfmt9']) assert.ok(packages.includes(p), `${p} in ${packages}`);
    assert.deepEqual(packages.filter((p) => p.endsWith('-dev')), []);
    const staged = path.join(dest, 'usr/local/bin/moxing');
    assert.match(execFileSync(staged, ['--version'], { encoding: 'utf8' }), /moxing \d/);
    assert.ok(statSync(staged).size < statSync(BIN).size, 'stripped');
    // No binary, no staging (and a message, not a half-filled directory taken for a good one).
    assert.throws(() => execFileSync('bash', [path.join(REPO, 'scripts/container_build_steps.sh'), 'stage', '/no/such/binary', dest], { stdio: 'ignore' }));
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});
