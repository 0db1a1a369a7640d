import 'reflect-metadata';
import { loadConfig } from '../config/config';
import { buildOrmOptions } from './orm-config';

/**
 * Configuration for the MikroORM CLI (`npm run migration:create`), compiled to dist/.
 * It needs a running database to diff against: DATABASE_URL, or the embedded one of `npm start`.
 */
const config = loadConfig();
export default buildOrmOptions({
  clientUrl:
    config.databaseDirectUrl ??
    config.databaseUrl ??
    `postgres://postgres:postgres@127.0.0.1:${config.embeddedPostgres.port}/branchloans`,
  poolSize: 2,
});
