#!/usr/bin/env node
// Static checks of the operations files that need no Docker engine and no network:
// docker-compose.yml, Dockerfile, deploy/prometheus, deploy/grafana, against deploy/metrics.json
// and the workspace's package.json files. Run by scripts/validate-ops.sh; usable alone:
//
//   node deploy/validate/check-ops.mjs [--promql-out FILE]
//
// --promql-out writes every dashboard expression as a Prometheus recording rule so that
// `promtool check rules FILE` can check its PromQL syntax.
//
// YAML is parsed by the first of these that works here, always in this order (set
// HOLDFAST_YAML_PARSER=node|python to force one):
//   1. the `yaml` npm package resolved from the repository root;
//   2. the `yaml` npm package from pnpm's hidden hoisting folder (node_modules/.pnpm/node_modules),
//      where the lockfile puts it as a dependency of the dev tooling;
//   3. python3 with PyYAML.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVICES = {
  ingest: 9101,
  reserver: 9102,
  'ledger-writer': 9103,
  reconciler: 9104,
};
const REQUIRED_ALERTS = [
  'HoldfastInventoryVariance',
  'HoldfastReconcilerStale',
  'HoldfastLedgerLagGrowing',
  'HoldfastDeadLettersSpiking',
  'HoldfastServiceDown',
];
const TESTED_ALERTS = ['HoldfastInventoryVariance', 'HoldfastReconcilerStale'];
// Panels the dashboard must have: title pattern, metric it must query, and text its
// expressions must contain.
const REQUIRED_PANELS = [
  [/decisions\/s by status/i, 'holdfast_events_processed_total', ['by (status)']],
  [/active holds/i, 'holdfast_holds_active', []],
  [/stream lag per group/i, 'holdfast_stream_lag_entries', ['group']],
  [/ledger batch write latency/i, 'holdfast_ledger_write_latency_seconds_bucket', ['0.5', '0.99']],
  [/variance per sku/i, 'holdfast_inventory_variance_units', ['_total', 'sku']],
  [/dead letters\/s by reason/i, 'holdfast_dead_letters_total', ['reason']],
  [/decision latency p99/i, 'holdfast_decision_latency_seconds_bucket', ['0.99']],
];

const args = process.argv.slice(2);
const promqlOut = args.includes('--promql-out') ? args[args.indexOf('--promql-out') + 1] : null;

let passed = 0;
let failed = 0;
function check(name, fn) {
  let problems;
  try {
    problems = fn() ?? [];
  } catch (err) {
    problems = [`threw: ${err instanceof Error ? err.message : String(err)}`];
  }
  if (problems.length === 0) {
    passed += 1;
    console.log(`  ok    ${name}`);
  } else {
    failed += 1;
    console.log(`  FAIL  ${name}`);
    for (const p of problems) console.log(`          - ${p}`);
  }
}

const read = (rel) => readFileSync(join(ROOT, rel), 'utf8');

// ---------------------------------------------------------------------------------------------
// YAML
function pickYamlParser() {
  const forced = process.env.HOLDFAST_YAML_PARSER;
  const candidates = [];
  const tryNode = (label, from) => {
    try {
      const req = createRequire(from);
      const YAML = req('yaml');
      const version = JSON.parse(readFileSync(req.resolve('yaml/package.json'), 'utf8')).version;
      return {
        label: `${label} (yaml@${version})`,
        parse: (text) => YAML.parse(text, { merge: true, prettyErrors: true }),
      };
    } catch {
      return null;
    }
  };
  if (forced !== 'python') {
    candidates.push(() =>
      tryNode('node: yaml from the repository root', join(ROOT, 'package.json')),
    );
    candidates.push(() =>
      tryNode(
        'node: yaml from node_modules/.pnpm/node_modules',
        join(ROOT, 'node_modules', '.pnpm', 'node_modules', '_resolve_from_here.js'),
      ),
    );
  }
  if (forced !== 'node') {
    candidates.push(() => {
      const py =
        'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout, default=str)';
      const probe = spawnSync('python3', ['-c', 'import yaml; print(yaml.__version__)'], {
        encoding: 'utf8',
      });
      if (probe.status !== 0) return null;
      return {
        label: `python3: PyYAML ${probe.stdout.trim()}`,
        parse: (text) => {
          const r = spawnSync('python3', ['-c', py], { input: text, encoding: 'utf8' });
          if (r.status !== 0) throw new Error(r.stderr.trim().split('\n').slice(-1)[0]);
          return JSON.parse(r.stdout);
        },
      };
    });
  }
  for (const c of candidates) {
    const parser = c();
    if (parser) return parser;
  }
  return null;
}

