import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents (TypedDocumentNode) for every operation in client/operations, generated from the
 * committed schema. The tests and the README's front-end example use them; `npm run codegen` refreshes
 * them and the codegen drift test fails when they are stale.
 */
/** The drift test generates into a temporary folder and compares; everyone else writes client/generated. */
const output = process.env.CODEGEN_OUTPUT_DIR ?? 'client/generated/';

const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['client/operations/**/*.graphql'],
  generates: {
    [output]: {
      preset: 'client',
      presetConfig: { fragmentMasking: false, gqlTagName: 'graphql' },
      config: {
        scalars: { Decimal: 'string', DateTimeISO: 'string', Date: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: true,
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
      },
    },
  },
};

export default config;
