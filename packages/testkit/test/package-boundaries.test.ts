/**
 * The repository's lint rules keep package boundaries: this lints probe sources as if they were
 * files of the services (ESLint's API with the repository's own eslint.config.js) and checks
 * that each kind of boundary crossing is an error, and that the allowed forms are not.
 */
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { REPO_ROOT } from '@holdfast/shared';

// Syntax-only run: the probes are not files of any tsconfig project.
process.env.HOLDFAST_ESLINT_TYPED = '0';
const eslint = new ESLint({ cwd: REPO_ROOT });

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${REPO_ROOT}${filePath}` });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('package boundaries (eslint.config.js)', () => {
  it('refuses a relative import into another package', async () => {
    const p = await problems(
      'apps/ingest/src/probe.ts',
      "import { reconcileAll } from '../../reconciler/src/reconcile.js';\nexport const x = reconcileAll;\n",
    );
    expect(p.join('\n')).toMatch(/import-x\/no-relative-packages/);
  });

  it('refuses a deep import past a package’s exports', async () => {
    const p = await problems(
      'apps/cli/src/probe.ts',
      "import { reconcileAll } from '@holdfast/reconciler/src/reconcile.js';\nexport const x = reconcileAll;\n",
    );
    expect(p.join('\n')).toMatch(/no-restricted-imports: .*by its name/);
  });

  it('refuses a workspace package the importing package does not declare', async () => {
    const p = await problems(
      'apps/ingest/src/probe.ts',
      "import { Reserver } from '@holdfast/reserver';\nexport const x = Reserver;\n",
    );
    expect(p.join('\n')).toMatch(/import-x\/no-extraneous-dependencies: '@holdfast\/reserver'/);
  });

  it('refuses test code in production code, and allows it in tests', async () => {
    const code = "import { waitFor } from '@holdfast/testkit';\nexport const x = waitFor;\n";
    const prod = await problems('apps/ingest/src/probe.ts', code);
    expect(prod.join('\n')).toMatch(/production code must not import test code/);
    expect(await problems('apps/ingest/test/probe.test.ts', code)).toEqual([]);
  });

  it('allows a declared package by name', async () => {
    const p = await problems(
      'apps/cli/src/probe.ts',
      "import { reconcileAll } from '@holdfast/reconciler';\nexport const x = reconcileAll;\n",
    );
    expect(p).toEqual([]);
  });
});