const yamlParser = pickYamlParser();
console.log(`YAML parser: ${yamlParser ? yamlParser.label : 'none found'}`);
const parsed = new Map();
function loadYaml(rel) {
  if (!parsed.has(rel)) {
    if (!yamlParser)
      throw new Error('no YAML parser available (yaml npm package or python3 PyYAML)');
    parsed.set(rel, yamlParser.parse(read(rel)));
  }
  return parsed.get(rel);
}

// ---------------------------------------------------------------------------------------------
// Metric catalog and PromQL heuristics
const catalog = JSON.parse(read('deploy/metrics.json'));
const known = new Map(); // series name -> { labels, base }
for (const m of catalog.metrics) {
  const labels = new Set([...m.labels, ...catalog.commonLabels, 'job', 'instance']);
  if (m.type === 'histogram') {
    known.set(`${m.name}_bucket`, { labels: new Set([...labels, 'le']), base: m.name });
    known.set(`${m.name}_sum`, { labels, base: m.name });
    known.set(`${m.name}_count`, { labels, base: m.name });
  } else {
    known.set(m.name, { labels, base: m.name });
  }
}
const isDefaultMetric = (name) => catalog.defaultMetricPrefixes.some((p) => name.startsWith(p));

function metricsIn(expr) {
  return [...new Set(expr.match(/\bholdfast_[A-Za-z0-9_:]+/g) ?? [])];
}

