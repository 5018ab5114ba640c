// ESLint 9 flat config for the holdfast monorepo.
//
// - @eslint/js recommended + typescript-eslint recommended (syntax-only) everywhere.
// - A small set of type-aware rules (floating / misused promises, awaiting non-thenables) on
//   the TypeScript sources of the workspace packages. They use the typescript-eslint project
//   service, which reuses each package's own tsconfig.json; they catch the bugs that matter
//   most in stream workers (an un-awaited XACK, a promise passed where a callback is expected).
//   Only these three rules need type information; they make a full run a few times slower
//   than a syntax-only one (HOLDFAST_ESLINT_TYPED=0, below).
// - Unused variables, arguments and caught errors are allowed when their name starts with `_`.
// - Package boundaries (holdfast/boundaries, below): a package imports another only by its
//   name, through that package's declared `exports`, and only if its package.json declares it;
//   production code never imports test code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const unusedVars = [
  'error',
  {
    args: 'after-used',
    argsIgnorePattern: '^_',
    varsIgnorePattern: '^_',
    caughtErrors: 'all',
    caughtErrorsIgnorePattern: '^_',
    destructuredArrayIgnorePattern: '^_',
    ignoreRestSiblings: true,
  },
];

// Type-aware rules, on the workspace packages' TypeScript only. HOLDFAST_ESLINT_TYPED=0 skips
// them for a fast syntax-only pass (editors, pre-commit); `pnpm lint` keeps them.
const typeAware = {
  name: 'holdfast/type-aware',
  files: ['apps/*/{src,test}/**/*.ts', 'packages/*/{src,test}/**/*.ts'],
  languageOptions: {
    parserOptions: {
      projectService: true,
      tsconfigRootDir: import.meta.dirname,
    },
  },
  rules: {
    '@typescript-eslint/no-floating-promises': 'error',
    '@typescript-eslint/no-misused-promises': 'error',
    '@typescript-eslint/await-thenable': 'error',
  },
};

// Deep imports bypass a package's `exports` (and so its build and its public surface).
const deepImports = {
  group: ['@holdfast/*/src', '@holdfast/*/src/*', '@holdfast/*/dist/*', '@holdfast/*/test/*'],
  message: 'import the package by its name and one of its declared `exports`, not its files',
};

// Files that are tests or test tooling: they may use devDependencies and @holdfast/testkit.
const testFiles = [
  '**/*.test.ts',
  '**/*.testutil.ts',
  '**/test/**',
  '**/vitest.config.ts',
  'packages/testkit/**',
  'tests/**',
];

const boundaries = {
  name: 'holdfast/boundaries',
  files: ['{apps,packages,tests}/*/**/*.{ts,mts,js,mjs}'],
  plugins: { 'import-x': importX },
  settings: {
    // Resolves `./x.js` to `./x.ts` and workspace packages through their `exports`, so the rules
    // below see which package a relative path really lands in.
    'import-x/resolver-next': [createTypeScriptImportResolver({ alwaysTryTypes: true })],
  },
  rules: {
    // `../../reconciler/src/x.js` from another package: import `@holdfast/reconciler` instead.
    'import-x/no-relative-packages': 'error',
    // Every import of another package is declared in the importing package's package.json
    // (workspace packages included, so turbo's graph is the real one); production code only
    // uses `dependencies`.
    'import-x/no-extraneous-dependencies': [
      'error',
      { devDependencies: testFiles, includeInternal: true, includeTypes: true },
    ],
    'no-restricted-imports': ['error', { patterns: [deepImports] }],
  },
};

// Production code (everything that is not a test or test tooling) never imports test code.
const noTestCodeInProduction = {
  name: 'holdfast/no-test-code-in-production',
  files: ['{apps,packages}/*/src/**/*.{ts,mts,js,mjs}', 'apps/*/bin/**/*.{js,mjs}'],
  ignores: testFiles,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          deepImports,
          {
            group: ['@holdfast/testkit', '@holdfast/testkit/*', 'vitest', 'vitest/*'],
            message: 'production code must not import test code',
          },
          {
            group: ['**/test/*', '**/*.test.js', '**/*.testutil.js'],
            message: 'production code must not import test code',
          },
        ],
      },
    ],
  },
};

export default tseslint.config(
  {
    name: 'holdfast/ignores',
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/coverage/**',
      '**/reports/**',
      '**/.turbo/**',
      '**/*.lua',
    ],
  },
  {
    name: 'holdfast/linter-options',
    linterOptions: { reportUnusedDisableDirectives: 'warn' },
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    name: 'holdfast/node-globals',
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        clearImmediate: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        fetch: 'readonly',
      },
    },
  },
  {
    name: 'holdfast/rules',
    rules: {
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': unusedVars,
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },
  boundaries,
  noTestCodeInProduction,
  ...(process.env.HOLDFAST_ESLINT_TYPED === '0' ? [] : [typeAware]),
);
