import { serviceGlobalSetup } from '@sessions/test-services/vitest';

// One server backend besides the in-memory store and SQLite files.
export default serviceGlobalSetup('redis');
