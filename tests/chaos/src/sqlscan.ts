/**
 * Static scan: every SQL statement in the services' code is parameterized.
 *
 * Parses every TypeScript file under apps/<app>/src and packages/shared/src (the TypeScript
 * compiler API; *.test.ts files excluded) and finds SQL text: string literals, template
 * literals and `+` concatenations whose literal parts read as SQL (an upper-case SQL keyword
 * plus a second SQL keyword or a `?` placeholder). Every value spliced into such text — a
 * template `${…}` or a non-literal operand of `+` — is classified:
 *
 *   placeholders  `xs.map(() => '?').join(',')` and the like: only `?`, commas, parentheses or
 *                 `WHEN ? THEN ?` come out, the values travel as parameters;
 *   static        only string literals can come out (literals, a conditional between literals,
 *                 a `const` initialised with a literal in the same file);
 *   identifier    quoteIdent(…) — the migration's identifier quoting (doubles backticks);
 *   allowed       listed in ALLOWED below, with the reason it cannot carry input;
 *   UNSAFE        anything else: the test fails and names file, line and expression.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export type Verdict = 'placeholders' | 'static' | 'identifier' | 'allowed' | 'UNSAFE';

export interface SqlSplice {
  file: string;
  line: number;
  /** The SQL text with splices shown as ${…}. */
  sql: string;
  expr: string;
  verdict: Verdict;
  reason: string;
}

/**
 * Reviewed exceptions: file (relative to the repo root) + the spliced expression's text.
 * Each reason says why no outside input can reach the SQL text.
 */
export const ALLOWED: Array<{ file: string; expr: string; reason: string }> = [
  {
    file: 'apps/ledger-writer/src/ledger-store.ts',
    expr: 'col',
    reason: "a column name from the constant list ['total', 'available', 'held', 'sold']",
  },
  {
    file: 'apps/ledger-writer/src/ledger-store.ts',
    expr: "sets.join(', ')",
    reason:
      "SET clauses built in the same function from those constant column names and 'WHEN ? THEN ?' placeholders",
  },
];

/**
 * Statements passed to query()/execute() by name rather than as literal text: each must be
 * a constant or a migration file's statement.
 */
export const INDIRECT: Array<{ file: string; expr: string; reason: string }> = [
  {
    file: 'apps/bench/src/collateral.ts',
    expr: 'OTHER_ORDERS',
    reason: 'a constant (the benchmark’s CREATE TABLE other_orders)',
  },
  {
    file: 'apps/bench/src/collateral.ts',
    expr: 'HOT_ROW_READ[this.spec.table]',
    reason: 'one of two constant statements, chosen by a typed table name',
  },
  {
    file: 'packages/shared/src/mysql/pool.ts',
    expr: 'SESSION_INIT_SQL',
    reason: 'a constant (SET SESSION sql_mode …, time_zone)',
  },
  {
    file: 'packages/shared/src/mysql/migrate.ts',
    expr: 'SESSION_INIT_SQL',
    reason: 'the same constant',
  },
  {
    file: 'packages/shared/src/mysql/migrate.ts',
    expr: 'SCHEMA_MIGRATIONS_DDL',
    reason: 'a constant CREATE TABLE statement',
  },
  {
    file: 'packages/shared/src/mysql/migrate.ts',
    expr: 'stmt',
    reason: 'a statement of a migration file shipped in packages/shared/migrations (checksummed)',
  },
  {
    file: 'apps/bench/src/naive.ts',
    expr: 'sql',
    reason: "the benchmark's constant SCHEMA statements",
  },
];

const SQL_WORD =
  /\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|GRANT|REVOKE|TRUNCATE|REPLACE|SHOW|SET|SESSION|WHERE|VALUES|CASE|WHEN|THEN|ELSE|END|FROM|JOIN|ORDER BY|GROUP BY|DATABASE|TABLE|INTO|START TRANSACTION|COMMIT|ROLLBACK|FOR UPDATE)\b/g;
const STATEMENT_START =
  /^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|GRANT|REVOKE|TRUNCATE|REPLACE|SHOW|SET|USE|LOCK|UNLOCK|KILL|CALL|DO|START|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|XA|HANDLER|LOAD)\b/;

