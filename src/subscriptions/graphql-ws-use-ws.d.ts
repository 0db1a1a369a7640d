// graphql-ws publishes `graphql-ws/use/ws` through package.json "exports" only, which TypeScript's
// `moduleResolution: node` (this project's CommonJS setting) does not read; Node and jest do.
declare module 'graphql-ws/use/ws' {
  export { useServer } from 'graphql-ws/dist/use/ws';
}
