// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.data/', 'client/generated/', 'jest.config.js'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/require-await': 'off',
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config (loadConfig).' },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // A getter or setter in an object literal (or given to Object.defineProperty) is kept in the object's map: a
      // literal made per request gets a map of its own in the old generation, and its closures keep the whole
      // request alive through every young collection (docs/profiling.md, "Seventh round"). Use a function-valued
      // property, or a class whose prototype has the accessor.
      'no-restricted-syntax': [
        'error',
        {
          selector: "ObjectExpression > Property[kind='get'], ObjectExpression > Property[kind='set']",
          message:
            'No getter or setter in an object literal: a function-valued property, or a class with the accessor (docs/profiling.md "Seventh round").',
        },
        {
          selector:
            'CallExpression[callee.object.name=/^(Object|Reflect)$/][callee.property.name=/^define(Property|Properties)$/]',
          message:
            'No Object.defineProperty on objects made at run time: a property assigned, or a class with the accessor (docs/profiling.md "Seventh round").',
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'scripts/**/*.ts', 'codegen.ts', 'src/config/config.ts', 'src/main.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  // Plain JavaScript that runs before any compile (npm start's build): no TypeScript program to type-check it in.
  { files: ['scripts/build.mjs'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
