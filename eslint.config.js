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
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
  ...(process.env.HOLDFAST_ESLINT_TYPED === '0' ? [] : [typeAware]),
);
