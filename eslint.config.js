// ESLint: @eslint/js recommended + typescript-eslint's recommended type-checked rules, with the
// type information of tsconfig.test.json (src/, actors/, test/, bench/) and tsconfig.test-dom.json
// (the browser test). Plain .js/.mjs files (scripts, bench drivers, fixtures, the console's
// browser script) get the rules that need no types. `npm run lint` runs it beside prettier --check
// and tsc -p tsconfig.test.json.
import eslint from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const projectRules = {
  languageOptions: {
    parserOptions: {
      project: ['./tsconfig.test.json', './tsconfig.test-dom.json'],
      tsconfigRootDir: import.meta.dirname,
    },
  },
  linterOptions: { reportUnusedDisableDirectives: 'error' },
  rules: {
    // Promises: a floating or misused promise is a lost error (an actor turn, a socket write).
    '@typescript-eslint/no-floating-promises': 'error',
    '@typescript-eslint/no-misused-promises': 'error',
    // A switch over a message union must name every case (or say `default` on purpose).
    '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    // With noUncheckedIndexedAccess (tsconfig.json) an `arr[i]!` says the index was checked;
    // the rule reports only the assertions that really change nothing.
    '@typescript-eslint/no-unnecessary-type-assertion': 'error',
    // The protocol types are generated (scripts/gen-protocol.mjs) with `export declare
    // namespace` for nested structures: types only, no runtime namespace objects.
    '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
    // A leading `_` is the code's way to say "unused on purpose" (`for await (const _ of c)`,
    // handler parameters), and a destructured rest sibling is how it drops keys from an object.
    // The typed actor protocols write a message without fields as `request: {}`, and an interface
    // that only extends another names it for its use (StoredOffset); both are on purpose.
    '@typescript-eslint/no-empty-object-type': ['error', { allowObjectTypes: 'always', allowInterfaces: 'with-single-extends' }],
    '@typescript-eslint/no-unused-vars': [
      'error',
      { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
    ],
  },
};

const testRules = {
  files: ['test/**/*.ts'],
  rules: {
    // Off in tests: their async callbacks implement async interfaces (kafkajs' eachMessage,
    // BatchCodecs, completion sources) with bodies that need no await; in src/ it stays on.
    '@typescript-eslint/require-await': 'off',
  },
};

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', 'data/', 'bench/results/', 'test/console/screenshots/']),

  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  projectRules,
  testRules,

  // Plain JavaScript: no type information.
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { ...globals.node } },
  },
  // The web console's script runs in the browser.
  {
    files: ['src/console/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
