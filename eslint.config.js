// Lint rules, and the import table of architecture.md ("Who may import whom") enforced by
// no-restricted-imports per folder, so a broken boundary is a red build, not a code-review catch.
// Flat config lets the last matching block win for a rule, so each folder gets exactly one block.
import tseslint from 'typescript-eslint';

const dir = (name) => [`**/${name}/**`, `../${name}`, `../../${name}`];
const HSM = ['**/hsm/**', '**/hsm/index.js'];
const EVERYWHERE_IN_SRC = [...HSM, 'graphene-pk11', 'commander'];

/** folder glob -> forbidden import patterns, and why. */
const boundaries = [
  [['src/domain/**', 'src/errors.ts', 'src/clock.ts'],
    [...dir('store'), ...dir('policy'), ...dir('x509'), ...dir('ca'), ...dir('api'), ...dir('signing'), ...dir('config'), 'kysely', 'pg', 'express'],
    'domain, errors and clock import nothing but errors and domain'],
  [['src/policy/**'],
    [...dir('store'), ...dir('signing'), ...dir('api'), ...dir('x509'), ...dir('ca'), 'kysely', 'pg', 'express', 'node:fs', 'node:net', 'node:http'],
    'policy is data and pure functions: domain and errors only'],
  [['src/x509/**'],
    [...dir('store'), ...dir('api'), ...dir('ca'), ...dir('policy'), 'kysely', 'pg', 'express'],
    'x509 knows no database, HTTP or policy'],
  [['src/store/**'],
    [...dir('policy'), ...dir('ca'), ...dir('api'), ...dir('x509'), ...dir('signing'), 'express'],
    'store speaks SQL only'],
  [['src/ca/**', 'src/audit/**', 'src/ra/**', 'src/crl/**', 'src/ocsp/**', 'src/notify/**'],
    [...dir('api'), '**/cli/**', 'express'],
    'use cases never reach HTTP or the CLI'],
  [['src/api/**', 'src/web/**'],
    [...dir('store'), 'kysely', 'pg'],
    'the API goes through the use cases, never the store'],
  [['src/signing/**', 'src/config/**', 'src/admin/**', 'src/*.ts'], [], 'only src/context.ts imports hsm/'],
  [['cli/**'], ['kysely', 'pg', ...dir('store'), 'graphene-pk11'], 'the CLI calls use cases, never SQL'],
  [['hsm/**'], [...dir('store'), ...dir('ca'), ...dir('api'), 'kysely', 'express'], 'hsm knows signing types and errors only'],
  [['migrations/**'], ['../src/**', '../../src/**'], 'migrations are frozen and never import src/'],
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'coverage/**', '**/*.d.ts'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...boundaries.map(([files, forbidden, message]) => {
    const inSrc = files.some((f) => f.startsWith('src/'));
    const patterns = [...forbidden, ...(inSrc ? EVERYWHERE_IN_SRC : [])];
    return {
      files,
      rules: { 'no-restricted-imports': ['error', { patterns: [{ group: patterns, message: `${message} (architecture.md)` }] }] },
    };
  }),
  { files: ['src/context.ts'], rules: { 'no-restricted-imports': 'off' } },
);
