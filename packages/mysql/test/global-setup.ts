import { serviceGlobalSetup } from '@sessions/test-services/vitest';

// MariaDB (or `MYSQL_URL`), started by this package's own test/server.ts plugin.
export default serviceGlobalSetup('mysql');