/**
 * Literal text that reads as SQL: it starts like a statement, or has two distinct upper-case
 * SQL keywords, or one keyword and a `?` placeholder. (Upper case: the code base writes SQL
 * keywords in upper case; prose in log messages does not.)
 */
export function looksLikeSql(text: string): boolean {
  if (STATEMENT_START.test(text)) return true;
  const words = new Set(text.match(SQL_WORD) ?? []);
  if (!words.size) return false;
  return words.size >= 2 || /\?/.test(text);
}

function listFiles(dir: string, out: string[] = []): string[] {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (e === 'node_modules' || e === 'dist') continue;
    if (statSync(p).isDirectory()) listFiles(p, out);
    else if (e.endsWith('.ts') && !e.endsWith('.test.ts') && !e.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The source files scanned: apps/<app>/src/** and packages/<package>/src/**. */
export function sourceFiles(root: string): string[] {
  const files: string[] = [];
  for (const top of ['apps', 'packages'])
    for (const pkg of readdirSync(join(root, top))) listFiles(join(root, top, pkg, 'src'), files);
  return files.sort();
}

const PLACEHOLDER_TEXT =
  /^(\s*(\?|\(\s*\?(\s*,\s*\?)*\s*\)|\(\?(,\?)*(,0)?\)|WHEN \? THEN \?)\s*)$/;

function literalText(n: ts.Node): string | undefined {
  if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return n.text;
  return undefined;
}

/** Every `const NAME = <initializer>` of the file, by name (a name may be declared twice). */
function constInitializers(sf: ts.SourceFile): Map<string, ts.Expression[]> {
  const m = new Map<string, ts.Expression[]>();
  const visit = (n: ts.Node) => {
    if (ts.isVariableDeclarationList(n) && n.flags & ts.NodeFlags.Const) {
      for (const d of n.declarations) {
        if (ts.isIdentifier(d.name) && d.initializer)
          m.set(d.name.text, [...(m.get(d.name.text) ?? []), d.initializer]);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return m;
}

type Consts = Map<string, ts.Expression[]>;
const SAFE: ReadonlySet<Verdict> = new Set(['static', 'placeholders', 'identifier']);

function classify(
  e: ts.Expression,
  consts: Consts,
  depth = 0,
): { verdict: Verdict; reason: string } | undefined {
  if (depth > 5) return undefined;
  const strip = (x: ts.Expression): ts.Expression =>
    ts.isParenthesizedExpression(x) ? strip(x.expression) : x;
  const x = strip(e);
  const lit = literalText(x);
  if (lit !== undefined) return { verdict: 'static', reason: 'a string literal' };
  if (ts.isNumericLiteral(x)) return { verdict: 'static', reason: 'a number literal' };
  if (ts.isIdentifier(x) && consts.has(x.text)) {
    // A const of this file (every declaration of that name) whose initializer is safe.
    const inits = consts.get(x.text)!;
    const cs = inits.map((i) => classify(i, consts, depth + 1));
    if (cs.every((c) => c && SAFE.has(c.verdict))) {
      return {
        verdict: cs.some((c) => c!.verdict === 'placeholders') ? 'placeholders' : 'static',
        reason: `const ${x.text} = ${cs.map((c) => c!.reason).join(' / ')}`,
      };
    }
    return undefined;
  }
  if (ts.isTemplateExpression(x)) {
    const cs = x.templateSpans.map((sp) => classify(sp.expression, consts, depth + 1));
    if (cs.every((c) => c && SAFE.has(c.verdict))) {
      return {
        verdict: cs.some((c) => c!.verdict === 'placeholders') ? 'placeholders' : 'static',
        reason: 'a template of safe parts',
      };
    }
    return undefined;
  }
  if (ts.isConditionalExpression(x)) {
    const a = classify(x.whenTrue, consts, depth + 1);
    const b = classify(x.whenFalse, consts, depth + 1);
    if (a && b && SAFE.has(a.verdict) && SAFE.has(b.verdict)) {
      return {
        verdict:
          a.verdict === 'placeholders' || b.verdict === 'placeholders' ? 'placeholders' : 'static',
        reason: 'a conditional between safe parts',
      };
    }
    return undefined;
  }
  if (ts.isCallExpression(x)) {
    const callee = x.expression;
    if (ts.isIdentifier(callee) && callee.text === 'quoteIdent')
      return { verdict: 'identifier', reason: 'quoteIdent(): a backtick-quoted identifier' };
    // <anything>.map(() => '<placeholders>').join('<separator>')
    if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'join') {
      const sep = x.arguments[0] ? literalText(x.arguments[0]) : ',';
      const inner = strip(callee.expression);
      if (sep !== undefined && /^[\s,]*$/.test(sep) && ts.isCallExpression(inner)) {
        const ic = inner.expression;
        const fn = inner.arguments[0];
        if (
          ts.isPropertyAccessExpression(ic) &&
          (ic.name.text === 'map' || ic.name.text === 'fill') &&
          fn
        ) {
          const body =
            ts.isArrowFunction(fn) && !ts.isBlock(fn.body) ? literalText(fn.body) : literalText(fn);
          if (body !== undefined && PLACEHOLDER_TEXT.test(body)) {
            return {
              verdict: 'placeholders',
              reason: `a list of ${JSON.stringify(body)} placeholders`,
            };
          }
        }
      }
    }
  }
  return undefined;
}

export interface IndirectQuery {
  file: string;
  line: number;
  expr: string;
  /** The INDIRECT entry's reason, or undefined (unreviewed: the test fails). */
  reason: string | undefined;
}

export function scanSql(root: string): SqlSplice[] & { indirect: IndirectQuery[] } {
  const out = [] as unknown as SqlSplice[] & { indirect: IndirectQuery[] };
  out.indirect = [];
  for (const path of sourceFiles(root)) {
    const file = relative(root, path);
    const text = readFileSync(path, 'utf8');
    const sf = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const consts = constInitializers(sf);
    const report = (node: ts.Node, sql: string, exprs: ts.Expression[]) => {
      for (const e of exprs) {
        const exprText = e.getText(sf);
        let c = classify(e, consts);
        if (!c) {
          const a = ALLOWED.find((x) => x.file === file && x.expr === exprText);
          c = a
            ? { verdict: 'allowed', reason: a.reason }
            : { verdict: 'UNSAFE', reason: 'a value spliced into SQL text' };
        }
        out.push({
          file,
          line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
          sql,
          expr: exprText,
          ...c,
        });
      }
    };
    const visit = (n: ts.Node) => {
      if (
        ts.isCallExpression(n) &&
        ts.isPropertyAccessExpression(n.expression) &&
        ['query', 'execute'].includes(n.expression.name.text) &&
        n.arguments[0] &&
        (ts.isIdentifier(n.arguments[0]) || ts.isPropertyAccessExpression(n.arguments[0]))
      ) {
        const expr = n.arguments[0].getText(sf);
        out.indirect.push({
          file,
          line: sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1,
          expr,
          reason: INDIRECT.find((x) => x.file === file && x.expr === expr)?.reason,
        });
      }
      if (ts.isTemplateExpression(n)) {
        const literal = n.head.text + n.templateSpans.map((s) => s.literal.text).join(' ');
        if (looksLikeSql(literal)) {
          const sql =
            n.head.text +
            n.templateSpans
              .map((s) => '${' + s.expression.getText(sf) + '}' + s.literal.text)
              .join('');
          report(
            n,
            sql,
            n.templateSpans.map((s) => s.expression),
          );
        }
      } else if (
        ts.isBinaryExpression(n) &&
        n.operatorToken.kind === ts.SyntaxKind.PlusToken &&
        !(
          ts.isBinaryExpression(n.parent) && n.parent.operatorToken.kind === ts.SyntaxKind.PlusToken
        )
      ) {
        // The top of a + chain: its literal operands as SQL, its other operands as splices.
        const parts: ts.Expression[] = [];
        const flatten = (x: ts.Expression) => {
          if (ts.isBinaryExpression(x) && x.operatorToken.kind === ts.SyntaxKind.PlusToken) {
            flatten(x.left);
            flatten(x.right);
          } else parts.push(x);
        };
        flatten(n);
        const literal = parts
          .map((p) => literalText(p) ?? (ts.isTemplateExpression(p) ? p.head.text : ''))
          .join(' ');
        const spliced = parts.filter(
          (p) => literalText(p) === undefined && !ts.isTemplateExpression(p),
        );
        if (looksLikeSql(literal) && spliced.length)
          report(
            n,
            parts.map((p) => literalText(p) ?? '${' + p.getText(sf) + '}').join(''),
            spliced,
          );
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out;
}
