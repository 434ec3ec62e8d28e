import { serviceGlobalSetup } from '@sessions/test-services/vitest';

export default serviceGlobalSetup('redis');