/** Problems with the holdfast_ metrics and labels an expression uses. */
function exprProblems(expr, { requireHoldfast }) {
  const problems = [];
  const names = metricsIn(expr);
  if (requireHoldfast && names.length === 0) problems.push(`no holdfast_ metric in: ${expr}`);
  const labelsInScope = new Set(['job', 'instance', 'le', ...catalog.commonLabels]);
  let anyDefault = false;
  for (const n of names) {
    if (known.has(n)) {
      for (const l of known.get(n).labels) labelsInScope.add(l);
    } else if (isDefaultMetric(n)) {
      anyDefault = true;
    } else {
      problems.push(`unknown metric ${n} (not in deploy/metrics.json)`);
    }
  }
  // Label matchers right after a catalogued metric name.
  for (const m of expr.matchAll(/\b(holdfast_[A-Za-z0-9_:]+)\s*\{([^}]*)\}/g)) {
    const info = known.get(m[1]);
    if (!info) continue;
    for (const matcher of m[2].split(',')) {
      const label = matcher.trim().match(/^([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)/)?.[1];
      if (label && !info.labels.has(label)) problems.push(`${m[1]} has no label "${label}"`);
    }
  }
  // Grouping / matching labels must exist on some metric of the expression.
  if (!anyDefault && names.length > 0) {
    for (const m of expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)) {
      for (const label of m[1]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        if (!labelsInScope.has(label))
          problems.push(`label "${label}" is on none of: ${names.join(', ')}`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Compose
const interpolate = (value) =>
  typeof value !== 'string'
    ? value
    : value
        .replace(
          /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g,
          (_m, name, def) => process.env[name] || def || '',
        )
        .replace(/\$\$/g, '$');
const asList = (v) =>
  Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.trim().split(/\s+/) : [];
function envOf(service) {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((kv) => {
        const i = String(kv).indexOf('=');
        return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

console.log('\ndocker-compose.yml');
let compose;
check('parses', () => {
  compose = loadYaml('docker-compose.yml');
  return compose?.services ? [] : ['no services'];
});
const svc = (name) => compose?.services?.[name];

check('services present: redis, mysql, 4 holdfast services, prometheus, grafana', () =>
  ['redis', 'mysql', ...Object.keys(SERVICES), 'prometheus', 'grafana']
    .filter((n) => !svc(n))
    .map((n) => `missing service ${n}`),
);

check('redis 7 with appendonly yes, appendfsync everysec, maxmemory-policy noeviction', () => {
  const r = svc('redis');
  const problems = [];
  if (!/^redis:7(?:$|[.-])/.test(r.image ?? '')) problems.push(`image ${r.image} is not redis:7`);
  const cmd = asList(r.command).join(' ');
  for (const flag of [
    '--appendonly yes',
    '--appendfsync everysec',
    '--maxmemory-policy noeviction',
  ]) {
    if (!cmd.includes(flag)) problems.push(`command lacks "${flag}": ${cmd}`);
  }
  if (!r.healthcheck?.test) problems.push('no healthcheck');
  return problems;
});

check('mysql 8.4 with database holdfast and a healthcheck', () => {
  const m = svc('mysql');
  const env = envOf(m);
  const problems = [];
  if (!/^mysql:8\.4(?:$|[.-])/.test(m.image ?? ''))
    problems.push(`image ${m.image} is not mysql:8.4`);
  if (env.MYSQL_DATABASE !== 'holdfast') problems.push(`MYSQL_DATABASE=${env.MYSQL_DATABASE}`);
  if (!env.MYSQL_ROOT_PASSWORD) problems.push('no MYSQL_ROOT_PASSWORD');
  if (!m.healthcheck?.test) problems.push('no healthcheck');
  return problems;
});

for (const [name, port] of Object.entries(SERVICES)) {
  check(`${name}: one image, command, env, no host ports (scalable)`, () => {
    const s = svc(name);
    const problems = [];
    const env = envOf(s);
    const cmd = asList(s.command).join(' ');
    if (cmd !== `pnpm --filter @holdfast/${name} start`) problems.push(`command is "${cmd}"`);
    const build = typeof s.build === 'string' ? { context: s.build } : (s.build ?? {});
    if (build.context !== '.' || (build.dockerfile ?? 'Dockerfile') !== 'Dockerfile') {
      problems.push('not built from ./Dockerfile');
    }
    const image = svc('ingest').image;
    if (!s.image || s.image !== image)
      problems.push(`image ${s.image} differs from ingest's ${image}`);
    if (env.REDIS_URL !== 'redis://redis:6379') problems.push(`REDIS_URL=${env.REDIS_URL}`);
    const url = interpolate(env.MYSQL_URL ?? '');
    const pw = interpolate(envOf(svc('mysql')).MYSQL_ROOT_PASSWORD ?? '');
    if (url !== `mysql://root:${pw}@mysql:3306/holdfast`) {
      problems.push(
        `MYSQL_URL does not match mysql://root:<MYSQL_ROOT_PASSWORD>@mysql:3306/holdfast`,
      );
    }
    if (String(env.METRICS_PORT) !== String(port))
      problems.push(`METRICS_PORT=${env.METRICS_PORT}, want ${port}`);
    if (s.ports) problems.push('publishes host ports: `--scale` would collide');
    if (s.container_name) problems.push('container_name prevents --scale');
    for (const dep of ['redis', 'mysql']) {
      const d = Array.isArray(s.depends_on) ? null : s.depends_on?.[dep];
      if (d?.condition !== 'service_healthy')
        problems.push(`depends_on ${dep} not service_healthy`);
    }
    return problems;
  });
}

check('grafana mounts provisioning and dashboards; prometheus mounts deploy/prometheus', () => {
  const problems = [];
  const mounts = (s) =>
    (s.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source, v.target]));
  const prom = mounts(svc('prometheus'));
  if (!prom.some(([src, dst]) => src === './deploy/prometheus' && dst === '/etc/prometheus')) {
    problems.push('prometheus: ./deploy/prometheus not mounted at /etc/prometheus');
  }
  if (!asList(svc('prometheus').command).includes('--config.file=/etc/prometheus/prometheus.yml')) {
    problems.push('prometheus: --config.file=/etc/prometheus/prometheus.yml missing');
  }
  const graf = mounts(svc('grafana'));
  if (
    !graf.some(
      ([src, dst]) =>
        src === './deploy/grafana/provisioning' && dst === '/etc/grafana/provisioning',
    )
  ) {
    problems.push(
      'grafana: ./deploy/grafana/provisioning not mounted at /etc/grafana/provisioning',
    );
  }
  const dash = graf.find(([src]) => src === './deploy/grafana/dashboards');
  if (!dash) problems.push('grafana: ./deploy/grafana/dashboards not mounted');
  const provider = loadYaml('deploy/grafana/provisioning/dashboards/holdfast.yml');
  const path = provider?.providers?.[0]?.options?.path;
  if (dash && path !== dash[1])
    problems.push(`dashboard provider path ${path} != mount ${dash[1]}`);
  return problems;
});

console.log('\nworkspace');
for (const name of Object.keys(SERVICES)) {
  check(`apps/${name}/package.json is @holdfast/${name} with a start script`, () => {
    const pkg = JSON.parse(read(`apps/${name}/package.json`));
    const problems = [];
    if (pkg.name !== `@holdfast/${name}`) problems.push(`name is ${pkg.name}`);
    if (!pkg.scripts?.start) problems.push('no start script');
    return problems;
  });
}

console.log('\nDockerfile');
check('node:20-bookworm-slim, pnpm 9.15.9 via npm (no corepack), frozen lockfile, non-root', () => {
  const lines = read('Dockerfile')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l));
  const text = lines.join('\n');
  const problems = [];
  if (!/\bnode:20-bookworm-slim\b/.test(text)) problems.push('no node:20-bookworm-slim base');
  if (!/npm i(?:nstall)? -g pnpm@9\.15\.9\b/.test(text))
    problems.push('pnpm@9.15.9 not installed with npm i -g');
  if (/\bcorepack\b/.test(text)) problems.push('uses corepack');
  if (!/pnpm install [^\n]*--frozen-lockfile/.test(text))
    problems.push('no pnpm install --frozen-lockfile');
  const lastFrom = lines.map((l) => /^\s*FROM\s/i.test(l)).lastIndexOf(true);
  const users = lines.slice(lastFrom).filter((l) => /^\s*USER\s/i.test(l));
  const user = users.at(-1)?.trim().split(/\s+/)[1];
  if (!user || user === 'root' || user === '0' || user.startsWith('0:'))
    problems.push(`final stage runs as ${user ?? 'root'}`);
  for (const m of text.matchAll(/^\s*COPY\s+(?!--from)(?:--\S+\s+)*(\S+)\s+\S+\s*$/gim)) {
    if (m[1] !== '.' && !existsSync(join(ROOT, m[1])))
      problems.push(`COPY source ${m[1]} does not exist`);
  }
  return problems;
});
check('.dockerignore keeps node_modules and build output out of the context', () => {
  const ignore = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim());
  return ['**/node_modules', '.git'].filter((p) => !ignore.includes(p)).map((p) => `missing ${p}`);
});

// ---------------------------------------------------------------------------------------------
console.log('\ndeploy/prometheus');
check('prometheus.yml: one dns_sd (type A) job per service on its METRICS_PORT', () => {
  const cfg = loadYaml('deploy/prometheus/prometheus.yml');
  const problems = [];
  if (!(cfg.rule_files ?? []).includes('alerts.yml')) problems.push('rule_files lacks alerts.yml');
  for (const [name, port] of Object.entries(SERVICES)) {
    const job = (cfg.scrape_configs ?? []).find((j) => j.job_name === name);
    if (!job) {
      problems.push(`no job ${name}`);
      continue;
    }
    const sd = job.dns_sd_configs?.[0];
    if (!sd?.names?.includes(name))
      problems.push(`${name}: dns_sd_configs does not resolve "${name}"`);
    if (sd?.type !== 'A') problems.push(`${name}: dns_sd type ${sd?.type}, want A`);
    const composePort = envOf(svc(name) ?? {}).METRICS_PORT;
    if (String(sd?.port) !== String(port) || String(composePort) !== String(port)) {
      problems.push(
        `${name}: scrape port ${sd?.port}, compose METRICS_PORT ${composePort}, default ${port}`,
      );
    }
  }
  return problems;
});

let alertRules = [];
check('alerts.yml: required alerts, severity, summary, runbook', () => {
  const doc = loadYaml('deploy/prometheus/alerts.yml');
  alertRules = (doc.groups ?? []).flatMap((g) => g.rules ?? []).filter((r) => r.alert);
  const names = new Set(alertRules.map((r) => r.alert));
  const problems = REQUIRED_ALERTS.filter((a) => !names.has(a)).map((a) => `missing alert ${a}`);
  const ops = existsSync(join(ROOT, 'docs/operations.md')) ? read('docs/operations.md') : '';
  const anchors = new Set(
    [...ops.matchAll(/^#+\s+(.+)$/gm)].map((m) =>
      m[1]
        .trim()
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, '')
        .replace(/ /g, '-'),
    ),
  );
  for (const r of alertRules) {
    if (!r.labels?.severity) problems.push(`${r.alert}: no severity label`);
    if (!r.annotations?.summary) problems.push(`${r.alert}: no summary`);
    const anchor = r.annotations?.runbook?.match(/^docs\/operations\.md#(.+)$/)?.[1];
    if (!anchor) problems.push(`${r.alert}: runbook is not docs/operations.md#<anchor>`);
    else if (!anchors.has(anchor))
      problems.push(`${r.alert}: docs/operations.md has no heading #${anchor}`);
  }
  return problems;
});
check('alerts.yml: expressions use only catalogued holdfast_ metrics and labels', () =>
  alertRules.flatMap((r) =>
    exprProblems(String(r.expr), { requireHoldfast: !/\bup\b/.test(String(r.expr)) }).map(
      (p) => `${r.alert}: ${p}`,
    ),
  ),
);
check('alerts.test.yml: unit tests cover the variance and staleness alerts', () => {
  const doc = loadYaml('deploy/prometheus/alerts.test.yml');
  const tested = new Map();
  for (const t of doc.tests ?? []) {
    for (const a of t.alert_rule_test ?? []) {
      const firing = (a.exp_alerts ?? []).length > 0;
      const prev = tested.get(a.alertname) ?? { firing: false, quiet: false };
      tested.set(a.alertname, { firing: prev.firing || firing, quiet: prev.quiet || !firing });
    }
  }
  return TESTED_ALERTS.flatMap((name) => {
    const t = tested.get(name);
    if (!t) return [`${name} is not tested`];
    return [
      ...(t.firing ? [] : [`${name}: no case where it fires`]),
      ...(t.quiet ? [] : [`${name}: no case where it stays quiet`]),
    ];
  });
});

// ---------------------------------------------------------------------------------------------
console.log('\ndeploy/grafana');
let datasourceUid;
check('datasource provisioning: a Prometheus datasource with a fixed uid', () => {
  const doc = loadYaml('deploy/grafana/provisioning/datasources/prometheus.yml');
  const ds = (doc.datasources ?? []).find((d) => d.type === 'prometheus');
  if (!ds) return ['no prometheus datasource'];
  datasourceUid = ds.uid;
  const problems = [];
  if (!ds.uid) problems.push('datasource has no uid');
  if (ds.url !== 'http://prometheus:9090') problems.push(`url ${ds.url}`);
  return problems;
});

let dashboard;
check('dashboards/holdfast.json parses, has a uid and panels', () => {
  dashboard = JSON.parse(read('deploy/grafana/dashboards/holdfast.json'));
  const problems = [];
  if (!dashboard.uid) problems.push('no uid');
  if (!Array.isArray(dashboard.panels) || dashboard.panels.length === 0) problems.push('no panels');
  const ids = dashboard.panels.map((p) => p.id);
  if (new Set(ids).size !== ids.length) problems.push('duplicate panel ids');
  return problems;
});
const allPanels = (dashboard?.panels ?? []).flatMap((p) =>
  p.type === 'row' ? (p.panels ?? []) : [p],
);
check('every panel: datasource, targets, holdfast_ metrics from deploy/metrics.json', () => {
  const problems = [];
  for (const p of allPanels) {
    const where = `panel "${p.title}"`;
    const dsUid = (d) => (typeof d === 'object' && d ? d.uid : d);
    if (!p.datasource) problems.push(`${where}: no datasource`);
    else if (dsUid(p.datasource) !== datasourceUid)
      problems.push(`${where}: datasource ${dsUid(p.datasource)} is not ${datasourceUid}`);
    if (!p.gridPos) problems.push(`${where}: no gridPos`);
    if (!Array.isArray(p.targets) || p.targets.length === 0) {
      problems.push(`${where}: no targets`);
      continue;
    }
    for (const t of p.targets) {
      if (t.datasource && dsUid(t.datasource) !== datasourceUid)
        problems.push(`${where} ${t.refId}: other datasource`);
      if (typeof t.expr !== 'string' || !t.expr.trim()) {
        problems.push(`${where} ${t.refId}: no expr`);
        continue;
      }
      for (const e of exprProblems(t.expr, { requireHoldfast: true }))
        problems.push(`${where} ${t.refId}: ${e}`);
    }
  }
  return problems;
});
check(
  'required panels: decisions by status, holds, lag, ledger p50/p99, variance, dead letters, latency p99',
  () => {
    const problems = [];
    for (const [title, metric, needles] of REQUIRED_PANELS) {
      const panel = allPanels.find((p) => title.test(p.title ?? '') && p.type !== 'row');
      if (!panel) {
        problems.push(`no panel titled ${title}`);
        continue;
      }
      const exprs = (panel.targets ?? []).map((t) => t.expr ?? '').join('\n');
      if (!metricsIn(exprs).includes(metric))
        problems.push(`"${panel.title}" does not query ${metric}`);
      for (const n of needles)
        if (!exprs.includes(n)) problems.push(`"${panel.title}" lacks "${n}"`);
    }
    return problems;
  },
);

// Coverage (informational): catalogued metrics neither charted nor alerted on.
const used = new Set(
  [
    ...allPanels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')),
    ...alertRules.map((r) => String(r.expr)),
  ]
    .flatMap(metricsIn)
    .map((n) => known.get(n)?.base ?? n),
);
const unused = catalog.metrics.map((m) => m.name).filter((n) => !used.has(n));
console.log(
  `\n  info  metrics in neither a panel nor an alert: ${unused.length ? unused.join(', ') : 'none'}`,
);

if (promqlOut) {
  // Grafana's interval variables become fixed durations so promtool can parse the PromQL.
  const rules = allPanels.flatMap((p) =>
    (p.targets ?? []).map((t, i) => ({
      record: `dashboard:panel_${p.id}:${t.refId ?? i}`,
      expr: String(t.expr).replace(
        /\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g,
        '1m',
      ),
    })),
  );
  writeFileSync(
    promqlOut,
    JSON.stringify({ groups: [{ name: 'dashboard-promql', rules }] }, null, 2),
  );
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
